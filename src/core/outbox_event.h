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

}  // namespace tbpay
