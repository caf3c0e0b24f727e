#pragma once
// Payment provider port: turns a raw callback body into a verified PaymentCallback, and an
// ingestion outcome back into the reply that provider expects.
#include <string>
#include <string_view>

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

struct WebhookReply {
  int http_status = 200;
  std::string body;  // JSON
};

class PaymentProvider {
 public:
  virtual ~PaymentProvider() = default;
  virtual Provider id() const = 0;
  virtual bool configured() const = 0;
  // Parses and verifies; never touches storage.
  virtual Result<PaymentCallback, CallbackRejection> verify(std::string_view body) const = 0;
  virtual WebhookReply reply(IngestOutcome outcome, CallbackRejection rejection) const = 0;
};

}  // namespace tbpay
