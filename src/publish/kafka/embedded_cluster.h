#pragma once
// An in-process Kafka cluster (librdkafka's mock cluster) for KAFKA_BROKERS=embedded and for
// tests: real Kafka protocol on a loopback port, so `kcat` and any client can connect.
#include <string>

#include "publish/kafka/handles.h"

namespace tbpay::kafka {

class EmbeddedCluster {
 public:
  // Throws std::runtime_error when librdkafka cannot create the cluster.
  explicit EmbeddedCluster(int brokers = 1);

  const std::string& bootstrap() const { return bootstrap_; }
  // For tests: error injection, broker down/up (rdkafka_mock.h).
  rd_kafka_mock_cluster_t* mock() const { return cluster_.get(); }

 private:
  ClientHandle owner_;  // declared first: outlives the cluster it hosts
  MockClusterHandle cluster_;
  std::string bootstrap_;
};

}  // namespace tbpay::kafka
