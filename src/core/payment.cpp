#include "core/payment.h"

namespace tbpay {

std::string_view to_string(PaymentStatus s) {
  switch (s) {
    case PaymentStatus::Pending: return "PENDING";
    case PaymentStatus::Completed: return "COMPLETED";
    case PaymentStatus::Failed: return "FAILED";
    case PaymentStatus::Cancelled: return "CANCELLED";
  }
  return "PENDING";
}

std::string_view to_string(Provider p) { return p == Provider::ZaloPay ? "ZALOPAY" : "PAYOS"; }

std::optional<PaymentStatus> parse_payment_status(std::string_view s) {
  if (s == "PENDING") return PaymentStatus::Pending;
  if (s == "COMPLETED") return PaymentStatus::Completed;
  if (s == "FAILED") return PaymentStatus::Failed;
  if (s == "CANCELLED") return PaymentStatus::Cancelled;
  return std::nullopt;
}

std::vector<std::string> zalopay_order_codes(std::string_view app_trans_id) {
  constexpr std::size_t kMax = 8;
  std::vector<std::string> codes;
  for (auto sep = app_trans_id.find('_');
       sep != std::string_view::npos && sep + 1 < app_trans_id.size() && codes.size() < kMax;
       sep = app_trans_id.find('_', sep + 1))
    codes.emplace_back(app_trans_id.substr(sep + 1));
  return codes;
}

std::optional<Provider> parse_provider(std::string_view s) {
  if (s == "ZALOPAY" || s == "zalopay" || s == "zalo-pay") return Provider::ZaloPay;
  if (s == "PAYOS" || s == "payos" || s == "pay-os") return Provider::PayOS;
  return std::nullopt;
}

bool can_transition(PaymentStatus from, PaymentStatus to) {
  switch (to) {
    case PaymentStatus::Completed: return from != PaymentStatus::Completed;
    case PaymentStatus::Failed: return from == PaymentStatus::Pending;
    default: return false;
  }
}

std::string_view event_type_for(PaymentStatus outcome) {
  return outcome == PaymentStatus::Failed ? kEventPaymentFailed : kEventPaymentCompleted;
}

}  // namespace tbpay
