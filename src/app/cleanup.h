#pragma once
// Outbox cleanup: deletes published events past retention in bounded chunks and reports dead
// events (docs/relay.md, "Outbox cleanup").
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

struct CleanupReport {
  std::int64_t deleted = 0;
  std::int64_t dead = 0;
  OutboxStats stats;
  std::int64_t chunks = 0;                 // delete statements run
  std::vector<OutboxEvent> dead_events;    // the oldest few, for the alert line
  std::optional<std::string> store_error;  // the database failed: the run stopped there
};
// {"deleted", "dead", "stats": {"total", "published", "pending", "dead",
// "oldest_pending_age_minutes"}} plus "error" when the run stopped early.
nlohmann::json to_json(const CleanupReport& r);
// {"total", "published", "pending", "dead", "oldest_pending_age_minutes"}
nlohmann::json to_json(const OutboxStats& s);

class OutboxCleanup {
 public:
  // Each delete statement removes at most `chunk` rows, so no lock is held for long.
  explicit OutboxCleanup(Context& ctx, std::size_t chunk = 1000);
  CleanupReport run(Timestamp now);

 private:
  Context& ctx_;
  std::size_t chunk_;
};

}  // namespace tbpay
