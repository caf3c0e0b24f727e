#pragma once
// Reading back what was produced, with two real Kafka clients: librdkafka's consumer and kcat.
// Header-only so that any test executable linking tbpay_publish (which links librdkafka) can
// use it.
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <nlohmann/json.hpp>

#include "publish/kafka/handles.h"

namespace tbpay::testing {

struct ConsumedMessage {
  std::string topic;
  int partition = 0;
  std::int64_t offset = 0;
  std::string key;
  std::string value;
  std::map<std::string, std::string> headers;
};

namespace detail {

inline void set(rd_kafka_conf_t* conf, const char* name, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, name, value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
    throw std::runtime_error(std::string("consumer setting ") + name + ": " + err);
}

struct PartitionListRelease {
  void operator()(rd_kafka_topic_partition_list_t* p) const {
    rd_kafka_topic_partition_list_destroy(p);
  }
};
struct MessageRelease {
  void operator()(rd_kafka_message_t* p) const { rd_kafka_message_destroy(p); }
};
struct MetadataRelease {
  void operator()(const rd_kafka_metadata_t* p) const { rd_kafka_metadata_destroy(p); }
};

}  // namespace detail

// Every message on `topics`, read from the beginning without a consumer group, stopping once
// every partition is at its end and at least `at_least` messages arrived (or after `timeout`).
inline std::vector<ConsumedMessage> consume_all(
    const std::string& bootstrap, const std::vector<std::string>& topics, std::size_t at_least = 0,
    std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  kafka::ConfHandle conf(rd_kafka_conf_new());
  detail::set(conf.get(), "bootstrap.servers", bootstrap);
  detail::set(conf.get(), "group.id", "tbpay-test-reader");
  detail::set(conf.get(), "enable.auto.commit", "false");
  detail::set(conf.get(), "enable.partition.eof", "true");
  detail::set(conf.get(), "log_level", "3");
  char err[512];
  kafka::ClientHandle consumer(rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof err));
  if (!consumer) throw std::runtime_error(std::string("consumer: ") + err);
  conf.release();

  std::unique_ptr<rd_kafka_topic_partition_list_t, detail::PartitionListRelease> assignment(
      rd_kafka_topic_partition_list_new(16));
  for (const std::string& name : topics) {
    kafka::TopicHandle topic(rd_kafka_topic_new(consumer.get(), name.c_str(), nullptr));
    const rd_kafka_metadata_t* raw = nullptr;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR__TIMED_OUT;
    while (Clock::now() < deadline) {
      e = rd_kafka_metadata(consumer.get(), 0, topic.get(), &raw, 5000);
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
      throw std::runtime_error("metadata: " + std::string(rd_kafka_err2str(e)));
    std::unique_ptr<const rd_kafka_metadata_t, detail::MetadataRelease> md(raw);
    for (int t = 0; t < md->topic_cnt; ++t) {
      if (md->topics[t].err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;  // never produced to
      for (int p = 0; p < md->topics[t].partition_cnt; ++p)
        rd_kafka_topic_partition_list_add(assignment.get(), name.c_str(),
                                          md->topics[t].partitions[p].id)
            ->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
  }
  std::vector<ConsumedMessage> out;
  if (assignment->cnt == 0) return out;
  if (auto e = rd_kafka_assign(consumer.get(), assignment.get()); e != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw std::runtime_error(std::string("assign: ") + rd_kafka_err2str(e));

  std::map<std::pair<std::string, int>, bool> at_end;
  for (int i = 0; i < assignment->cnt; ++i)
    at_end[{assignment->elems[i].topic, assignment->elems[i].partition}] = false;
  auto all_at_end = [&] {
    for (const auto& [tp, end] : at_end)
      if (!end) return false;
    return true;
  };
  while (Clock::now() < deadline && !(all_at_end() && out.size() >= at_least)) {
    std::unique_ptr<rd_kafka_message_t, detail::MessageRelease> m(
        rd_kafka_consumer_poll(consumer.get(), 100));
    if (!m) continue;
    const std::string topic = rd_kafka_topic_name(m->rkt);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      at_end[{topic, m->partition}] = true;
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    at_end[{topic, m->partition}] = false;
    ConsumedMessage c;
    c.topic = topic;
    c.partition = m->partition;
    c.offset = m->offset;
    if (m->key) c.key.assign(static_cast<const char*>(m->key), m->key_len);
    if (m->payload) c.value.assign(static_cast<const char*>(m->payload), m->len);
    rd_kafka_headers_t* headers = nullptr;
    if (rd_kafka_message_headers(m.get(), &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name = nullptr;
      const void* value = nullptr;
      size_t size = 0;
      for (size_t i = 0;
           rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i)
        c.headers[name] = std::string(static_cast<const char*>(value), size);
    }
    out.push_back(std::move(c));
  }
  rd_kafka_consumer_close(consumer.get());
  return out;
}

// The names of every topic the cluster has (created by producing to it).
inline std::vector<std::string> topic_names(const std::string& bootstrap) {
  kafka::ConfHandle conf(rd_kafka_conf_new());
  detail::set(conf.get(), "bootstrap.servers", bootstrap);
  detail::set(conf.get(), "log_level", "3");
  detail::set(conf.get(), "allow.auto.create.topics", "false");
  char err[512];
  kafka::ClientHandle client(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err));
  if (!client) throw std::runtime_error(std::string("client: ") + err);
  conf.release();
  const rd_kafka_metadata_t* raw = nullptr;
  if (auto e = rd_kafka_metadata(client.get(), 1, nullptr, &raw, 10000);
      e != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw std::runtime_error(std::string("metadata: ") + rd_kafka_err2str(e));
  std::unique_ptr<const rd_kafka_metadata_t, detail::MetadataRelease> md(raw);
  std::vector<std::string> names;
  for (int t = 0; t < md->topic_cnt; ++t) names.emplace_back(md->topics[t].topic);
  return names;
}

// The same, read by the kcat command-line client (`kcat -C -J -e`). Throws when kcat is not
// installed: the tests must not pass without it.
inline std::vector<ConsumedMessage> consume_with_kcat(const std::string& bootstrap,
                                                      const std::string& topic) {
  if (std::system("command -v kcat >/dev/null 2>&1") != 0)
    throw std::runtime_error("kcat is not installed (scripts/deps.sh installs it)");
  const std::string command =
      "kcat -b " + bootstrap + " -C -t " + topic + " -e -q -J -m 30 -X log_level=3 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) throw std::runtime_error("cannot run kcat");
  std::string output;
  std::array<char, 65536> buffer;
  while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe.get()))
    output.append(buffer.data(), n);
  std::vector<ConsumedMessage> out;
  size_t start = 0;
  while (start < output.size()) {
    size_t end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    const std::string line = output.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("topic")) throw std::runtime_error("kcat: " + line);
    ConsumedMessage c;
    c.topic = j["topic"];
    c.partition = j["partition"];
    c.offset = j["offset"];
    if (j["key"].is_string()) c.key = j["key"];
    if (j["payload"].is_string()) c.value = j["payload"];
    if (j.contains("headers"))
      for (size_t i = 0; i + 1 < j["headers"].size(); i += 2)
        c.headers[j["headers"][i]] = j["headers"][i + 1];
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace tbpay::testing
