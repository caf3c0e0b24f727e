#pragma once
// Outbox relay: publishes pending outbox events, batch by batch, until none is left or the
// budget is spent (DESIGN.md, "Outbox relay").
#include <chrono>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace tbpay {

struct Context;

struct RelayReport {
  std::int64_t processed = 0;
  std::int64_t succeeded = 0;
  std::int64_t failed = 0;
  std::int64_t dead = 0;
  std::int64_t batches = 0;
  bool budget_exhausted = false;
};
nlohmann::json to_json(const RelayReport& r);

class OutboxRelay {
 public:
  explicit OutboxRelay(Context& ctx);
  // Drains until no event can be claimed or `deadline` passes.
  RelayReport drain(std::chrono::steady_clock::time_point deadline);

 private:
  Context& ctx_;
};

}  // namespace tbpay
