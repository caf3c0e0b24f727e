#include "app/relay.h"

#include <algorithm>
#include <future>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "app/cleanup.h"
#include "app/event_topics.h"
#include "app/serve_metrics.h"
#include "context/context.h"
#include "observability/metrics.h"

namespace tbpay {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// However close the deadline, a batch gets this long for its delivery reports, so that a
// healthy Kafka is not reported as failing; and never longer than the cap.
constexpr milliseconds kMinPublishWait{1'000};
constexpr milliseconds kMaxPublishWait{30'000};
constexpr std::chrono::seconds kProgressEvery{2};
constexpr milliseconds kReadyProbe{2'000};
// An event becomes visible when the transaction that wrote it commits, with the createdAt
// its transaction started at (or its writer's clock): a later walk starts this much before
// the previous one, so that such an event is never left behind it.
constexpr std::chrono::hours kNewEventsMargin{1};

OutgoingMessage message_for(const OutboxEvent& e, std::string topic) {
  OutgoingMessage m;
  m.event_id = e.id;
  m.topic = std::move(topic);
  m.key = e.aggregate_id;
  m.value = e.payload;
  m.headers = {{"eventId", e.id},
               {"eventType", e.event_type},
               {"aggregateType", e.aggregate_type},
               {"content-type", "application/json"}};
  return m;
}

milliseconds publish_wait(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
  return std::clamp(left, kMinPublishWait, kMaxPublishWait);
}

}  // namespace

nlohmann::json to_json(const RelayReport& r) {
  nlohmann::json j = {{"processed", r.processed}, {"succeeded", r.succeeded},
                      {"failed", r.failed},       {"dead", r.dead},
                      {"batches", r.batches},     {"budget_exhausted", r.budget_exhausted}};
  if (r.publisher_stalled) j["publisher_stalled"] = true;
  if (r.store_error) j["error"] = *r.store_error;
  return j;
}

OutboxRelay::OutboxRelay(Context& ctx) : ctx_(ctx), publisher_(nullptr) {}

OutboxRelay::OutboxRelay(Context& ctx, EventPublisher& publisher)
    : ctx_(ctx), publisher_(&publisher) {}

OutboxRelay::OutboxRelay(Context& ctx, Metrics& metrics, ServeMetrics* exposed)
    : ctx_(ctx), publisher_(nullptr), metrics_(&metrics), exposed_(exposed) {}

EventPublisher& OutboxRelay::publisher() { return publisher_ ? *publisher_ : ctx_.publisher(); }

// One run: its deadline, what it claims with, and its report. claim() runs on the relay's
// thread while settle() may run on another for the batch before (they share only `ctx`).
struct OutboxRelay::Run {
  // One claimed batch on its way out: what was sent, how it went, whether the store took note.
  struct Settled {
    std::vector<DeliveryOutcome> outcomes;
    std::size_t delivered = 0;
    std::size_t not_delivered = 0;
    std::string publish_error;
    std::optional<std::string> finish_error;
    double publish_ms = 0;
    double finish_ms = 0;
  };

  Run(Context& c, OutboxStore& s, Clock::time_point d) : ctx(c), store(s), deadline(d) {
    options.limit = static_cast<std::size_t>(ctx.config.outbox_batch_size);
    options.max_retries = ctx.config.outbox_max_retries;
  }

  // A claim with events, or null when there are none (or the store failed: store_error).
  std::unique_ptr<OutboxClaim> claim() {
    const auto t = Clock::now();
    auto claimed = store.claim_batch(options);
    claim_ms = std::chrono::duration<double, std::milli>(Clock::now() - t).count();
    if (!claimed) {
      report.store_error = "cannot claim outbox events: " + claimed.error().message;
      return nullptr;
    }
    report.last_batch_full = (*claimed)->events().size() >= options.limit;
    if ((*claimed)->events().empty()) return nullptr;
    return std::move(claimed).value();
  }

  // Publishes the batch, waits for its delivery reports and records them in one statement.
  // Unknown event types are settled here and never reach the publisher.
  Settled settle(EventPublisher& out, OutboxClaim& batch) const {
    Settled s;
    std::vector<OutgoingMessage> messages;
    messages.reserve(batch.events().size());
    for (const OutboxEvent& e : batch.events()) {
      if (auto topic = topic_for(e.event_type, ctx.config.kafka.topic_prefix))
        messages.push_back(message_for(e, std::move(*topic)));
      else
        s.outcomes.push_back(
            {e.id, false, "unknown event type " + e.event_type + ": no topic", true});
    }
    const auto t0 = Clock::now();
    if (!messages.empty()) {
      for (DeliveryOutcome& o : out.publish(messages, publish_wait(deadline))) {
        (o.delivered ? s.delivered : s.not_delivered) += 1;
        if (!o.delivered && s.publish_error.empty()) s.publish_error = o.error;
        s.outcomes.push_back(std::move(o));
      }
    }
    const auto t1 = Clock::now();
    if (auto finished = batch.finish(s.outcomes, now_utc()); !finished) {
      // What was delivered stays pending and goes out again later: consumers de-duplicate on
      // eventId (docs/relay.md: at least once).
      s.finish_error = "cannot record the delivery of " + std::to_string(s.outcomes.size()) +
                       " outbox events: " + finished.error().message;
    }
    s.publish_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    s.finish_ms = std::chrono::duration<double, std::milli>(Clock::now() - t1).count();
    return s;
  }

  // Counts the batch's outcomes into the report; returns the events that failed and will be
  // retried by a later run (excluded from this one's claims from now on).
  std::unordered_set<std::string_view> tally(const OutboxClaim& batch, const Settled& s) {
    std::unordered_map<std::string_view, int> retries;
    for (const OutboxEvent& e : batch.events()) retries[e.id] = e.retry_count;
    std::unordered_set<std::string_view> failed_now;
    for (const DeliveryOutcome& o : s.outcomes) {
      ++report.processed;
      if (o.delivered) {
        ++report.succeeded;
      } else if (o.dead || dead_after_failure(retries[o.event_id], options.max_retries)) {
        ++report.dead;
        ctx.log.warn("outbox event is dead; `tbpay outbox requeue` gives it a new chance",
                     {{"eventId", o.event_id}, {"lastError", o.error}});
      } else {
        ++report.failed;
        options.exclude_ids.push_back(o.event_id);  // retried next run, not in a loop
        failed_now.insert(o.event_id);
      }
    }
    return failed_now;
  }

  void log_batch(const OutboxClaim& batch, const Settled& s, double batch_claim_ms) const {
    if (!ctx.log.enabled(LogLevel::Debug)) return;
    ctx.log.debug("outbox batch", {{"events", batch.events().size()},
                                   {"delivered", s.delivered},
                                   {"claim_ms", batch_claim_ms},
                                   {"publish_ms", s.publish_ms},
                                   {"finish_ms", s.finish_ms}});
  }

  Context& ctx;
  OutboxStore& store;
  const Clock::time_point deadline;
  ClaimOptions options;
  RelayReport report;
  double claim_ms = 0;  // of the latest claim
};

RelayReport OutboxRelay::drain_batches(Clock::time_point deadline) {
  const auto started = Clock::now();
  Run run(ctx_, ctx_.db->outbox(), deadline);
  const bool pending = start_after_node_rows(run);
  const auto events_started = Clock::now();
  if (!publisher_ready(run.report)) return run.report;
  EventPublisher& out = publisher();  // created here, not on the settling thread
  if (pending && !run.report.store_error) relay_batches(run, out);
  if (!normalized_ && !run.report.store_error)
    flag_node_rows(run, (Clock::now() - events_started) / 4);
  if (run.report.processed > 0 || run.report.store_error) {
    nlohmann::json fields = to_json(run.report);
    fields["seconds"] = std::chrono::duration<double>(Clock::now() - started).count();
    fields["publisher"] = out.describe();
    ctx_.log.log(run.report.store_error ? LogLevel::Error : LogLevel::Info, "outbox relay run",
                 fields);
  }
  return run.report;
}

// Rows the Node.js relay published carry only "publishedAt". The claim never takes them, but
// they sit among the pending entries of the index it walks, older than all of them. Until they
// are flagged published (flag_node_rows, and cleanup), the run first finds the oldest pending
// event and every claim starts there. The first run walks past all of them; a later run of the
// same relay starts its walk where nothing older can be pending any more (pending_from_), so
// the rows behind it are not walked again. False: nothing is pending (or the store failed).
bool OutboxRelay::start_after_node_rows(Run& run) {
  if (normalized_) return true;
  const Timestamp walked_at = now_utc();
  auto oldest = run.store.oldest_pending(run.options.max_retries, pending_from_);
  if (!oldest) {
    run.report.store_error = "cannot find the oldest pending event: " + oldest.error().message;
    return false;
  }
  run.options.created_from = *oldest;
  pending_from_ = std::min(oldest->value_or(walked_at), walked_at - kNewEventsMargin);
  return oldest->has_value();
}

// After a run in which Kafka took nothing, a broker must answer before anything is claimed.
bool OutboxRelay::publisher_ready(RelayReport& report) {
  if (!publisher_stalled_) return true;
  if (auto ready = publisher().ready(kReadyProbe); !ready) {
    report.publisher_stalled = true;
    ctx_.log.debug("publisher still unavailable; nothing claimed",
                   {{"error", ready.error().message}});
    return false;
  }
  publisher_stalled_ = false;
  return true;
}

// Claims, publishes and finishes batches until none is left, the deadline passes, the store
// fails or Kafka takes none of a batch. On PostgreSQL a claimed batch is row-locked until
// finished, so the next batch is claimed while this one is published and marked (events of
// one payment still go out in order: a payment whose earliest event is locked contributes
// nothing). A SQLite claim locks nothing: there, one batch at a time.
void OutboxRelay::relay_batches(Run& run, EventPublisher& out) {
  const bool overlap = run.store.claim_holds_rows();
  auto next_progress = Clock::now() + kProgressEvery;
  std::unique_ptr<OutboxClaim> current;
  while (!run.report.store_error) {
    if (Clock::now() >= run.deadline) {
      run.report.budget_exhausted = true;
      break;
    }
    // A claim made while no batch of this run is in flight sees every pending event that no
    // other relay holds: when it comes back short, the run has caught up.
    const bool claimed_alone = !current;
    if (!current) current = run.claim();
    if (!current) break;  // nothing pending, or the store failed
    ++run.report.batches;
    const double claim_ms = run.claim_ms;
    const bool short_batch = !run.report.last_batch_full;

    std::unique_ptr<OutboxClaim> next;
    Run::Settled s;
    if (overlap && !(end_when_caught_up_ && short_batch)) {
      auto settling = std::async(std::launch::async,
                                 [&, batch = current.get()] { return run.settle(out, *batch); });
      if (Clock::now() < run.deadline) next = run.claim();
      s = settling.get();
    } else {
      s = run.settle(out, *current);
    }
    run.log_batch(*current, s, claim_ms);
    if (s.finish_error) {
      run.report.store_error = s.finish_error;
      break;
    }

    const auto failed_now = run.tally(*current, s);
    // The overlapping claim could take an event of this batch that failed and was released
    // just before (it did not know yet to exclude it): then it goes back untouched, and the
    // next claim, which knows, is made afresh.
    if (next && !failed_now.empty() &&
        std::any_of(next->events().begin(), next->events().end(),
                    [&](const OutboxEvent& e) { return failed_now.contains(e.id); })) {
      next.reset();
    }
    current.reset();
    if (s.delivered == 0 && s.not_delivered > 0) {
      run.report.publisher_stalled = publisher_stalled_ = true;
      ctx_.log.warn("kafka took none of a batch; the rest waits for the next run",
                    {{"failed", s.not_delivered}, {"lastError", s.publish_error}});
      break;  // `next`, if any, is released unchanged
    }
    if (end_when_caught_up_ && short_batch && claimed_alone) break;
    // An empty or short overlapping claim may only mean that the rest waited behind the batch
    // just finished: the loop claims once more before concluding there is nothing left.
    current = std::move(next);

    if (progress_ && Clock::now() >= next_progress) {
      progress_(run.report);
      next_progress = Clock::now() + kProgressEvery;
    }
  }
}

// A slice of the flagging after the events went out: one chunk of 5,000 rows (its own short
// transaction), and more while `slice` lasts (a quarter of the time the events took), so that
// a run never takes much longer for it.
void OutboxRelay::flag_node_rows(Run& run, Clock::duration slice) {
  const NormalizeResult n =
      normalize_published(run.store, std::min(run.deadline, Clock::now() + slice));
  normalized_ = n.done;
  if (n.marked > 0 || n.store_error) {
    ctx_.log.log(n.store_error ? LogLevel::Warn : LogLevel::Info,
                 "flagged as published outbox events that only \"publishedAt\" marked",
                 {{"events", n.marked}, {"done", n.done}, {"error", n.store_error.value_or("")}});
  }
}

RelayReport OutboxRelay::drain(Clock::time_point deadline) {
  RelayReport report;
  try {
    report = drain_batches(deadline);
  } catch (...) {
    report.publisher_stalled = true;  // no publisher could be created: a failed run
    record(report);
    throw;
  }
  record(report);
  return report;
}

// Every run, also one that found nothing: then the EMF line carries zeros (a run took place)
// and the Prometheus counters add nothing but the run.
void OutboxRelay::record(const RelayReport& r) {
  if (exposed_) exposed_->relay_run(r);
  if (!metrics_) return;
  metrics_->count("RelayProcessed", static_cast<double>(r.processed));
  metrics_->count("RelaySucceeded", static_cast<double>(r.succeeded));
  metrics_->count("RelayFailed", static_cast<double>(r.failed));
  metrics_->count("RelayDead", static_cast<double>(r.dead));
}

bool OutboxRelay::record_backlog() {
  const Timestamp now = now_utc();
  auto backlog = ctx_.db->outbox().backlog(now, ctx_.config.outbox_max_retries);
  if (!backlog) return false;
  if (metrics_) record_outbox_gauges(*metrics_, *backlog);
  if (exposed_) exposed_->outbox(*backlog, now);
  return true;
}

}  // namespace tbpay
