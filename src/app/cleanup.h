#pragma once
// Outbox cleanup: deletes published events past retention in bounded chunks and reports dead
// events (docs/relay.md, "Outbox cleanup").
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/time.h"
#include "store/store.h"

namespace tbpay {

struct Context;
class Metrics;
class ServeMetrics;

// Sets published = true on the rows only "publishedAt" marks as published (the Node.js relay's
// way), `chunk` rows per statement, until none is left or `deadline` passes. Each statement is
// its own short transaction and skips rows another session holds; the core service's inserts
// are never waited for. At least one statement runs, whatever the deadline. Returns how many
// rows it marked, or the store's error.
struct NormalizeResult {
  std::int64_t marked = 0;
  bool done = false;  // none left (false: the deadline passed first)
  std::optional<std::string> store_error;
};
NormalizeResult normalize_published(
    OutboxStore& store,
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max(),
    std::size_t chunk = 5000);

struct CleanupReport {
  std::int64_t deleted = 0;
  std::int64_t dead = 0;
  std::int64_t normalized = 0;  // rows only "publishedAt" marked, now flagged published
  OutboxStats stats;
  std::int64_t chunks = 0;                 // delete statements run
  std::vector<OutboxEvent> dead_events;    // the oldest few, for the alert line
  std::optional<std::string> store_error;  // the database failed: the run stopped there
};
// {"deleted", "dead", "stats": {"total", "published", "pending", "dead",
// "oldest_pending_age_minutes"}} plus "error" when the run stopped early.
nlohmann::json to_json(const CleanupReport& r);
// {"total", "published", "pending", "dead", "oldest_pending_age_minutes",
// "published_at_only"}
nlohmann::json to_json(const OutboxStats& s);
// The outbox's counts as EMF gauges: OutboxPendingEvents, OutboxDeadEvents and, when an event
// waits, OutboxOldestPendingAgeMinutes.
void record_outbox_gauges(Metrics& metrics, const OutboxBacklog& s);

class OutboxCleanup {
 public:
  // Each delete statement removes at most `chunk` rows, so no lock is held for long.
  explicit OutboxCleanup(Context& ctx, std::size_t chunk = 1000);
  // Counts every run in `metrics` (CleanupDeleted, and the outbox gauges when the run read
  // them) and, when given, in `exposed` (`serve`'s /metrics); both must outlive the cleanup.
  OutboxCleanup(Context& ctx, Metrics& metrics, ServeMetrics* exposed = nullptr,
                std::size_t chunk = 1000);
  CleanupReport run(Timestamp now);

 private:
  void record(const CleanupReport& report);

  Context& ctx_;
  std::size_t chunk_;
  Metrics* metrics_ = nullptr;
  ServeMetrics* exposed_ = nullptr;
};

}  // namespace tbpay
