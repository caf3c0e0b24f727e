#pragma once
// The payment domain: statuses, providers, the state machine and the events it emits.
#include <cstdint>
#include <optional>
#include <span>
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
// find a ZaloPay payment through these and the index on "orderCode", which the core service's
// schema always has, then pick among what they found with payment_named_by().
std::vector<std::string> zalopay_order_codes(std::string_view app_trans_id);
// The order code a ZaloPay app_trans_id names when no payment carries it as its
// providerTransactionId: the text after its first '_' ("" when there is none).
std::string zalopay_fallback_order_code(std::string_view app_trans_id);

// The payment a callback names among `candidates` (the rows a store read by the callback's
// transaction id or, for ZaloPay, by zalopay_order_codes()): one of the callback's provider whose
// providerTransactionId equals the transaction id; else, for ZaloPay only, the one whose
// orderCode is zalopay_fallback_order_code(). nullptr when none. The PostgreSQL statement
// repeats this in SQL (tests/store/payment_store_test.cpp holds the two to the same answers).
const Payment* payment_named_by(const PaymentCallback& callback,
                                std::span<const Payment> candidates);

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

// What the state machine makes of a callback for a payment in `status` whose amount is
// `amount_cents`, the one rule both stores follow:
//  AmountMismatch  the signed amount differs from the payment's, whatever its status;
//  Duplicate       the status may not move to the callback's outcome (can_transition());
//  Applied         it moves, and one outbox event is written.
// The PostgreSQL statement repeats it in SQL to keep a callback to one round trip; its store
// checks the statement's answer against this one.
TransitionResult decide_transition(PaymentStatus status, std::int64_t amount_cents,
                                   const PaymentCallback& callback);

// When a transition of `payment` happens, given the writer's clock: never earlier than 1 ms
// after the payment failed or was cancelled. A callback that waited for the row's lock may
// carry an earlier clock reading than the transition it waited for, and the relay publishes a
// payment's events in createdAt order. The PostgreSQL statement repeats this in SQL.
Timestamp transition_time(const Payment& payment, Timestamp clock);

struct TransitionOutcome {
  TransitionResult result = TransitionResult::PaymentNotFound;
  std::string payment_id;   // empty when not found
  std::string order_code;
  PaymentStatus previous_status = PaymentStatus::Pending;  // status before this callback
  PaymentStatus status = PaymentStatus::Pending;           // status after it
  std::int64_t expected_amount = 0;                        // payments.amountCents
  std::string event_id;                                    // set when Applied
};

// The outcome a store reports for the payment a callback named (`status` and `amount_cents`
// as it found them): decide_transition()'s result; when Applied, the new status and the event.
TransitionOutcome transition_outcome(std::string payment_id, std::string order_code,
                                     PaymentStatus status, std::int64_t amount_cents,
                                     const TransitionRequest& request);

}  // namespace tbpay
