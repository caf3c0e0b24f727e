#pragma once
#include <memory>

#include "config/config.h"
#include "observability/log.h"
#include "publish/publisher.h"

namespace tbpay {

// KAFKA_BROKERS set: librdkafka producer ("embedded": an in-process mock cluster, whose
// bootstrap address is logged). Unset: JSON lines appended to Config::events_file.
std::unique_ptr<EventPublisher> open_publisher(const Config& config, const Logger& log);

}  // namespace tbpay
