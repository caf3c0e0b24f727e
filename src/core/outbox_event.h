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

// How one claimed event fared on the wire: what the publisher reports and the outbox store
// records (OutboxClaim::finish).
struct DeliveryOutcome {
  std::string event_id;
  bool delivered = false;
  std::string error;  // when not delivered
  bool dead = false;  // give up now (e.g. unknown event type), whatever the retry count
};

}  // namespace tbpay
