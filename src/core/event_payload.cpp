#include "core/event_payload.h"

#include <nlohmann/json.hpp>

namespace tbpay {

std::string event_payload(const Payment& payment, PaymentStatus previous,
                          const TransitionRequest& request) {
  const auto& cb = request.callback;
  nlohmann::json body = {
      {"order_code", payment.order_code},
      {"payment_id", payment.id},
      {"amount_cents", payment.amount_cents},
      {"currency", payment.currency},
      {"provider", std::string(to_string(payment.provider))},
      {"transaction_id", payment.provider_transaction_id},
  };
  if (!cb.provider_reference.empty()) body["provider_reference"] = cb.provider_reference;
  if (cb.outcome == PaymentStatus::Failed) {
    body["failed_at"] = to_iso8601(request.at);
    body["reason"] = cb.reason;
  } else {
    body["completed_at"] = to_iso8601(request.at);
  }
  if (previous != PaymentStatus::Pending) body["previous_status"] = std::string(to_string(previous));
  return body.dump();
}

}  // namespace tbpay
