#include "providers/detect.h"

namespace tbpay {

std::optional<Provider> detect_provider(const CallbackBody& body) {
  const auto& j = body.document;
  if (!j.is_object() || !j.contains("data")) return std::nullopt;
  if (j.contains("mac") && j.contains("type")) return Provider::ZaloPay;
  if (j.contains("code") && j.contains("desc") && j.contains("signature")) return Provider::PayOS;
  return std::nullopt;
}

std::optional<Provider> detect_provider(std::string_view body) {
  return detect_provider(parse_callback_body(body));
}

}  // namespace tbpay
