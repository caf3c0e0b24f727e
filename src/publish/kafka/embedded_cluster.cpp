#include "publish/kafka/embedded_cluster.h"

#include <stdexcept>

namespace tbpay::kafka {

EmbeddedCluster::EmbeddedCluster(int brokers) {
  ConfHandle conf(rd_kafka_conf_new());
  char err[512];
  // The hosting handle never produces; keep its own chatter out of the logs.
  if (rd_kafka_conf_set(conf.get(), "log_level", "3", err, sizeof err) != RD_KAFKA_CONF_OK)
    throw std::runtime_error(std::string("embedded kafka: ") + err);
  owner_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err));
  if (!owner_) throw std::runtime_error(std::string("embedded kafka: ") + err);
  conf.release();  // rd_kafka_new took it
  cluster_.reset(rd_kafka_mock_cluster_new(owner_.get(), brokers));
  if (!cluster_) throw std::runtime_error("embedded kafka: cannot create the mock cluster");
  bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster_.get());
}

}  // namespace tbpay::kafka
