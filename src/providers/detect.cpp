#include "providers/detect.h"

#include "providers/json_text.h"

namespace tbpay {

std::optional<Provider> detect_provider(std::string_view body) {
  const auto j = providers::parse_json_text(body);
  if (!j.is_object() || !j.contains("data")) return std::nullopt;
  if (j.contains("mac") && j.contains("type")) return Provider::ZaloPay;
  if (j.contains("code") && j.contains("desc") && j.contains("signature")) return Provider::PayOS;
  return std::nullopt;
}

}  // namespace tbpay
