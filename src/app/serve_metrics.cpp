#include "app/serve_metrics.h"

#include "app/cleanup.h"
#include "app/reconcile.h"
#include "app/relay.h"
#include "app/webhook.h"
#include "store/store.h"

#ifndef TBPAY_VERSION
#define TBPAY_VERSION "unknown"
#endif

namespace tbpay {

namespace {

constexpr std::array kAllProviders{Provider::ZaloPay, Provider::PayOS};
constexpr std::array kAllOutcomes{IngestOutcome::Processed,        IngestOutcome::Duplicate,
                                  IngestOutcome::UnknownPayment,   IngestOutcome::AmountMismatch,
                                  IngestOutcome::TemporaryFailure, IngestOutcome::Rejected};
constexpr std::array kAllRejections{
    CallbackRejection::NotACallback, CallbackRejection::Malformed,
    CallbackRejection::BadSignature, CallbackRejection::AppIdMismatch,
    CallbackRejection::Unsupported,  CallbackRejection::NotConfigured};

// Label values are lower case, as the routes spell the providers.
std::string provider_label(Provider p) { return p == Provider::ZaloPay ? "zalopay" : "payos"; }

std::size_t slot(Provider p) { return p == Provider::ZaloPay ? 0 : 1; }
template <class Enum>
std::size_t slot(Enum e) {
  return static_cast<std::size_t>(e);
}

// tbpay_reconcile_payments_total's outcomes, each one of ReconcileReport's counts.
using ReconcileCount = std::pair<const char*, std::int64_t ReconcileReport::*>;
constexpr std::array<ReconcileCount, 6> kReconcileOutcomes{{
    {"completed", &ReconcileReport::completed},
    {"failed", &ReconcileReport::failed},
    {"still_pending", &ReconcileReport::still_pending},
    {"error", &ReconcileReport::errors},
    {"mismatch", &ReconcileReport::mismatches},
    {"skipped", &ReconcileReport::skipped},
}};

// Resolves 1-50 ms finely (a callback is one database round trip), and still places the
// multi-second waits of a database outage.
const std::vector<double> kWebhookBuckets{0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01,
                                          0.015,  0.02,  0.025, 0.03,  0.04,  0.05,  0.075,  0.1,
                                          0.25,   0.5,   1,     2.5,   5,     10};

}  // namespace

ServeMetrics::ServeMetrics(const Database& db) {
  static_assert(kAllProviders.size() == kProviders);
  static_assert(kAllOutcomes.size() == kOutcomes);
  static_assert(kAllRejections.size() == kRejections);
  auto& r = registry_;
  for (Provider p : kAllProviders) {
    const std::string provider = provider_label(p);
    for (IngestOutcome o : kAllOutcomes)
      callbacks_[slot(p)][slot(o)] =
          &r.counter("tbpay_webhook_callbacks_total",
                     "Provider callbacks received, by provider and outcome (processed, duplicate, "
                     "unknown_payment, amount_mismatch, temporary_failure, rejected).",
                     {{"provider", provider}, {"outcome", std::string(outcome_name(o))}});
  }
  for (Provider p : kAllProviders)
    for (CallbackRejection why : kAllRejections)
      rejections_[slot(p)][slot(why)] = &r.counter(
          "tbpay_webhook_rejections_total",
          "Rejected callbacks by reason (bad_signature, app_id_mismatch, malformed, ...).",
          {{"provider", provider_label(p)}, {"reason", std::string(rejection_name(why))}});
  unrecognised_ = &r.counter("tbpay_webhook_unrecognised_total",
                             "Bodies posted to /webhook that are no provider's callback.");
  commit_groups_ = &r.counter("tbpay_webhook_commit_groups_total",
                              "Groups of verified callbacks sent to the database together (group "
                              "commit; a lone callback is a group of one).");
  grouped_callbacks_ = &r.counter("tbpay_webhook_grouped_callbacks_total",
                                  "Verified callbacks in those groups: divided by the groups, "
                                  "the average group size.");
  for (Provider p : kAllProviders)
    webhook_seconds_[slot(p)] =
        &r.histogram("tbpay_webhook_duration_seconds",
                     "Time from a callback's receipt to its reply (verification, database "
                     "transition and outbox write).",
                     kWebhookBuckets, {{"provider", provider_label(p)}});

  relay_runs_ = &r.counter("tbpay_relay_runs_total",
                           "Outbox relay runs (each claims and publishes until nothing is left).");
  relay_failures_ = &r.counter(
      "tbpay_relay_run_failures_total",
      "Relay runs stopped by the database or by Kafka taking nothing (retried with backoff).");
  const std::string events_help =
      "Outbox events the relay handled, by outcome: published (on Kafka), failed (retried "
      "later), dead (given up).";
  relay_published_ =
      &r.counter("tbpay_relay_events_total", events_help, {{"outcome", "published"}});
  relay_failed_ = &r.counter("tbpay_relay_events_total", events_help, {{"outcome", "failed"}});
  relay_dead_ = &r.counter("tbpay_relay_events_total", events_help, {{"outcome", "dead"}});
  cleanup_runs_ = &r.counter("tbpay_cleanup_runs_total", "Outbox cleanup runs.");
  cleanup_failures_ =
      &r.counter("tbpay_cleanup_run_failures_total", "Outbox cleanup runs the database stopped.");
  cleanup_deleted_ = &r.counter("tbpay_cleanup_deleted_events_total",
                                "Published outbox events deleted after the retention period.");
  reconcile_runs_ = &r.counter("tbpay_reconcile_runs_total",
                               "Reconciliation runs (stale PENDING payments asked of their "
                               "provider), one a minute.");
  reconcile_failures_ = &r.counter("tbpay_reconcile_run_failures_total",
                                   "Reconciliation runs that could not read the stale payments.");
  static_assert(kReconcileOutcomes.size() == std::tuple_size_v<decltype(reconcile_payments_)>);
  for (std::size_t i = 0; i < kReconcileOutcomes.size(); ++i)
    reconcile_payments_[i] = &r.counter(
        "tbpay_reconcile_payments_total",
        "Stale payments by what reconciliation made of them: completed, failed (settled as the "
        "provider settled them), still_pending, error (no usable answer; asked again), mismatch "
        "(amount or signature wrong: alerted, nothing changed), skipped (not asked this run).",
        {{"outcome", kReconcileOutcomes[i].first}});
  reconcile_left_window_ = &r.counter(
      "tbpay_reconcile_left_window_total",
      "Payments still PENDING when they left the reconciliation window (RECONCILE_WITHIN): "
      "no longer asked about; each has an alert log line.");

  if (db.pool_stats()) {
    auto& in_use = r.gauge("tbpay_db_pool_connections_in_use",
                           "Database connections on loan to a statement right now.");
    auto& waiting = r.gauge("tbpay_db_pool_waiting",
                            "Callers waiting for a database connection, all being in use.");
    auto& max = r.gauge("tbpay_db_pool_max_connections", "The database pool's size.");
    r.before_render([&db, &in_use, &waiting, &max] {
      if (auto s = db.pool_stats()) {
        in_use.set(static_cast<double>(s->in_use));
        waiting.set(static_cast<double>(s->waiting));
        max.set(static_cast<double>(s->max_size));
      }
    });
  }
  r.gauge("tbpay_build_info", "Always 1; the labels say which tbpay this is.",
          {{"version", TBPAY_VERSION}})
      .set(1);
}

void ServeMetrics::webhook(Provider provider, IngestOutcome outcome,
                           std::optional<CallbackRejection> rejection,
                           std::chrono::duration<double> took) {
  const auto p = slot(provider);
  callbacks_[p][slot(outcome)]->add();
  if (rejection) rejections_[p][slot(*rejection)]->add();
  webhook_seconds_[p]->observe(took.count());
}

void ServeMetrics::webhook_unrecognised() { unrecognised_->add(); }

void ServeMetrics::commit_group(std::size_t callbacks) {
  commit_groups_->add();
  grouped_callbacks_->add(callbacks);
}

void ServeMetrics::relay_run(const RelayReport& report) {
  relay_runs_->add();
  if (report.store_error || report.publisher_stalled) relay_failures_->add();
  relay_published_->add(static_cast<std::uint64_t>(report.succeeded));
  relay_failed_->add(static_cast<std::uint64_t>(report.failed));
  relay_dead_->add(static_cast<std::uint64_t>(report.dead));
}

void ServeMetrics::cleanup_run(const CleanupReport& report) {
  cleanup_runs_->add();
  if (report.store_error) cleanup_failures_->add();
  cleanup_deleted_->add(static_cast<std::uint64_t>(report.deleted));
  if (!report.store_error) outbox(report.stats, now_utc());
}

void ServeMetrics::reconcile_run(const ReconcileReport& report) {
  reconcile_runs_->add();
  if (report.store_error) reconcile_failures_->add();
  for (std::size_t i = 0; i < kReconcileOutcomes.size(); ++i)
    reconcile_payments_[i]->add(static_cast<std::uint64_t>(report.*kReconcileOutcomes[i].second));
  reconcile_left_window_->add(static_cast<std::uint64_t>(report.left_window));
}

void ServeMetrics::outbox(const OutboxBacklog& backlog, Timestamp at) {
  // Registered on first use: absent until the outbox was read, rather than a made-up 0.
  auto& r = registry_;
  r.gauge("tbpay_outbox_pending_events", "Outbox events waiting to be published.")
      .set(static_cast<double>(backlog.pending));
  r.gauge("tbpay_outbox_dead_events",
          "Outbox events the relay gave up on (`tbpay outbox dead` lists them, `tbpay outbox "
          "requeue` sends them again).")
      .set(static_cast<double>(backlog.dead));
  r.gauge("tbpay_outbox_oldest_pending_age_seconds",
          "Age of the oldest event waiting to be published; 0 when none waits.")
      .set(backlog.oldest_pending_age_minutes ? *backlog.oldest_pending_age_minutes * 60 : 0);
  r.gauge("tbpay_outbox_stats_timestamp_seconds",
          "When the outbox gauges were last read from the database (Unix time).")
      .set(std::chrono::duration<double>(at.time_since_epoch()).count());
}

}  // namespace tbpay
