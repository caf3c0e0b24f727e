#pragma once
// Owning handles for librdkafka objects, so that every exit path releases them.
#include <memory>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

namespace tbpay::kafka {

struct Release {
  void operator()(rd_kafka_t* p) const { rd_kafka_destroy(p); }
  void operator()(rd_kafka_conf_t* p) const { rd_kafka_conf_destroy(p); }
  void operator()(rd_kafka_topic_t* p) const { rd_kafka_topic_destroy(p); }
  void operator()(rd_kafka_headers_t* p) const { rd_kafka_headers_destroy(p); }
  void operator()(rd_kafka_mock_cluster_t* p) const { rd_kafka_mock_cluster_destroy(p); }
};

using ClientHandle = std::unique_ptr<rd_kafka_t, Release>;
using ConfHandle = std::unique_ptr<rd_kafka_conf_t, Release>;
using TopicHandle = std::unique_ptr<rd_kafka_topic_t, Release>;
using HeadersHandle = std::unique_ptr<rd_kafka_headers_t, Release>;
using MockClusterHandle = std::unique_ptr<rd_kafka_mock_cluster_t, Release>;

}  // namespace tbpay::kafka
