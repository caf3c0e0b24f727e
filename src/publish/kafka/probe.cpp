#include "publish/kafka/probe.h"

#include <sstream>

namespace tbpay::kafka {

namespace {

std::vector<std::string> split_brokers(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    const auto first = item.find_first_not_of(" \t");
    const auto last = item.find_last_not_of(" \t");
    if (first != std::string::npos) out.push_back(item.substr(first, last - first + 1));
  }
  return out;
}

void quiet_log(const rd_kafka_t*, int, const char*, const char*) {}

BrokerAnswer ask(const ProducerSettings& settings, const std::string& broker,
                 std::chrono::milliseconds timeout, std::set<std::string>& topics) {
  BrokerAnswer answer{broker, false, ""};
  ConfHandle conf(rd_kafka_conf_new());
  char err[512];
  std::vector<std::pair<std::string, std::string>> properties = {{"bootstrap.servers", broker},
                                                                 {"client.id", "tbpay-doctor"}};
  const bool sasl = settings.sasl != SaslMechanism::None;
  for (auto& property : connection_properties(settings)) properties.push_back(std::move(property));
  for (const auto& [name, value] : properties) {
    if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), err, sizeof err) !=
        RD_KAFKA_CONF_OK) {
      answer.detail = "setting " + name + " refused: " + err;
      return answer;
    }
  }
  rd_kafka_conf_set_log_cb(conf.get(), quiet_log);
  ClientHandle client(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err));
  if (!client) {
    answer.detail = std::string("client refused: ") + err;
    return answer;
  }
  conf.release();  // rd_kafka_new took it
  const rd_kafka_metadata_t* metadata = nullptr;
  const rd_kafka_resp_err_t result =
      rd_kafka_metadata(client.get(), 1, nullptr, &metadata, static_cast<int>(timeout.count()));
  if (result != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (metadata) rd_kafka_metadata_destroy(metadata);
    answer.detail = std::string("no answer to a metadata request within ") +
                    std::to_string(timeout.count()) + " ms: " + rd_kafka_err2str(result) +
                    (settings.ssl ? " (TLS on)" : " (TLS off)") +
                    (sasl ? std::string(", SASL ") + mechanism_name(settings.sasl) : "");
    return answer;
  }
  int known = 0;
  for (int i = 0; i < metadata->topic_cnt; ++i) {
    if (metadata->topics[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    topics.insert(metadata->topics[i].topic);
    ++known;
  }
  answer.ok = true;
  answer.detail = "answered: " + std::to_string(metadata->broker_cnt) + " brokers, " +
                  std::to_string(known) + " topics" + (settings.ssl ? ", TLS" : "") +
                  (sasl ? std::string(", SASL ") + mechanism_name(settings.sasl) : "");
  rd_kafka_metadata_destroy(metadata);
  return answer;
}

}  // namespace

ClusterProbe probe_cluster(const ProducerSettings& settings, std::chrono::milliseconds timeout) {
  ClusterProbe probe;
  for (const auto& broker : split_brokers(settings.bootstrap_servers))
    probe.brokers.push_back(ask(settings, broker, timeout, probe.topics));
  return probe;
}

}  // namespace tbpay::kafka
