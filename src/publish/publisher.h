#pragma once
// Event publisher port: Kafka in production, a JSON-lines file by default.
#include <chrono>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/outbox_event.h"
#include "core/result.h"

namespace tbpay {

struct OutgoingMessage {
  std::string event_id;  // reported back in DeliveryOutcome::event_id
  std::string topic;
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
};

class EventPublisher {
 public:
  virtual ~EventPublisher() = default;
  // Sends every message without waiting for one before the next, then waits (at most
  // `timeout`) for each delivery report. One outcome per message, same order. A message
  // counts as delivered only after the broker acknowledged it.
  virtual std::vector<DeliveryOutcome> publish(std::span<const OutgoingMessage> messages,
                                               std::chrono::milliseconds timeout) = 0;
  // Can messages be sent now? (Kafka: a broker answers a metadata request within `timeout`.)
  // The relay asks after a batch went nowhere, before claiming more, so that an outage does
  // not spend the retries of every event it meets.
  virtual Status<> ready(std::chrono::milliseconds timeout) {
    (void)timeout;
    return Ok{};
  }
  // "kafka broker1:9092", "file var/events.jsonl": for logs and `--help`.
  virtual std::string describe() const = 0;
};

}  // namespace tbpay
