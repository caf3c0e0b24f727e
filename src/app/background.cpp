#include "app/background.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "app/cleanup.h"
#include "app/reconcile.h"
#include "app/relay.h"
#include "app/serve_metrics.h"
#include "context/context.h"

namespace tbpay {

bool pause(std::stop_token stop, std::chrono::milliseconds d) {
  std::mutex m;
  std::condition_variable_any cv;
  std::unique_lock lock(m);
  cv.wait_for(lock, stop, d, [] { return false; });
  return !stop.stop_requested();
}

namespace {

using Clock = std::chrono::steady_clock;

// The relay and the cleanup count their runs in `metrics` and `exposed` themselves; the
// reconciler counts in `metrics`, and its runs are counted in `exposed` here.
void relay_continuously(std::stop_token stop, Context& ctx, Metrics& metrics, ServeMetrics* exposed,
                        OutboxBackgroundOptions options) {
  OutboxRelay relay(ctx, metrics, exposed);
  relay.end_runs_when_caught_up(true);  // events gather for an idle poll, into full batches
  std::chrono::milliseconds backoff{0};
  auto stats_due = Clock::now();  // at once, then every stats_every
  while (!stop.stop_requested()) {
    if (Clock::now() >= stats_due) {
      // The outbox's counts for the gauges; so that a scrape never queries.
      relay.record_backlog();
      stats_due = Clock::now() + options.stats_every;
    }
    RelayReport report;
    try {
      report = relay.drain(Clock::now() + options.run_budget);
    } catch (const std::exception& e) {
      // A publisher that cannot even be created (bad Kafka settings): say so, keep serving
      // webhooks, try again later.
      ctx.log.error("outbox relay cannot run", {{"error", e.what()}});
      report.publisher_stalled = true;
    }
    if (report.store_error || report.publisher_stalled) {
      backoff = std::clamp(backoff * 2, options.first_backoff, options.max_backoff);
      if (!pause(stop, backoff)) break;
      continue;
    }
    backoff = std::chrono::milliseconds(0);
    // A full batch or a spent budget: more is waiting, go on at once.
    if (report.last_batch_full || report.budget_exhausted) continue;
    if (!pause(stop, options.idle_poll)) break;
  }
}

void clean_up_daily(std::stop_token stop, Context& ctx, Metrics& metrics, ServeMetrics* exposed,
                    OutboxBackgroundOptions options) {
  if (!pause(stop, options.first_cleanup_after)) return;
  OutboxCleanup cleanup(ctx, metrics, exposed);
  for (;;) {
    const CleanupReport report = cleanup.run(now_utc());
    // A run the database interrupted is tried again within the hour, not tomorrow.
    const auto next = report.store_error ? std::min<std::chrono::milliseconds>(
                                               options.cleanup_every, std::chrono::hours(1))
                                         : options.cleanup_every;
    if (!pause(stop, next)) return;
  }
}

void reconcile_every_minute(std::stop_token stop, Context& ctx, Metrics& metrics,
                            ServeMetrics* exposed, OutboxBackgroundOptions options) {
  if (!pause(stop, options.first_reconcile_after)) return;
  Reconciler reconciler(ctx, &metrics);
  for (;;) {
    auto run = ReconcileOptions::from(ctx.config.reconcile);
    run.every = options.reconcile_every;
    run.stop = stop;
    ReconcileReport report;
    try {
      report = reconciler.run(run);
    } catch (const std::exception& e) {
      ctx.log.error("reconcile cannot run", {{"error", e.what()}});
      report.store_error = e.what();
    }
    if (exposed) exposed->reconcile_run(report);
    if (!pause(stop, options.reconcile_every)) return;
  }
}

}  // namespace

OutboxBackground::OutboxBackground(Context& ctx, Metrics& metrics, OutboxBackgroundOptions options)
    : relay_(relay_continuously, std::ref(ctx), std::ref(metrics), nullptr, options),
      cleanup_(clean_up_daily, std::ref(ctx), std::ref(metrics), nullptr, options),
      reconcile_(reconcile_every_minute, std::ref(ctx), std::ref(metrics), nullptr, options) {}

OutboxBackground::OutboxBackground(Context& ctx, Metrics& metrics, ServeMetrics& exposed,
                                   OutboxBackgroundOptions options)
    : relay_(relay_continuously, std::ref(ctx), std::ref(metrics), &exposed, options),
      cleanup_(clean_up_daily, std::ref(ctx), std::ref(metrics), &exposed, options),
      reconcile_(reconcile_every_minute, std::ref(ctx), std::ref(metrics), &exposed, options) {}

OutboxBackground::~OutboxBackground() { stop(); }

void OutboxBackground::stop() {
  relay_.request_stop();
  cleanup_.request_stop();
  reconcile_.request_stop();
  if (relay_.joinable()) relay_.join();
  if (cleanup_.joinable()) cleanup_.join();
  if (reconcile_.joinable()) reconcile_.join();
}

}  // namespace tbpay
