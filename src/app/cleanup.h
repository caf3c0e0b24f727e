#pragma once
// Outbox cleanup: deletes published events past retention in bounded chunks and reports dead
// events (DESIGN.md, "Outbox cleanup").
#include <cstdint>
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
};
// {"deleted", "dead", "stats": {"total", "published", "pending", "dead", "oldest_pending_age_minutes"}}
nlohmann::json to_json(const CleanupReport& r);

class OutboxCleanup {
 public:
  explicit OutboxCleanup(Context& ctx);
  CleanupReport run(Timestamp now);

 private:
  Context& ctx_;
};

}  // namespace tbpay
