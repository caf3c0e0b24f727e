#pragma once
// The outbox work `tbpay serve` runs beside its HTTP server: the relay, continuously (an event
// is on Kafka within about a second of its commit), and the cleanup, once a day. And the
// reconciliation of stale PENDING payments, once a minute.
#include <chrono>
#include <stop_token>
#include <thread>

namespace tbpay {

struct Context;
class Metrics;
class ServeMetrics;

// Sleeps for `d` unless stop is requested first. Returns false when it was.
bool pause(std::stop_token stop, std::chrono::milliseconds d);

struct OutboxBackgroundOptions {
  // Polling, not LISTEN/NOTIFY: a notification would need a trigger on the core service's
  // tables, whose shape we do not change. An idle poll is one cheap indexed query.
  std::chrono::milliseconds idle_poll{250};
  // One drain's budget; stop() waits at most about this long (plus one batch's reports).
  std::chrono::milliseconds run_budget{2'000};
  // After the database failed or Kafka took nothing, wait this long, doubling up to the cap.
  std::chrono::milliseconds first_backoff{500};
  std::chrono::milliseconds max_backoff{5'000};
  std::chrono::milliseconds first_cleanup_after{std::chrono::minutes(1)};
  std::chrono::milliseconds cleanup_every{std::chrono::hours(24)};
  // How often the relay thread reads the outbox's counts (pending, dead, oldest pending age)
  // for the metrics: one query over the unpublished rows, so that a scrape never queries.
  std::chrono::milliseconds stats_every{std::chrono::seconds(30)};
  // Stale PENDING payments are settled by asking their provider (app/reconcile.h), once a
  // minute after the first minute; a provider without keys is skipped with one warning.
  std::chrono::milliseconds first_reconcile_after{std::chrono::minutes(1)};
  std::chrono::milliseconds reconcile_every{std::chrono::minutes(1)};
};

class OutboxBackground {
 public:
  // Starts both threads. `ctx` and `metrics` must outlive this object.
  OutboxBackground(Context& ctx, Metrics& metrics, OutboxBackgroundOptions options = {});
  // Also counts runs into `exposed` (`serve`'s /metrics), which must outlive this object.
  OutboxBackground(Context& ctx, Metrics& metrics, ServeMetrics& exposed,
                   OutboxBackgroundOptions options = {});
  ~OutboxBackground();  // stop()
  OutboxBackground(const OutboxBackground&) = delete;
  OutboxBackground& operator=(const OutboxBackground&) = delete;

  // Asks both threads to stop and waits for them: the batch in hand is finished first.
  void stop();

 private:
  std::jthread relay_;
  std::jthread cleanup_;
  std::jthread reconcile_;
};

}  // namespace tbpay
