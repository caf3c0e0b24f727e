#pragma once
// Payment provider port: turns a callback body into a verified PaymentCallback, and an
// ingestion outcome back into the reply that provider expects.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/payment.h"
#include "core/result.h"

namespace tbpay {

// Why a callback was refused before it reached the database.
enum class CallbackRejection {
  NotACallback,   // not JSON, or not this provider's shape at all
  Malformed,      // right shape, unusable content (e.g. ZaloPay `data` is not JSON)
  BadSignature,   // MAC / signature does not verify
  AppIdMismatch,  // correctly signed for another app: a security event
  Unsupported,    // e.g. ZaloPay type != 1
  NotConfigured,  // this provider's keys are not set
};

// The result of ingesting one callback, as the provider's reply needs to know it.
enum class IngestOutcome {
  Processed,
  Duplicate,
  UnknownPayment,    // valid signature, no such payment
  AmountMismatch,    // security event
  TemporaryFailure,  // database unavailable: ask the provider to retry
  Rejected,          // see the CallbackRejection
};

// The reply to a request, as it goes on the wire: a provider's reply to its callback, or the
// service's own (/healthz, 404, 405). The webhook handling returns it; `serve` and the Lambda
// runtime only translate it (Beast response, API Gateway proxy response).
struct HttpReply {
  int status = 200;
  std::string body;  // JSON
  std::string_view content_type = "application/json";  // a constant
  std::string allow;  // with 405: the methods the path accepts ("POST"), for an Allow header
};

// A callback body, parsed once: the provider is told from it (providers/detect.h) and verifies
// it without parsing it again.
struct CallbackBody {
  // Discarded unless the text is exactly one JSON value that cannot be read two ways (a NUL
  // byte, a key named twice: providers/json_text.h).
  nlohmann::json document;
  bool is_json = false;  // JSON at all, ambiguous or not: "not a callback" vs "malformed JSON"
};
CallbackBody parse_callback_body(std::string_view text);

// What a provider answers when asked for one payment's status (reconciliation).
struct StatusAnswer {
  enum class Kind {
    Settled,      // paid (outcome Completed) or failed (outcome Failed): settle it
    Pending,      // not paid yet, or still processing: nothing to do
    Suspicious,   // must not settle anything and needs a human (underpaid, bad signature)
    Unavailable,  // no usable answer (timeout, refused, 429, 5xx, malformed): ask again later
  };
  Kind kind = Kind::Unavailable;
  PaymentStatus outcome = PaymentStatus::Completed;  // Settled only
  std::int64_t amount = 0;         // Settled: the amount the provider holds for the payment
  std::string provider_reference;  // Settled: the provider's transaction id
  std::string reason;              // Failed: why
  std::string detail;              // the provider's status or the failure, for logs (never a key)
  std::optional<std::chrono::milliseconds> retry_after;  // with a 429
};

class PaymentProvider {
 public:
  virtual ~PaymentProvider() = default;
  virtual Provider id() const = 0;
  virtual bool configured() const = 0;
  // Verifies a parsed callback (NotConfigured when its keys are not set); never touches storage.
  virtual Result<PaymentCallback, CallbackRejection> verify(const CallbackBody& body) const = 0;
  // Parses `body`, then verifies it.
  Result<PaymentCallback, CallbackRejection> verify(std::string_view body) const;
  virtual HttpReply reply(IngestOutcome outcome, CallbackRejection rejection) const = 0;

  // Status queries. Are the keys they need set? (ZaloPay: app id and key1; PayOS: client
  // id, API key and checksum key.)
  virtual bool can_query() const { return false; }
  // The variables to set for can_query(), for a warning.
  virtual std::string_view query_keys_hint() const { return "status queries not supported"; }
  // Asks the provider about `payment` (one request, bounded by the client's timeout). Never
  // touches storage.
  virtual StatusAnswer query_status(const Payment& payment) const;
};

}  // namespace tbpay
