#pragma once
// EventPublisher on Kafka: one idempotent librdkafka producer (acks=all), created once and
// reused for every batch, and re-created if librdkafka reports a fatal error.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "config/config.h"
#include "observability/log.h"
#include "publish/kafka/embedded_cluster.h"
#include "publish/kafka/handles.h"
#include "publish/publisher.h"

namespace tbpay::kafka {

struct ProducerSettings {
  std::string bootstrap_servers;
  bool ssl = false;
  SaslMechanism sasl = SaslMechanism::None;
  std::string username;
  std::string password;
  // librdkafka gives up on a message after this long and reports it failed: a definitive
  // answer inside publish()'s wait rather than a late one after it.
  std::chrono::milliseconds message_timeout{10'000};
  std::chrono::milliseconds linger{5};
  // Produce requests in flight per broker connection (order is kept either way: idempotence).
  // librdkafka's mock cluster does not set TCP_NODELAY on its sockets, so a second response
  // in flight waits ~40 ms for a delayed ACK; against it, one at a time is much faster.
  int max_in_flight = 5;
  // Further librdkafka properties (tests shorten reconnect back-offs, for instance).
  std::vector<std::pair<std::string, std::string>> extra;
};

// Settings from the environment's KAFKA_* variables, for the given bootstrap servers.
ProducerSettings producer_settings(const KafkaSettings& kafka, std::string bootstrap_servers);

// How a client reaches the brokers, as librdkafka properties: security.protocol, the SASL
// mechanism and credentials, then `extra`. The producer and `tbpay doctor`'s probe both connect
// with exactly these.
std::vector<std::pair<std::string, std::string>> connection_properties(
    const ProducerSettings& settings);
const char* mechanism_name(SaslMechanism m);

// A bad producer property (unknown SASL mechanism for this librdkafka build, ...).
struct ProducerConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class KafkaPublisher final : public EventPublisher {
 public:
  // Throws ProducerConfigError when librdkafka refuses the settings.
  KafkaPublisher(ProducerSettings settings, Logger log);
  // KAFKA_BROKERS=embedded: owns the mock cluster it produces to.
  KafkaPublisher(std::unique_ptr<EmbeddedCluster> cluster, ProducerSettings settings, Logger log);
  ~KafkaPublisher() override;

  std::vector<DeliveryOutcome> publish(std::span<const OutgoingMessage> messages,
                                       std::chrono::milliseconds timeout) override;
  Status<> ready(std::chrono::milliseconds timeout) override;
  std::string describe() const override;

  // Called by librdkafka (from rd_kafka_poll on the publishing thread).
  void on_delivery(const rd_kafka_message_t& message);
  // librdkafka's logs and errors (from its own threads).
  void log_client_message(LogLevel level, const char* what, const char* text) const;

 private:
  struct Batch {
    std::uint64_t first = 0;  // sequence number of messages[0]
    std::vector<DeliveryOutcome> outcomes;
    std::vector<bool> reported;
    std::size_t waiting = 0;
  };

  rd_kafka_t* producer();  // creates it on first use or after a fatal error
  rd_kafka_topic_t* topic(const std::string& name);
  rd_kafka_resp_err_t produce(const OutgoingMessage& m, std::uint64_t sequence);
  void settle(Batch& batch, std::size_t index, bool delivered, std::string error);

  std::unique_ptr<EmbeddedCluster> cluster_;  // declared first: outlives the producer
  ProducerSettings settings_;
  Logger log_;
  std::mutex mutex_;  // one publish() at a time: delivery reports belong to the current batch
  ClientHandle producer_;
  std::unordered_map<std::string, TopicHandle> topics_;  // destroyed before the producer
  std::uint64_t next_sequence_ = 1;
  Batch* current_ = nullptr;
};

}  // namespace tbpay::kafka
