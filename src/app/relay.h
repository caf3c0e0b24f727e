#pragma once
// Outbox relay: publishes pending outbox events, batch by batch, until none is left or the
// budget is spent (docs/relay.md, "Outbox relay").
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/time.h"

namespace tbpay {

struct Context;
class EventPublisher;
class Metrics;
class ServeMetrics;

struct RelayReport {
  std::int64_t processed = 0;  // = succeeded + failed + dead
  std::int64_t succeeded = 0;  // on Kafka, marked published
  std::int64_t failed = 0;     // not delivered; retried by a later run
  std::int64_t dead = 0;       // given up: unknown event type, or failed OUTBOX_MAX_RETRIES times
  std::int64_t batches = 0;
  bool budget_exhausted = false;
  // A whole batch was refused (Kafka unreachable or rejecting): the rest waits for the next
  // run instead of each event spending a retry now.
  bool publisher_stalled = false;
  std::optional<std::string> store_error;  // the database failed: the run stopped there
  bool last_batch_full = false;            // more may be waiting right now
};
// {"processed", "succeeded", "failed", "dead", "batches", "budget_exhausted"} and, when set,
// "publisher_stalled", "error".
nlohmann::json to_json(const RelayReport& r);

class OutboxRelay {
 public:
  explicit OutboxRelay(Context& ctx);  // publishes through ctx.publisher()
  OutboxRelay(Context& ctx, EventPublisher& publisher);
  // Counts every run in `metrics` (RelayProcessed, RelaySucceeded, RelayFailed, RelayDead) and,
  // when given, in `exposed` (`serve`'s /metrics); both must outlive the relay.
  OutboxRelay(Context& ctx, Metrics& metrics, ServeMetrics* exposed = nullptr);

  // Drains until no event can be claimed or `deadline` passes. A batch started before the
  // deadline may wait for its delivery reports up to a second past it: callers with a hard
  // limit (Lambda) pass their limit minus a margin. After a run in which Kafka took nothing,
  // the next one first checks that a broker answers, and claims nothing if none does.
  // Every run is counted in the metrics given, one that found nothing as zeros, one that
  // throws (no publisher could be created) as a failed run (docs/operations.md, "Metrics").
  RelayReport drain(std::chrono::steady_clock::time_point deadline);

  // Reads the outbox's counts (pending, dead, oldest pending age) into the metrics given:
  // Lambda after each run, `serve` every so often. False when the database did not answer
  // (the gauges keep their last values).
  bool record_backlog();

  // Called with the running totals every few seconds of a long drain (CLI: a stderr line).
  void on_progress(std::function<void(const RelayReport&)> callback) {
    progress_ = std::move(callback);
  }

  // A run ends once it has caught up: a batch claimed with nothing else in flight came back
  // short, so whatever is pending now was committed after that claim. Without this a run goes
  // on claiming until a claim finds nothing, which under a steady stream of callbacks is never:
  // it spins on batches of a few events, each a claim, a publish and a commit of its own.
  // `serve` sets it and waits its idle poll before the next run, so that events gather into
  // batches; a one-shot drain (CLI, Lambda) does not, and takes the stragglers too.
  void end_runs_when_caught_up(bool on) { end_when_caught_up_ = on; }

 private:
  struct Run;  // one drain's deadline, claim options and report (relay.cpp)

  EventPublisher& publisher();
  // drain() without the metrics; its steps, in order:
  RelayReport drain_batches(std::chrono::steady_clock::time_point deadline);
  bool start_after_node_rows(Run& run);
  bool publisher_ready(RelayReport& report);
  void relay_batches(Run& run, EventPublisher& out);
  void flag_node_rows(Run& run, std::chrono::steady_clock::duration slice);
  void record(const RelayReport& report);

  Context& ctx_;
  EventPublisher* publisher_;  // null: ctx_.publisher(), created on first use
  Metrics* metrics_ = nullptr;
  ServeMetrics* exposed_ = nullptr;
  std::function<void(const RelayReport&)> progress_;
  bool publisher_stalled_ = false;
  bool end_when_caught_up_ = false;
  bool normalized_ = false;  // no row left that only "publishedAt" marks (checked once)
  // Until then: no event created before this can be pending (bar a requeued dead one, which
  // goes out once the flagging is done). Where the next run's walk for the oldest starts.
  std::optional<Timestamp> pending_from_;
};

}  // namespace tbpay
