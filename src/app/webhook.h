#pragma once
// Webhook ingestion: a provider callback in, a committed transition and the provider's reply
// out. Knows nothing of Beast or Lambda: serve and the Lambda runtime both call handle().
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "providers/provider.h"

namespace tbpay {

struct Context;
class Metrics;
class ServeMetrics;
struct CallbackRecord;  // webhook.cpp

// An HTTP request as a runtime received it (serve: Beast; Lambda: API Gateway event). Its
// answer is an HttpReply (providers/provider.h): for a callback, the provider's own reply.
struct WebhookRequest {
  std::string method;  // "POST"
  std::string path;    // "/webhook/zalopay"; query string already removed
  std::string body;
  std::string request_id;  // for logs; generated when empty
};

// The part of a request that waits on the database: a verified callback's transition, or the
// readiness check. WebhookIngestion::route() hands it out; run() does it.
struct DatabaseWork {
  enum class Kind { Readiness, Callback };
  Kind kind = Kind::Callback;
  Provider provider = Provider::ZaloPay;
  std::string request_id;
  PaymentCallback callback;  // verified
  // Callbacks naming one payment share it ("ZaloPay 251213_TB-1"); empty for readiness.
  std::string payment_key;
  std::chrono::steady_clock::time_point started;
};

// Lines that anyone can cause without a key (a rejected callback, a junk body, /readyz while
// the database is down) are budgeted: a burst of `burst` lines, then `per_second` a second
// (a token bucket); the rest are counted, and the next line written carries the count as
// "suppressed".
class LogBudget {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LogBudget(int per_second = 20, int burst = 200) { set(per_second, burst); }
  // Whether a line may be written now; if so, `suppressed` is how many were left out since the
  // last one written.
  bool admit(Clock::time_point now, std::uint64_t& suppressed);
  void set(int per_second, int burst);

 private:
  std::mutex mutex_;
  double per_second_ = 20, burst_ = 200, tokens_ = 200;
  Clock::time_point last_{};
  std::uint64_t suppressed_ = 0;
};

class WebhookIngestion {
 public:
  explicit WebhookIngestion(Context& ctx);
  // Counts outcomes in `metrics` (WebhookProcessed, WebhookRejected, ... by Provider) and,
  // when given, in `exposed` (`serve`'s /metrics).
  WebhookIngestion(Context& ctx, Metrics& metrics, ServeMetrics* exposed = nullptr);

  // Routing included: /webhook/{zalopay,zalo-pay,payos,pay-os}, /webhook (provider by body
  // shape), /healthz, /readyz; 404 for other paths, 405 for other methods. route(), then run().
  HttpReply handle(const WebhookRequest& request);

  // Everything that needs no database: routing, parsing, verification, rejections. Either the
  // reply, or the work left for the database (a server runs it away from its I/O threads).
  std::variant<HttpReply, DatabaseWork> route(const WebhookRequest& request);
  // The database part: the transition (or the readiness check), its log line and reply.
  HttpReply run(const DatabaseWork& work);
  // Several callbacks' database parts committed together (PaymentStore::apply_all: group
  // commit), each concluded as run() would conclude it alone: its own outcome, log line and
  // reply, handed to `answer` with its index as soon as it is known. Callbacks only.
  using Answer = std::function<void(std::size_t index, HttpReply reply)>;
  void run_all(std::span<const DatabaseWork* const> works, const Answer& answer);
  // The reply to a callback that was not run, having waited `waited` behind other callbacks
  // for the same payment: "retry" (the provider calls again).
  HttpReply retry_later(const DatabaseWork& work, std::chrono::milliseconds waited);

  // Lines of each kind anyone can cause (LogBudget): 20 a second after a burst of 200 unless set.
  void set_log_budget(int per_second, int burst);

 private:
  std::variant<HttpReply, DatabaseWork> verify(Provider provider, const CallbackBody& body,
                                               std::string request_id,
                                               std::chrono::steady_clock::time_point started);
  HttpReply conclude(const CallbackRecord& record, std::chrono::steady_clock::time_point started);

  Context& ctx_;
  Metrics* metrics_ = nullptr;
  ServeMetrics* exposed_ = nullptr;
  LogBudget rejected_budget_, unrecognised_budget_, not_ready_budget_;
};

// Names in log lines and metric labels: "processed", "unknown_payment", "bad_signature", ...
std::string_view outcome_name(IngestOutcome o);
std::string_view rejection_name(CallbackRejection r);

}  // namespace tbpay
