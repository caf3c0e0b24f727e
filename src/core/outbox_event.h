#pragma once
#include <optional>
#include <string>

#include "core/time.h"

namespace tbpay {

// One row of the outbox table.
struct OutboxEvent {
  std::string id;
  std::string aggregate_id;
  std::string aggregate_type;
  std::string event_type;
  std::string payload;  // JSON text
  bool published = false;
  std::optional<Timestamp> published_at;
  Timestamp created_at{};
  int retry_count = 0;
  std::optional<std::string> last_error;
};

// Where an outbox row stands (docs/relay.md), the rule every store's SQL follows:
//  Published  published, or "publishedAt" set: the Node.js relay set only "publishedAt";
//  Pending    neither, and fewer than `max_retries` failed deliveries: the relay takes it;
//  Dead       neither, and `max_retries` failed deliveries or more: it waits for a requeue.
enum class OutboxState { Pending, Dead, Published };

constexpr OutboxState outbox_state(bool published, bool has_published_at, int retry_count,
                                   int max_retries) {
  if (published || has_published_at) return OutboxState::Published;
  return retry_count < max_retries ? OutboxState::Pending : OutboxState::Dead;
}

inline OutboxState outbox_state(const OutboxEvent& event, int max_retries) {
  return outbox_state(event.published, event.published_at.has_value(), event.retry_count,
                      max_retries);
}

// Whether one more failed delivery of an event that failed `retry_count` times leaves it dead
// (its retryCount then reaches `max_retries`).
constexpr bool dead_after_failure(int retry_count, int max_retries) {
  return outbox_state(false, false, retry_count + 1, max_retries) == OutboxState::Dead;
}

// How one claimed event fared on the wire: what the publisher reports and the outbox store
// records (OutboxClaim::finish).
struct DeliveryOutcome {
  std::string event_id;
  bool delivered = false;
  std::string error;  // when not delivered
  bool dead = false;  // give up now (e.g. unknown event type), whatever the retry count
};

}  // namespace tbpay
