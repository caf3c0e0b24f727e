#pragma once
// The payment domain: statuses, providers, the state machine and the events it emits.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"

namespace tbpay {

enum class PaymentStatus { Pending, Completed, Failed, Cancelled };
enum class Provider { ZaloPay, PayOS };

// Database spellings: "PENDING", "ZALOPAY", ...
std::string_view to_string(PaymentStatus s);
std::string_view to_string(Provider p);
std::optional<PaymentStatus> parse_payment_status(std::string_view s);
// Accepts the database spelling and the friendly lower-case one ("zalopay", "payos").
std::optional<Provider> parse_provider(std::string_view s);

// The state machine (docs/state-machine.md): may a payment in `from` move to `to`?
// PENDING -> COMPLETED | FAILED; FAILED -> COMPLETED; CANCELLED -> COMPLETED.
bool can_transition(PaymentStatus from, PaymentStatus to);

inline constexpr std::string_view kEventPaymentCompleted = "PAYMENT_COMPLETED";
inline constexpr std::string_view kEventPaymentFailed = "PAYMENT_FAILED";
inline constexpr std::string_view kAggregatePayment = "Payment";
std::string_view event_type_for(PaymentStatus outcome);  // Completed or Failed only

struct Payment {
  std::string id;
  std::string order_code;
  std::int64_t amount_cents = 0;
  std::string currency = "VND";
  Provider provider = Provider::ZaloPay;
  std::string provider_transaction_id;
  std::string idempotency_key;
  std::string redirect_url;
  std::string payment_url;
  PaymentStatus status = PaymentStatus::Pending;
  std::optional<std::string> metadata;  // JSON text
  Timestamp created_at{};
  Timestamp updated_at{};
  std::optional<Timestamp> completed_at, failed_at, cancelled_at;
};

// What a verified provider callback asks the store to do.
struct PaymentCallback {
  Provider provider = Provider::ZaloPay;
  std::string transaction_id;       // matched against payments.providerTransactionId
  std::string fallback_order_code;  // ZaloPay only: the text after app_trans_id's first '_'
  std::int64_t amount = 0;          // must equal payments.amountCents
  PaymentStatus outcome = PaymentStatus::Completed;  // Completed or Failed
  std::string reason;               // why it failed (Failed only)
  std::string provider_reference;   // zp_trans_id / PayOS reference, carried into the event
};

// Text a store keeps exactly as given: UTF-8 without U+0000. PostgreSQL's text cannot hold a
// NUL byte (libpq would cut the value there) nor invalid UTF-8; SQLite would keep either, but
// no reader of its rows expects them. A value failing this is refused, never shortened.
bool storable_text(std::string_view text);
// The first of the callback's texts that is not storable ("transaction_id", "reason", ...),
// or nullptr when all are.
const char* unstorable_field(const PaymentCallback& callback);
// The order codes a ZaloPay app_trans_id (`yymmdd_<orderCode>`) can name: the text after each
// '_', the text after the first one first (order codes may contain '_'); at most 8. The stores
// find a ZaloPay payment through these and the unique index on "orderCode", which the core
// service's schema always has, then apply the matching rule to what they found: the payment
// whose providerTransactionId equals app_trans_id, else the one whose orderCode is the first.
std::vector<std::string> zalopay_order_codes(std::string_view app_trans_id);

// One transition request: the callback plus what the writer generates.
struct TransitionRequest {
  PaymentCallback callback;
  std::string event_id;  // UUID v4 for the outbox row, should the transition happen
  Timestamp at{};        // updatedAt / completedAt / failedAt and the event's time
};

enum class TransitionResult {
  Applied,          // status changed, one outbox event written
  Duplicate,        // nothing to change (already in that state, or terminal)
  PaymentNotFound,  // no payment matches the callback
  AmountMismatch,   // signed amount differs from the payment's: nothing changed
};

struct TransitionOutcome {
  TransitionResult result = TransitionResult::PaymentNotFound;
  std::string payment_id;   // empty when not found
  std::string order_code;
  PaymentStatus previous_status = PaymentStatus::Pending;  // status before this callback
  PaymentStatus status = PaymentStatus::Pending;           // status after it
  std::int64_t expected_amount = 0;                        // payments.amountCents
  std::string event_id;                                    // set when Applied
};

}  // namespace tbpay
