#include "providers/provider.h"

namespace tbpay {

StatusAnswer PaymentProvider::query_status(const Payment&) const {
  StatusAnswer answer;
  answer.detail = "status queries are not supported";
  return answer;
}

}  // namespace tbpay
