#include "core/payment.h"

#include <algorithm>
#include <chrono>

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

std::string zalopay_fallback_order_code(std::string_view app_trans_id) {
  auto codes = zalopay_order_codes(app_trans_id);
  return codes.empty() ? std::string() : std::move(codes.front());
}

const Payment* payment_named_by(const PaymentCallback& callback,
                                std::span<const Payment> candidates) {
  const std::string fallback = callback.provider == Provider::ZaloPay
                                   ? zalopay_fallback_order_code(callback.transaction_id)
                                   : std::string();
  const Payment* by_order_code = nullptr;
  for (const Payment& p : candidates) {
    if (p.provider != callback.provider) continue;
    if (p.provider_transaction_id == callback.transaction_id) return &p;
    if (!fallback.empty() && p.order_code == fallback && !by_order_code) by_order_code = &p;
  }
  return by_order_code;
}

TransitionResult decide_transition(PaymentStatus status, std::int64_t amount_cents,
                                   const PaymentCallback& callback) {
  if (amount_cents != callback.amount) return TransitionResult::AmountMismatch;
  if (!can_transition(status, callback.outcome)) return TransitionResult::Duplicate;
  return TransitionResult::Applied;
}

Timestamp transition_time(const Payment& payment, Timestamp clock) {
  for (const auto& earlier : {payment.failed_at, payment.cancelled_at})
    if (earlier) clock = std::max(clock, *earlier + std::chrono::milliseconds(1));
  return clock;
}

TransitionOutcome transition_outcome(std::string payment_id, std::string order_code,
                                     PaymentStatus status, std::int64_t amount_cents,
                                     const TransitionRequest& request) {
  TransitionOutcome out;
  out.result = decide_transition(status, amount_cents, request.callback);
  out.payment_id = std::move(payment_id);
  out.order_code = std::move(order_code);
  out.expected_amount = amount_cents;
  out.previous_status = out.status = status;
  if (out.result == TransitionResult::Applied) {
    out.status = request.callback.outcome;
    out.event_id = request.event_id;
  }
  return out;
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

bool storable_text(std::string_view text) {
  // UTF-8 as RFC 3629 defines it: no overlong forms, no surrogates, nothing past U+10FFFF.
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c == 0) return false;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int more = 0;
    unsigned char lo = 0x80, hi = 0xbf;  // the allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      more = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      more = 2;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      more = 3;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      return false;
    }
    if (end - p <= more) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (int i = 2; i <= more; ++i)
      if (p[i] < 0x80 || p[i] > 0xbf) return false;
    p += more + 1;
  }
  return true;
}

const char* unstorable_field(const PaymentCallback& callback) {
  if (!storable_text(callback.transaction_id)) return "transaction_id";
  if (!storable_text(callback.fallback_order_code)) return "order_code";
  if (!storable_text(callback.reason)) return "reason";
  if (!storable_text(callback.provider_reference)) return "provider_reference";
  return nullptr;
}

}  // namespace tbpay
