#pragma once
// A read-only look at the configured Kafka cluster (`tbpay doctor`): each bootstrap broker is
// asked for the cluster's metadata on its own, with the relay's TLS and SASL settings.
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include "publish/kafka/kafka_publisher.h"

namespace tbpay::kafka {

struct BrokerAnswer {
  std::string broker;  // as configured: host:port
  bool ok = false;
  std::string detail;  // "answered: 3 brokers, 12 topics" or librdkafka's reason
};

struct ClusterProbe {
  std::vector<BrokerAnswer> brokers;  // one per configured bootstrap broker
  std::set<std::string> topics;       // every topic the answering brokers know
};

// Never throws; a setting librdkafka refuses is reported as each broker's failure. The
// settings' password is handed to librdkafka only, never into a detail.
ClusterProbe probe_cluster(const ProducerSettings& settings, std::chrono::milliseconds timeout);

}  // namespace tbpay::kafka
