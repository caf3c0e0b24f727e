#include "publish/open.h"

#include "publish/jsonl/jsonl_publisher.h"
#include "publish/kafka/kafka_publisher.h"

namespace tbpay {

std::unique_ptr<EventPublisher> open_publisher(const Config& config, const Logger& log) {
  if (config.kafka.brokers.empty())
    return std::make_unique<jsonl::JsonLinesPublisher>(config.events_file);
  if (config.kafka.brokers == "embedded") {
    auto cluster = std::make_unique<kafka::EmbeddedCluster>();
    const std::string bootstrap = cluster->bootstrap();
    log.info(
        "embedded kafka cluster started",
        {{"bootstrap", bootstrap}, {"watch", "kcat -b " + bootstrap + " -C -t payment.completed"}});
    // The embedded cluster speaks plaintext without authentication, whatever KAFKA_SSL says.
    kafka::ProducerSettings settings;
    settings.bootstrap_servers = bootstrap;
    settings.max_in_flight = 1;
    return std::make_unique<kafka::KafkaPublisher>(std::move(cluster), std::move(settings), log);
  }
  return std::make_unique<kafka::KafkaPublisher>(
      kafka::producer_settings(config.kafka, config.kafka.brokers), log);
}

}  // namespace tbpay
