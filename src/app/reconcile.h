#pragma once
// Reconciliation: a callback can be lost (the provider gave up, the endpoint was down), so
// PENDING payments older than a few minutes are settled by asking their provider. A settled
// answer goes through the same store statement, state machine and outbox event as a callback.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "core/time.h"

namespace tbpay {

struct Context;
class Metrics;

struct ReconcileOptions {
  std::chrono::milliseconds older_than{std::chrono::minutes(2)};   // RECONCILE_AFTER
  std::chrono::milliseconds younger_than{std::chrono::hours(72)};  // RECONCILE_WITHIN
  std::size_t limit = 10'000;  // payments asked about per run, oldest first
  bool dry_run = false;        // ask and report; change nothing
  int concurrency = 8;         // requests in flight at most (RECONCILE_CONCURRENCY)
  int rps = 20;                // requests per second per provider (RECONCILE_RPS); 0: no limit
  // How often the caller runs this. Payments whose age passed `younger_than` within the last
  // `every` are asked one last time and, unless settled, reported as having left the window
  // (an error line with "alert": true), so each is reported once. 0: no such report.
  std::chrono::milliseconds every{0};
  // Stops starting requests (serve's shutdown, a Lambda deadline); what is in flight finishes.
  std::stop_token stop;
  std::optional<std::chrono::steady_clock::time_point> deadline;

  static ReconcileOptions from(const ReconcileSettings& settings);
};

struct ReconcileReport {
  std::int64_t checked = 0;        // payments a provider was asked about
  std::int64_t completed = 0;      // moved to COMPLETED (dry run: would be)
  std::int64_t failed = 0;         // moved to FAILED (dry run: would be)
  std::int64_t still_pending = 0;  // the provider has not settled them
  std::int64_t errors = 0;         // no usable answer, or the store failed: asked again later
  std::int64_t mismatches = 0;     // amount differs, UNDERPAID, bad signature: alerted
  std::int64_t left_window = 0;    // reported as leaving the window still PENDING
  std::int64_t skipped = 0;        // not asked: stopped, past the deadline, rate-limited away
  bool dry_run = false;
  std::optional<std::string> store_error;  // the stale payments could not be read
};
// {"checked", "completed", "failed", "still_pending", "errors", "mismatches"}, plus
// "left_window", "skipped" and "dry_run" when set, and "error" when the store failed.
nlohmann::json to_json(const ReconcileReport& r);

class Reconciler {
 public:
  explicit Reconciler(Context& ctx, Metrics* metrics = nullptr);

  ReconcileReport run(const ReconcileOptions& options, Timestamp now = now_utc());

  // Called with the running totals every few seconds of a long run (CLI: a stderr line).
  void on_progress(std::function<void(const ReconcileReport&)> callback) {
    progress_ = std::move(callback);
  }

 private:
  Context& ctx_;
  Metrics* metrics_;
  std::function<void(const ReconcileReport&)> progress_;
  bool warned_unconfigured_[2] = {false, false};  // one warning per provider
};

}  // namespace tbpay
