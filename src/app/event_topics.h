#pragma once
// Which Kafka topic an outbox event goes to. The one place to change a topic (docs/relay.md,
// "Outbox relay": topics).
#include <optional>
#include <string>
#include <string_view>

namespace tbpay {

// PAYMENT_COMPLETED -> payment.completed, PAYMENT_FAILED -> payment.failed, PAYMENT_CANCELLED
// and PaymentCancelled (written by the core service) -> payment.cancelled, each behind
// `prefix` (KAFKA_TOPIC_PREFIX, prepended as is: "staging." gives "staging.payment.completed").
// Any other event type has no topic: it is never sent to a guessed one.
std::optional<std::string> topic_for(std::string_view event_type, std::string_view prefix = {});

}  // namespace tbpay
