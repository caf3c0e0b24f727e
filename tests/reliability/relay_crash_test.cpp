// Scenario 4, crash during relay: `tbpay relay` is SIGKILLed at random moments, again and
// again, while it drains a backlog to Kafka. Afterwards every outbox event is on Kafka at
// least once, a repeat is always the same event (same eventId, key and body), and the outbox
// says every event is published.
#include <gtest/gtest.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "publish/kafka/embedded_cluster.h"
#include "publish/kafka_fixture.h"
#include "reliability/support/serve.h"
#include "support/test_database.h"

namespace tbpay::reliability {
namespace {

using nlohmann::json;

constexpr int kPayments = 2000;
constexpr int kKillRuns = 30;
constexpr int kBatchSize = 10;

struct Event {
  std::string aggregate_id, event_type;
  json payload;
};

TEST(RelayCrash, SigkilledRelaysLoseNoEventAndRepeatOnlyTheSameEvent) {
  test::PgTestDatabase db;
  db.migrate();
  TempFolder folder;
  seed_payments(db.url(), "TB-CRASH-", kPayments);
  // One PAYMENT_COMPLETED per payment; every fifth payment first failed (an earlier event).
  pg_query(db.url(), R"(
    INSERT INTO outbox (id, "aggregateId", "aggregateType", "eventType", payload, "createdAt")
    SELECT gen_random_uuid()::text, id, 'Payment', 'PAYMENT_FAILED',
           jsonb_build_object('order_code', "orderCode", 'payment_id', id, 'reason', 'declined'),
           now() - interval '2 hours' + row_number() OVER (ORDER BY "orderCode") * interval '1 ms'
    FROM payments WHERE "amountCents" % 5 = 0;
    INSERT INTO outbox (id, "aggregateId", "aggregateType", "eventType", payload, "createdAt")
    SELECT gen_random_uuid()::text, id, 'Payment', 'PAYMENT_COMPLETED',
           jsonb_build_object('order_code', "orderCode", 'payment_id', id, 'amount_cents', "amountCents"),
           now() - interval '1 hour' + row_number() OVER (ORDER BY "orderCode") * interval '1 ms'
    FROM payments)");
  std::map<std::string, Event> events;
  for (const auto& r :
       pg_query(db.url(), R"(SELECT id, "aggregateId", "eventType", payload::text FROM outbox)"))
    events[*r[0]] = {*r[1], *r[2], json::parse(*r[3])};
  ASSERT_EQ(events.size(), static_cast<std::size_t>(kPayments + kPayments / 5));

  // Kafka lives in this process, so it outlives every relay; each produce request takes a
  // while, so that the kills land in the middle of batches.
  kafka::EmbeddedCluster cluster(1);
  rd_kafka_mock_broker_set_rtt(cluster.mock(), 1, 25);
  const auto env = tbpay_env(db.url(), {"KAFKA_BROKERS=" + cluster.bootstrap(),
                                        "OUTBOX_BATCH_SIZE=" + std::to_string(kBatchSize)});
  const auto pending = [&] {
    return pg_count(db.url(), "SELECT count(*) FROM outbox WHERE NOT published");
  };

  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_ms(0, 500);
  int kills = 0;
  for (int run = 0; run < kKillRuns; ++run) {
    ChildProcess relay({"relay"}, env, folder.path(), "relay-" + std::to_string(run));
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
    if (relay.running()) {
      relay.signal(SIGKILL);
      ++kills;
    }
    ASSERT_TRUE(relay.wait_exit(10s)) << "relay run " << run;
  }
  const auto pending_after_kills = pending();
  // At least 20 relays died with work left to do (seed in the output to replay a failure).
  EXPECT_GE(kills, 20) << "seed " << seed;
  EXPECT_GT(pending_after_kills, 0)
      << "the backlog drained before the kills were over; seed " << seed;

  // A relay left to finish drains the rest (a killed relay's claims are released by the
  // database when its connection dies).
  for (int run = 0; run < 5 && pending() > 0; ++run) {
    const auto finished =
        run_tbpay({"relay"}, env, folder.path(), "relay-final-" + std::to_string(run), 120s);
    ASSERT_EQ(finished.exit_code, 0) << finished.err << finished.out;
  }
  EXPECT_EQ(pending(), 0);
  EXPECT_EQ(
      pg_count(
          db.url(),
          R"(SELECT count(*) FROM outbox WHERE published AND "publishedAt" IS NOT NULL AND "retryCount" = 0)"),
      static_cast<std::int64_t>(events.size()));

  const auto messages = testing::consume_all(
      cluster.bootstrap(), {"payment.completed", "payment.failed"}, events.size(), 60s);
  std::map<std::string, int> seen;
  for (const auto& m : messages) {
    const auto id = m.headers.count("eventId") ? m.headers.at("eventId") : std::string();
    const auto it = events.find(id);
    ASSERT_NE(it, events.end()) << "a message with an unknown eventId '" << id << "': " << m.value;
    ++seen[id];
    // A repeat is the same event: same key, type, topic and body.
    EXPECT_EQ(m.key, it->second.aggregate_id) << id;
    EXPECT_EQ(m.headers.at("eventType"), it->second.event_type) << id;
    EXPECT_EQ(m.topic,
              it->second.event_type == "PAYMENT_FAILED" ? "payment.failed" : "payment.completed");
    EXPECT_EQ(json::parse(m.value), it->second.payload) << id;
  }
  int missing = 0;
  for (const auto& [id, e] : events) missing += seen.count(id) ? 0 : 1;
  EXPECT_EQ(missing, 0) << "events never published to Kafka; seed " << seed;
  std::printf(
      "relay crash: %d events, %d relays SIGKILLed (seed %u), %zu messages on Kafka, %zu repeats\n",
      static_cast<int>(events.size()), kills, seed, messages.size(), messages.size() - seen.size());
}

}  // namespace
}  // namespace tbpay::reliability
