#pragma once
// Shared by the relay and cleanup tests: a fresh database (PostgreSQL or SQLite), a mock
// Kafka cluster owned by the test, a Context on both, seeding and reading outbox rows.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/relay.h"
#include "context/context.h"
#include "publish/kafka/embedded_cluster.h"
#include "publish/kafka/kafka_publisher.h"
#include "publish/kafka_fixture.h"
#include "support/test_context.h"
#include "support/test_database.h"

namespace tbpay::test {

inline const std::vector<std::string>& payment_topics() {
  static const std::vector<std::string> topics{"payment.completed", "payment.failed",
                                               "payment.cancelled"};
  return topics;
}

// An outbox row as the relay left it.
struct OutboxRow {
  std::string id;
  std::string aggregate_id;
  std::string event_type;
  nlohmann::json payload;
  bool published = false;
  std::optional<std::string> published_at;
  std::string created_at;
  int retry_count = 0;
  std::optional<std::string> last_error;
};

inline std::vector<OutboxRow> outbox_rows(TestDatabase& db) {
  std::vector<OutboxRow> rows;
  for (const Row& r :
       db.query(R"(SELECT id, "aggregateId", "eventType", payload, published, "publishedAt",
                                         "createdAt", "retryCount", "lastError"
                                    FROM outbox ORDER BY "createdAt", id)")) {
    OutboxRow o;
    o.id = *r[0];
    o.aggregate_id = *r[1];
    o.event_type = *r[2];
    o.payload = nlohmann::json::parse(*r[3]);
    o.published = is_true(r[4]);
    o.published_at = r[5];
    o.created_at = *r[6];
    o.retry_count = std::stoi(*r[7]);
    o.last_error = r[8];
    rows.push_back(std::move(o));
  }
  return rows;
}

inline OutboxRow row(TestDatabase& db, const std::string& id) {
  for (auto& r : outbox_rows(db))
    if (r.id == id) return r;
  throw std::runtime_error("no outbox row " + id);
}

// Events spread over `payments` payments, each payment's events createdAt-ordered, all
// before now. Returns their ids in createdAt order.
inline std::vector<std::string> seed_events(TestDatabase& db, int payments, int events_per_payment,
                                            std::string event_type = "PAYMENT_COMPLETED") {
  std::vector<std::string> ids;
  const Timestamp base = now_utc() - std::chrono::hours(1);
  int n = 0;
  for (int e = 0; e < events_per_payment; ++e) {
    for (int p = 0; p < payments; ++p, ++n) {
      SeedEvent ev;
      ev.aggregate_id = "payment-" + std::to_string(p);
      ev.event_type = event_type;
      ev.payload = nlohmann::json{
          {"order_code", "TB-" + std::to_string(p)},
          {"payment_id", ev.aggregate_id},
          {"amount_cents", 150000 + p},
          {"sequence",
           e}}.dump();
      ev.created_at = base + std::chrono::milliseconds(n);
      ids.push_back(insert_event(db, ev));
    }
  }
  return ids;
}

// Every message on the payment topics, read with librdkafka's consumer.
inline std::vector<testing::ConsumedMessage> consume_payment_topics(const std::string& bootstrap,
                                                                    std::size_t at_least) {
  return testing::consume_all(bootstrap, payment_topics(), at_least);
}

// Checks one consumed message against the outbox row it claims to carry.
inline void expect_matches_row(const testing::ConsumedMessage& m, const OutboxRow& r,
                               const std::string& topic) {
  EXPECT_EQ(m.topic, topic) << r.id;
  EXPECT_EQ(m.key, r.aggregate_id) << r.id;
  EXPECT_EQ(m.headers, (std::map<std::string, std::string>{{"eventId", r.id},
                                                           {"eventType", r.event_type},
                                                           {"aggregateType", "Payment"},
                                                           {"content-type", "application/json"}}))
      << r.id;
  EXPECT_EQ(nlohmann::json::parse(m.value), r.payload) << r.id;
}

// A relay set-up on one engine: database, mock cluster, context.
class RelayEnvironment {
 public:
  explicit RelayEnvironment(Engine engine, int brokers = 1) : cluster_(brokers) {
    db_ = make_test_database(engine);
    db_->migrate();
  }

  TestDatabase& db() { return *db_; }
  kafka::EmbeddedCluster& cluster() { return cluster_; }
  const std::string& bootstrap() const { return cluster_.bootstrap(); }

  Config config() const {
    Config c;
    c.kafka.brokers = cluster_.bootstrap();
    c.outbox_max_retries = 3;
    return c;
  }
  std::unique_ptr<Context> context(Config c) {
    auto ctx = make_test_context(*db_, std::move(c));
    ctx->log = Logger(LogLevel::Error);
    return ctx;
  }
  std::unique_ptr<Context> context() { return context(config()); }

  // A producer with test-friendly timings: failures are reported within a second or two,
  // reconnection after a broker comes back is quick.
  std::unique_ptr<kafka::KafkaPublisher> publisher(
      std::chrono::milliseconds message_timeout = std::chrono::milliseconds(1500)) {
    kafka::ProducerSettings s;
    s.bootstrap_servers = cluster_.bootstrap();
    s.message_timeout = message_timeout;
    s.max_in_flight = 1;  // as the embedded cluster: see ProducerSettings::max_in_flight
    s.extra = {{"reconnect.backoff.ms", "50"}, {"reconnect.backoff.max.ms", "200"}};
    return std::make_unique<kafka::KafkaPublisher>(s, Logger(LogLevel::Error));
  }

 private:
  kafka::EmbeddedCluster cluster_;
  std::unique_ptr<TestDatabase> db_;
};

inline std::chrono::steady_clock::time_point in(std::chrono::seconds s) {
  return std::chrono::steady_clock::now() + s;
}

}  // namespace tbpay::test
