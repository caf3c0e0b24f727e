#include "app/relay.h"

#include <algorithm>
#include <unordered_map>

#include "app/event_topics.h"
#include "context/context.h"

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

OutboxRelay::OutboxRelay(Context& ctx, EventPublisher& publisher) : ctx_(ctx), publisher_(&publisher) {}

EventPublisher& OutboxRelay::publisher() { return publisher_ ? *publisher_ : ctx_.publisher(); }

RelayReport OutboxRelay::drain(Clock::time_point deadline) {
  RelayReport report;
  OutboxStore& store = ctx_.db->outbox();
  const int max_retries = ctx_.config.outbox_max_retries;
  ClaimOptions claim_options;
  claim_options.limit = static_cast<std::size_t>(ctx_.config.outbox_batch_size);
  claim_options.max_retries = max_retries;
  const auto started = Clock::now();
  auto next_progress = started + kProgressEvery;

  if (publisher_stalled_) {
    if (auto ready = publisher().ready(kReadyProbe); !ready) {
      report.publisher_stalled = true;
      ctx_.log.debug("publisher still unavailable; nothing claimed", {{"error", ready.error().message}});
      return report;
    }
    publisher_stalled_ = false;
  }

  for (;;) {
    if (Clock::now() >= deadline) {
      report.budget_exhausted = true;
      break;
    }
    const auto claim_started = Clock::now();
    auto claim = store.claim_batch(claim_options);
    if (!claim) {
      report.store_error = "cannot claim outbox events: " + claim.error().message;
      break;
    }
    const std::vector<OutboxEvent>& events = (*claim)->events();
    report.last_batch_full = events.size() >= claim_options.limit;
    if (events.empty()) break;
    ++report.batches;

    // Unknown event types are settled here and never reach the publisher.
    std::vector<DeliveryOutcome> outcomes;
    std::vector<OutgoingMessage> messages;
    messages.reserve(events.size());
    for (const OutboxEvent& e : events) {
      if (auto topic = topic_for(e.event_type, ctx_.config.kafka.topic_prefix)) {
        messages.push_back(message_for(e, std::move(*topic)));
      } else {
        outcomes.push_back({e.id, false, "unknown event type " + e.event_type + ": no topic", true});
      }
    }
    const auto publish_started = Clock::now();
    std::size_t delivered = 0;
    std::size_t not_delivered = 0;
    std::string publish_error;
    if (!messages.empty()) {
      for (DeliveryOutcome& o : publisher().publish(messages, publish_wait(deadline))) {
        (o.delivered ? delivered : not_delivered) += 1;
        if (!o.delivered && publish_error.empty()) publish_error = o.error;
        outcomes.push_back(std::move(o));
      }
    }

    const auto finish_started = Clock::now();
    if (auto finished = (*claim)->finish(outcomes, now_utc()); !finished) {
      // What was delivered stays pending and goes out again later: consumers de-duplicate on
      // eventId (DESIGN.md: at least once).
      report.store_error = "cannot record the delivery of " + std::to_string(outcomes.size()) +
                           " outbox events: " + finished.error().message;
      break;
    }

    if (ctx_.log.enabled(LogLevel::Debug)) {
      auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
      ctx_.log.debug("outbox batch", {{"events", events.size()},
                                      {"delivered", delivered},
                                      {"claim_ms", ms(publish_started - claim_started)},
                                      {"publish_ms", ms(finish_started - publish_started)},
                                      {"finish_ms", ms(Clock::now() - finish_started)}});
    }

    std::unordered_map<std::string_view, int> retries;
    for (const OutboxEvent& e : events) retries[e.id] = e.retry_count;
    for (const DeliveryOutcome& o : outcomes) {
      ++report.processed;
      if (o.delivered) {
        ++report.succeeded;
      } else if (o.dead || retries[o.event_id] + 1 >= max_retries) {
        ++report.dead;
        ctx_.log.warn("outbox event is dead; `tbpay outbox requeue` gives it a new chance",
                      {{"eventId", o.event_id}, {"lastError", o.error}});
      } else {
        ++report.failed;
        claim_options.exclude_ids.push_back(o.event_id);  // retried next run, not in a loop
      }
    }
    if (!outcomes.empty() && delivered == 0 && not_delivered > 0) {
      report.publisher_stalled = publisher_stalled_ = true;
      ctx_.log.warn("kafka took none of a batch; the rest waits for the next run",
                    {{"failed", not_delivered}, {"lastError", publish_error}});
      break;
    }

    if (progress_ && Clock::now() >= next_progress) {
      progress_(report);
      next_progress = Clock::now() + kProgressEvery;
    }
  }

  if (report.processed > 0 || report.store_error) {
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    nlohmann::json fields = to_json(report);
    fields["seconds"] = seconds;
    fields["publisher"] = publisher().describe();
    ctx_.log.log(report.store_error ? LogLevel::Error : LogLevel::Info, "outbox relay run", fields);
  }
  return report;
}

}  // namespace tbpay
