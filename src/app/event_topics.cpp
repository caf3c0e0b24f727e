#include "app/event_topics.h"

#include <array>
#include <utility>

namespace tbpay {

namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kTopics{{
    {"PAYMENT_COMPLETED", "payment.completed"},
    {"PAYMENT_FAILED", "payment.failed"},
    {"PAYMENT_CANCELLED", "payment.cancelled"},
    {"PaymentCancelled", "payment.cancelled"},  // the core service's spelling
}};

}  // namespace

std::optional<std::string> topic_for(std::string_view event_type, std::string_view prefix) {
  for (const auto& [type, topic] : kTopics) {
    if (type == event_type) return std::string(prefix) + std::string(topic);
  }
  return std::nullopt;
}

}  // namespace tbpay
