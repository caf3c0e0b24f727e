#include "app/cleanup.h"

#include "app/serve_metrics.h"
#include "context/context.h"
#include "observability/metrics.h"

namespace tbpay {

namespace {

// Dead events named in the alert line; the count covers them all.
constexpr std::size_t kDeadListed = 20;

}  // namespace

nlohmann::json to_json(const OutboxStats& s) {
  nlohmann::json j = {{"total", s.total},
                      {"published", s.published},
                      {"pending", s.pending},
                      {"dead", s.dead},
                      {"oldest_pending_age_minutes", nullptr},
                      {"published_at_only", s.published_at_only}};
  if (s.oldest_pending_age_minutes) j["oldest_pending_age_minutes"] = *s.oldest_pending_age_minutes;
  return j;
}

nlohmann::json to_json(const CleanupReport& r) {
  nlohmann::json j = {{"deleted", r.deleted}, {"dead", r.dead}, {"stats", to_json(r.stats)}};
  if (r.store_error) j["error"] = *r.store_error;
  return j;
}

void record_outbox_gauges(Metrics& metrics, const OutboxBacklog& s) {
  metrics.gauge("OutboxPendingEvents", static_cast<double>(s.pending), MetricUnit::Count);
  metrics.gauge("OutboxDeadEvents", static_cast<double>(s.dead), MetricUnit::Count);
  if (s.oldest_pending_age_minutes)
    metrics.gauge("OutboxOldestPendingAgeMinutes", *s.oldest_pending_age_minutes);
}

NormalizeResult normalize_published(OutboxStore& store,
                                    std::chrono::steady_clock::time_point deadline,
                                    std::size_t chunk) {
  NormalizeResult r;
  // At least one statement, whatever the deadline: some progress on every call.
  for (bool first = true; first || std::chrono::steady_clock::now() < deadline; first = false) {
    auto marked = store.normalize_published(chunk);
    if (!marked) {
      r.store_error = "cannot mark events published by \"publishedAt\": " + marked.error().message;
      break;
    }
    r.marked += static_cast<std::int64_t>(*marked);
    if (*marked < chunk) {
      r.done = true;
      break;
    }
  }
  return r;
}

OutboxCleanup::OutboxCleanup(Context& ctx, std::size_t chunk) : ctx_(ctx), chunk_(chunk) {}

OutboxCleanup::OutboxCleanup(Context& ctx, Metrics& metrics, ServeMetrics* exposed,
                             std::size_t chunk)
    : ctx_(ctx), chunk_(chunk), metrics_(&metrics), exposed_(exposed) {}

CleanupReport OutboxCleanup::run(Timestamp now) {
  CleanupReport report;
  OutboxStore& store = ctx_.db->outbox();
  const int max_retries = ctx_.config.outbox_max_retries;
  const Timestamp cutoff = now - std::chrono::days(ctx_.config.outbox_retention_days);

  // First the rows only "publishedAt" marks, so that the delete below, which reads the
  // published = true entries of the ("published", "createdAt") index, finds them too.
  const NormalizeResult normalized = normalize_published(store);
  report.normalized = normalized.marked;
  report.store_error = normalized.store_error;

  while (!report.store_error) {
    auto deleted = store.delete_published_before(cutoff, chunk_);
    if (!deleted) {
      report.store_error = "cannot delete published events: " + deleted.error().message;
      break;
    }
    ++report.chunks;
    report.deleted += static_cast<std::int64_t>(*deleted);
    if (*deleted < chunk_) break;
  }

  if (!report.store_error) {
    if (auto dead = store.dead_events(max_retries, kDeadListed); dead) {
      report.dead_events = std::move(*dead);
      report.dead = static_cast<std::int64_t>(report.dead_events.size());
    } else {
      report.store_error = "cannot list dead events: " + dead.error().message;
    }
  }
  if (!report.store_error) {
    if (auto stats = store.stats(now, max_retries); stats) {
      report.stats = *stats;
      report.dead = stats->dead;
    } else {
      report.store_error = "cannot read outbox statistics: " + stats.error().message;
    }
  }

  if (!report.dead_events.empty()) {
    nlohmann::json listed = nlohmann::json::array();
    for (const OutboxEvent& e : report.dead_events) {
      listed.push_back({{"eventId", e.id},
                        {"eventType", e.event_type},
                        {"aggregateId", e.aggregate_id},
                        {"retryCount", e.retry_count},
                        {"lastError", e.last_error.value_or("")},
                        {"createdAt", to_iso8601(e.created_at)}});
    }
    ctx_.log.error(
        "dead outbox events: inspect with `tbpay outbox dead`, retry with `tbpay outbox requeue`",
        {{"alert", true}, {"dead", report.dead}, {"events", listed}});
  }
  nlohmann::json fields = to_json(report);
  fields["cutoff"] = to_iso8601(cutoff);
  fields["chunks"] = report.chunks;
  if (report.normalized > 0) fields["normalized"] = report.normalized;
  ctx_.log.log(report.store_error ? LogLevel::Error : LogLevel::Info, "outbox cleanup run", fields);
  record(report);
  return report;
}

void OutboxCleanup::record(const CleanupReport& r) {
  if (exposed_) exposed_->cleanup_run(r);  // with the outbox gauges, when read
  if (!metrics_) return;
  metrics_->count("CleanupDeleted", static_cast<double>(r.deleted));
  if (!r.store_error) record_outbox_gauges(*metrics_, r.stats);
}

}  // namespace tbpay
