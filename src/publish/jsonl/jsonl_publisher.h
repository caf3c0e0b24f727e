#pragma once
// EventPublisher of the embedded default: each message becomes one JSON line
// {"topic","key","headers":{...},"value":<payload>} appended to a file, synced to disk before
// it counts as delivered.
#include <filesystem>
#include <mutex>

#include "publish/publisher.h"

namespace tbpay::jsonl {

class JsonLinesPublisher final : public EventPublisher {
 public:
  explicit JsonLinesPublisher(std::filesystem::path file);

  std::vector<DeliveryOutcome> publish(std::span<const OutgoingMessage> messages,
                                       std::chrono::milliseconds timeout) override;
  std::string describe() const override;

 private:
  std::filesystem::path file_;
  std::mutex mutex_;  // lines of one batch stay together
};

}  // namespace tbpay::jsonl
