#include "providers/provider.h"

#include "providers/json_text.h"

namespace tbpay {

CallbackBody parse_callback_body(std::string_view text) {
  CallbackBody body;
  body.document = providers::parse_json_text(text, &body.is_json);
  return body;
}

Result<PaymentCallback, CallbackRejection> PaymentProvider::verify(std::string_view body) const {
  return verify(parse_callback_body(body));
}

StatusAnswer PaymentProvider::query_status(const Payment&) const {
  StatusAnswer answer;
  answer.detail = "status queries are not supported";
  return answer;
}

}  // namespace tbpay
