// The outbox relay on PostgreSQL and SQLite, publishing to a mock Kafka cluster that the test
// reads back with librdkafka's consumer and kcat.
#include "app/relay.h"

#include <filesystem>
#include <fstream>
#include <thread>

#include "app/relay_fixture.h"
#include "app/serve_metrics.h"
#include "observability/metrics.h"
#include "publish/open.h"
#include "support/promtool.h"

namespace tbpay::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class RelayTest : public ::testing::TestWithParam<Engine> {
 protected:
  RelayEnvironment env{GetParam()};

  std::string seed(const std::string& aggregate, const std::string& type, int minute,
                   nlohmann::json payload = nullptr) {
    SeedEvent e;
    e.aggregate_id = aggregate;
    e.event_type = type;
    if (payload.is_null())
      payload = {{"order_code", "TB-" + aggregate}, {"payment_id", aggregate},
                 {"amount_cents", 250000},          {"currency", "VND"},
                 {"provider", "ZALOPAY"},           {"note", "Vé \"VIP\" hàng đầu"}};
    e.payload = payload.dump();
    e.created_at = now_utc() - std::chrono::hours(1) + std::chrono::minutes(minute);
    return insert_event(env.db(), e);
  }
};

TEST_P(RelayTest, EachEventTypeGoesToItsTopicWithKeyHeadersAndBodyAndIsMarkedPublished) {
  const std::map<std::string, std::string> topic_of = {
      {seed("p-1", "PAYMENT_COMPLETED", 1), "payment.completed"},
      {seed("p-2", "PAYMENT_FAILED", 2), "payment.failed"},
      {seed("p-3", "PaymentCancelled", 3), "payment.cancelled"},  // as the core service writes it
      {seed("p-4", "PAYMENT_CANCELLED", 4), "payment.cancelled"},
      {seed("p-5", "PAYMENT_COMPLETED", 5), "payment.completed"},
  };
  auto ctx = env.context();

  const RelayReport report = OutboxRelay(*ctx).drain(in(seconds(30)));

  EXPECT_EQ(report.processed, 5);
  EXPECT_EQ(report.succeeded, 5);
  EXPECT_EQ(report.failed, 0);
  EXPECT_EQ(report.dead, 0);
  const auto rows = outbox_rows(env.db());
  for (const OutboxRow& r : rows) {
    EXPECT_TRUE(r.published) << r.id;
    EXPECT_TRUE(r.published_at.has_value()) << r.id;
    EXPECT_EQ(r.retry_count, 0);
  }
  const auto consumed = consume_payment_topics(env.bootstrap(), rows.size());
  ASSERT_EQ(consumed.size(), rows.size());
  for (const auto& m : consumed)
    expect_matches_row(m, row(env.db(), m.headers.at("eventId")),
                       topic_of.at(m.headers.at("eventId")));

  // The same, as a command-line consumer sees it.
  std::vector<testing::ConsumedMessage> by_kcat;
  for (const std::string topic : {"payment.completed", "payment.failed", "payment.cancelled"}) {
    auto got = testing::consume_with_kcat(env.bootstrap(), topic);
    by_kcat.insert(by_kcat.end(), got.begin(), got.end());
  }
  ASSERT_EQ(by_kcat.size(), rows.size());
  for (const auto& m : by_kcat)
    expect_matches_row(m, row(env.db(), m.headers.at("eventId")),
                       topic_of.at(m.headers.at("eventId")));
}

// Both runtimes count a run the same way: the relay records it, an empty one as zeros.
TEST_P(RelayTest, EveryRunIsCountedInTheMetricsGivenAnEmptyOneAsZeros) {
  seed("p-1", "PAYMENT_COMPLETED", 1);
  seed("p-2", "PAYMENT_FAILED", 2);
  seed("p-3", "PaymentRefunded", 3);  // no topic: dead
  auto ctx = env.context();
  std::vector<nlohmann::json> lines;
  Metrics metrics("outbox-processor",
                  [&](std::string_view line) { lines.push_back(nlohmann::json::parse(line)); });
  ServeMetrics exposed(*ctx->db);
  OutboxRelay relay(*ctx, metrics, &exposed);

  relay.drain(in(seconds(30)));
  metrics.flush();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["RelayProcessed"], 3);
  EXPECT_EQ(lines[0]["RelaySucceeded"], 2);
  EXPECT_EQ(lines[0]["RelayFailed"], 0);
  EXPECT_EQ(lines[0]["RelayDead"], 1);

  // Nothing left: still a run, written as zeros rather than left out.
  relay.drain(in(seconds(30)));
  metrics.flush();
  ASSERT_EQ(lines.size(), 2u);
  for (const char* name : {"RelayProcessed", "RelaySucceeded", "RelayFailed", "RelayDead"})
    EXPECT_EQ(lines[1].value(name, -1.0), 0) << name << " in " << lines[1].dump();

  const auto s = samples(exposed.render());
  EXPECT_EQ(s.at("tbpay_relay_runs_total"), 2);
  EXPECT_EQ(s.at("tbpay_relay_events_total{outcome=\"published\"}"), 2);
  EXPECT_EQ(s.at("tbpay_relay_events_total{outcome=\"dead\"}"), 1);
  EXPECT_EQ(s.at("tbpay_relay_run_failures_total"), 0);

  // The backlog, when asked for: the dead event, none pending.
  ASSERT_TRUE(relay.record_backlog());
  metrics.flush();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2]["OutboxPendingEvents"], 0);
  EXPECT_EQ(lines[2]["OutboxDeadEvents"], 1);
  EXPECT_EQ(samples(exposed.render()).at("tbpay_outbox_dead_events"), 1);
}

TEST_P(RelayTest, TopicPrefixIsPrependedToEveryTopic) {
  const std::string id = seed("p-1", "PAYMENT_COMPLETED", 1);
  Config config = env.config();
  config.kafka.topic_prefix = "staging.";
  auto ctx = env.context(config);

  EXPECT_EQ(OutboxRelay(*ctx).drain(in(seconds(30))).succeeded, 1);

  const auto got = testing::consume_all(env.bootstrap(), {"staging.payment.completed"}, 1);
  ASSERT_EQ(got.size(), 1u);
  expect_matches_row(got[0], row(env.db(), id), "staging.payment.completed");
}

TEST_P(RelayTest, UnknownEventTypeIsDeadWithAClearErrorAndNeverPublished) {
  const std::string known = seed("p-1", "PAYMENT_COMPLETED", 1);
  const std::string unknown = seed("p-2", "PAYMENT_REFUNDED", 2);
  auto ctx = env.context();

  const RelayReport report = OutboxRelay(*ctx).drain(in(seconds(30)));

  EXPECT_EQ(report.succeeded, 1);
  EXPECT_EQ(report.dead, 1);
  const OutboxRow dead = row(env.db(), unknown);
  EXPECT_FALSE(dead.published);
  EXPECT_FALSE(dead.published_at.has_value());
  EXPECT_EQ(dead.retry_count, 3);
  EXPECT_EQ(dead.last_error, "unknown event type PAYMENT_REFUNDED: no topic");
  const auto consumed = consume_payment_topics(env.bootstrap(), 1);
  ASSERT_EQ(consumed.size(), 1u);
  EXPECT_EQ(consumed[0].headers.at("eventId"), known);
  // No topic was guessed for it either.
  for (const std::string& topic : testing::topic_names(env.bootstrap()))
    EXPECT_TRUE(std::count(payment_topics().begin(), payment_topics().end(), topic)) << topic;

  // And a later run leaves it alone.
  EXPECT_EQ(OutboxRelay(*ctx).drain(in(seconds(30))).processed, 0);
  EXPECT_EQ(row(env.db(), unknown).retry_count, 3);
}

TEST_P(RelayTest, ARefusedEventGetsOneMoreRetryAndItsLastErrorAndIsNotPublished) {
  const std::string completed = seed("p-1", "PAYMENT_COMPLETED", 1);
  const std::string failed = seed("p-2", "PAYMENT_FAILED", 2);
  rd_kafka_mock_topic_set_error(env.cluster().mock(), "payment.failed",
                                RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  auto ctx = env.context();
  auto publisher = env.publisher();

  const RelayReport report = OutboxRelay(*ctx, *publisher).drain(in(seconds(30)));

  EXPECT_EQ(report.succeeded, 1);
  EXPECT_EQ(report.failed, 1);
  EXPECT_TRUE(row(env.db(), completed).published);
  const OutboxRow r = row(env.db(), failed);
  EXPECT_FALSE(r.published);
  EXPECT_FALSE(r.published_at.has_value());
  EXPECT_EQ(r.retry_count, 1);
  ASSERT_TRUE(r.last_error.has_value());
  // librdkafka retries a topic in error until the message times out.
  EXPECT_EQ(r.last_error->rfind("kafka: ", 0), 0u) << *r.last_error;
}

TEST_P(RelayTest, AFailingEventIsTriedOncePerRunNotInALoop) {
  const std::string failed = seed("p-2", "PAYMENT_FAILED", 1);
  for (int i = 0; i < 5; ++i) seed("p-ok-" + std::to_string(i), "PAYMENT_COMPLETED", 2 + i);
  rd_kafka_mock_topic_set_error(env.cluster().mock(), "payment.failed",
                                RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  Config config = env.config();
  config.outbox_batch_size = 2;
  auto ctx = env.context(config);
  auto publisher = env.publisher();

  const RelayReport report = OutboxRelay(*ctx, *publisher).drain(in(seconds(60)));

  EXPECT_EQ(report.failed, 1);
  EXPECT_EQ(report.succeeded, 5);
  EXPECT_EQ(row(env.db(), failed).retry_count, 1);
}

TEST_P(RelayTest, AnEventFailingItsLastRetryIsDeadAndNotRetriedUntilRequeued) {
  SeedEvent e;
  e.aggregate_id = "p-1";
  e.event_type = "PAYMENT_COMPLETED";
  e.payload = R"({"order_code":"TB-1"})";
  e.created_at = now_utc() - std::chrono::minutes(5);
  e.retry_count = 2;
  e.last_error = "kafka: Local: Message timed out";
  const std::string id = insert_event(env.db(), e);
  rd_kafka_mock_topic_set_error(env.cluster().mock(), "payment.completed",
                                RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  auto ctx = env.context();
  auto publisher = env.publisher();

  const RelayReport third = OutboxRelay(*ctx, *publisher).drain(in(seconds(30)));
  EXPECT_EQ(third.dead, 1);
  EXPECT_EQ(row(env.db(), id).retry_count, 3);

  // Kafka is fine again, but a dead event waits for a person.
  rd_kafka_mock_topic_set_error(env.cluster().mock(), "payment.completed",
                                RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_EQ(OutboxRelay(*ctx, *publisher).drain(in(seconds(30))).processed, 0);
  EXPECT_FALSE(row(env.db(), id).published);

  const std::vector<std::string> ids{id};
  ASSERT_EQ(*ctx->db->outbox().requeue(ids, 3), 1u);
  RelayReport after;
  // The topic's error clears from the producer's metadata within a second or so.
  for (int attempt = 0; attempt < 20 && after.succeeded == 0; ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(milliseconds(300));
      ASSERT_TRUE(ctx->db->outbox().requeue(ids, 3).ok());
    }
    after = OutboxRelay(*ctx, *publisher).drain(in(seconds(30)));
  }
  EXPECT_EQ(after.succeeded, 1);
  EXPECT_TRUE(row(env.db(), id).published);
}

TEST_P(RelayTest, EventsOfOnePaymentGoOutInCreatedAtOrder) {
  // Inserted out of order: createdAt, not insertion, decides.
  seed("p-1", "PAYMENT_COMPLETED", 30, {{"sequence", 3}});
  seed("p-1", "PAYMENT_COMPLETED", 10, {{"sequence", 1}});
  seed("p-1", "PAYMENT_COMPLETED", 20, {{"sequence", 2}});
  seed("p-2", "PAYMENT_COMPLETED", 15, {{"sequence", 1}});
  auto ctx = env.context();

  const RelayReport report = OutboxRelay(*ctx).drain(in(seconds(30)));

  EXPECT_EQ(report.succeeded, 4);
  auto consumed = consume_payment_topics(env.bootstrap(), 4);
  ASSERT_EQ(consumed.size(), 4u);
  // One key, one partition: the offsets are the order the relay produced them in.
  std::sort(consumed.begin(), consumed.end(),
            [](const auto& a, const auto& b) { return a.offset < b.offset; });
  std::vector<int> sequence_of_p1;
  for (const auto& m : consumed)
    if (m.key == "p-1") sequence_of_p1.push_back(nlohmann::json::parse(m.value)["sequence"]);
  EXPECT_EQ(sequence_of_p1, (std::vector<int>{1, 2, 3}));
}

TEST_P(RelayTest, DrainsABacklogInBatchesOfTheConfiguredSize) {
  const auto ids = seed_events(env.db(), 35, 1);
  Config config = env.config();
  config.outbox_batch_size = 10;
  auto ctx = env.context(config);

  const RelayReport report = OutboxRelay(*ctx).drain(in(seconds(60)));

  EXPECT_EQ(report.succeeded, 35);
  EXPECT_EQ(report.batches, 4);
  EXPECT_FALSE(report.budget_exhausted);
  EXPECT_EQ(consume_payment_topics(env.bootstrap(), ids.size()).size(), ids.size());
}

// Publishes through Kafka and, during each of its first `arrivals` publishes, commits one more
// event: a steady stream of callbacks landing while the relay's batch is out.
class StreamingPublisher : public EventPublisher {
 public:
  StreamingPublisher(EventPublisher& kafka, TestDatabase& db, int arrivals)
      : kafka_(kafka), db_(db), arrivals_(arrivals) {}
  std::vector<DeliveryOutcome> publish(std::span<const OutgoingMessage> messages,
                                       std::chrono::milliseconds timeout) override {
    if (arrivals_ > 0) {
      --arrivals_;
      SeedEvent e;
      e.aggregate_id = "late-" + std::to_string(arrivals_);
      e.created_at = now_utc();
      arrived.push_back(insert_event(db_, e));
    }
    return kafka_.publish(messages, timeout);
  }
  std::string describe() const override { return kafka_.describe(); }
  std::vector<std::string> arrived;

 private:
  EventPublisher& kafka_;
  TestDatabase& db_;
  int arrivals_;
};

TEST_P(RelayTest, ARunThatEndsWhenCaughtUpLeavesWhatCommittedDuringItToTheNextRun) {
  seed_events(env.db(), 3, 1);
  auto ctx = env.context();
  StreamingPublisher stream(ctx->publisher(), env.db(), 5);
  OutboxRelay relay(*ctx, stream);
  relay.end_runs_when_caught_up(true);

  const RelayReport first = relay.drain(in(seconds(60)));
  EXPECT_EQ(first.succeeded, 3);
  EXPECT_EQ(first.batches, 1);
  EXPECT_FALSE(first.last_batch_full);  // serve waits its idle poll before the next run
  ASSERT_EQ(stream.arrived.size(), 1u);
  EXPECT_FALSE(row(env.db(), stream.arrived[0]).published);

  const RelayReport second = relay.drain(in(seconds(60)));
  EXPECT_EQ(second.succeeded, 1);
  EXPECT_TRUE(row(env.db(), stream.arrived[0]).published);
}

TEST_P(RelayTest, AOneShotDrainAlsoTakesWhatCommittedWhileItRan) {
  seed_events(env.db(), 3, 1);
  auto ctx = env.context();
  StreamingPublisher stream(ctx->publisher(), env.db(), 5);

  const RelayReport report = OutboxRelay(*ctx, stream).drain(in(seconds(60)));

  EXPECT_EQ(report.succeeded, 8);
  EXPECT_FALSE(report.budget_exhausted);
  for (const OutboxRow& r : outbox_rows(env.db())) EXPECT_TRUE(r.published) << r.id;
  EXPECT_EQ(consume_payment_topics(env.bootstrap(), 8).size(), 8u);
}

// The Node.js relay marked what it published by setting only "publishedAt".
TEST_P(RelayTest, RowsTheNodeRelayPublishedAreNeverRepublishedAndAreFlaggedPublished) {
  std::map<std::string, std::string> node_rows;  // id -> publishedAt
  for (int i = 0; i < 30; ++i) {
    SeedEvent e;
    e.aggregate_id = "old-" + std::to_string(i % 7);
    e.created_at = now_utc() - std::chrono::hours(24 * 20) + std::chrono::minutes(i);
    e.published_at = e.created_at + std::chrono::seconds(3);
    const auto id = insert_event(env.db(), e);
    node_rows[id] = *row(env.db(), id).published_at;
  }
  const auto pending = seed_events(env.db(), 12, 1);
  Config config = env.config();
  config.outbox_batch_size = 5;
  auto ctx = env.context(config);

  const RelayReport report = OutboxRelay(*ctx).drain(in(seconds(60)));

  EXPECT_EQ(report.succeeded, 12);
  EXPECT_EQ(report.processed, 12);
  const auto consumed = consume_payment_topics(env.bootstrap(), pending.size());
  std::set<std::string> sent;
  for (const auto& m : consumed) sent.insert(m.headers.at("eventId"));
  EXPECT_EQ(sent, std::set<std::string>(pending.begin(), pending.end()));
  EXPECT_EQ(consumed.size(), pending.size());
  for (const auto& [id, at] : node_rows) {
    const OutboxRow r = row(env.db(), id);
    EXPECT_TRUE(r.published) << id;
    EXPECT_EQ(r.published_at, at) << "publishedAt kept: " << id;
  }
}

// Flagging many Node.js rows takes several runs. Meanwhile each run of one relay starts its
// walk for the oldest pending event later than the last, but never past an event that
// committed after the last run with an older createdAt (its transaction began earlier).
TEST_P(RelayTest, WhileNodeRowsAreFlaggedALaterRunStillFindsAnEventThatCommittedLate) {
  constexpr int kNodeRows = 60000;  // more than a run flags: the flagging is not done
  const std::string created = to_sql_timestamp(now_utc() - std::chrono::hours(24 * 20));
  const std::string cast = env.db().engine() == Engine::Postgres ? "::timestamp" : "";
  env.db().exec(R"sql(
    WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < )sql" +
                    std::to_string(kNodeRows) + R"sql()
    INSERT INTO outbox (id, "aggregateId", "aggregateType", "eventType", payload, published,
                        "publishedAt", "createdAt")
    SELECT 'node-' || i, 'old-' || (i % 7), 'Payment', 'PAYMENT_COMPLETED', '{}', false,
           $1)sql" + cast + ", $1" + cast + " FROM g",
                {created});
  const std::string first = seed("p-1", "PAYMENT_COMPLETED", 50);  // 10 minutes ago
  auto ctx = env.context();
  OutboxRelay relay(*ctx);

  ASSERT_EQ(relay.drain(in(seconds(60))).succeeded, 1);
  const auto unflagged = [&] {
    return env.db().count(
        R"(SELECT count(*) FROM outbox WHERE published = false AND "publishedAt" IS NOT NULL)");
  };
  ASSERT_GT(unflagged(), 0) << "the flagging must still be under way for the second run";

  // Committed just now, created 40 minutes ago: older than the event the first run found.
  const std::string late = seed("p-2", "PAYMENT_COMPLETED", 20);
  const std::string fresh = seed("p-3", "PAYMENT_COMPLETED", 59);
  const RelayReport second = relay.drain(in(seconds(60)));

  EXPECT_EQ(second.succeeded, 2);
  EXPECT_TRUE(row(env.db(), late).published);
  EXPECT_TRUE(row(env.db(), fresh).published);
  std::set<std::string> sent;
  for (const auto& m : consume_payment_topics(env.bootstrap(), 3))
    sent.insert(m.headers.at("eventId"));
  EXPECT_EQ(sent, (std::set<std::string>{first, late, fresh}));
  EXPECT_LT(unflagged(), kNodeRows) << "each run flags some";
}

TEST_P(RelayTest, ASpentBudgetStopsBeforeClaiming) {
  seed_events(env.db(), 3, 1);
  auto ctx = env.context();

  const RelayReport report = OutboxRelay(*ctx).drain(std::chrono::steady_clock::now());

  EXPECT_TRUE(report.budget_exhausted);
  EXPECT_EQ(report.processed, 0);
  for (const auto& r : outbox_rows(env.db())) EXPECT_FALSE(r.published);
}

TEST_P(RelayTest, KafkaDownMarksNothingPublishedAndEverythingGoesOutOnceItIsBack) {
  const auto ids = seed_events(env.db(), 20, 2);
  Config config = env.config();
  config.outbox_batch_size = 10;
  auto ctx = env.context(config);
  auto publisher = env.publisher();
  ASSERT_TRUE(publisher->ready(seconds(5)).ok());
  rd_kafka_mock_broker_set_down(env.cluster().mock(), 1);

  OutboxRelay relay(*ctx, *publisher);
  const RelayReport down = relay.drain(in(seconds(30)));

  EXPECT_TRUE(down.publisher_stalled);
  EXPECT_EQ(down.succeeded, 0);
  EXPECT_EQ(down.batches, 1);  // stopped after the first batch went nowhere
  EXPECT_EQ(down.failed, 10);
  for (const auto& r : outbox_rows(env.db())) {
    EXPECT_FALSE(r.published);
    EXPECT_FALSE(r.published_at.has_value());
  }

  // Still down: the next run sees no broker and spends no retry.
  const RelayReport still_down = relay.drain(in(seconds(30)));
  EXPECT_TRUE(still_down.publisher_stalled);
  EXPECT_EQ(still_down.processed, 0);
  int retried = 0;
  for (const auto& r : outbox_rows(env.db())) retried += r.retry_count;
  EXPECT_EQ(retried, 10);

  rd_kafka_mock_broker_set_up(env.cluster().mock(), 1);
  RelayReport back;
  for (int attempt = 0; attempt < 20; ++attempt) {  // until the producer has reconnected
    back = relay.drain(in(seconds(30)));
    if (!back.publisher_stalled) break;
    std::this_thread::sleep_for(milliseconds(250));
  }
  EXPECT_EQ(back.succeeded, 40);
  for (const auto& r : outbox_rows(env.db())) EXPECT_TRUE(r.published) << r.id;
  std::set<std::string> on_kafka;
  for (const auto& m : consume_payment_topics(env.bootstrap(), ids.size()))
    on_kafka.insert(m.headers.at("eventId"));
  for (const auto& id : ids) EXPECT_TRUE(on_kafka.count(id)) << id;
}

TEST_P(RelayTest, RefusedProduceRequestsMarkNothingPublishedAndEverythingGoesOutAfterwards) {
  const auto ids = seed_events(env.db(), 10, 1);
  auto ctx = env.context();
  auto publisher = env.publisher();
  ASSERT_TRUE(publisher->ready(seconds(5)).ok());
  std::vector<rd_kafka_resp_err_t> errors(1000, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  rd_kafka_mock_push_request_errors_array(env.cluster().mock(), 0 /* Produce */, errors.size(),
                                          errors.data());
  OutboxRelay relay(*ctx, *publisher);

  const RelayReport refused = relay.drain(in(seconds(30)));

  EXPECT_EQ(refused.succeeded, 0);
  EXPECT_EQ(refused.failed, 10);
  for (const auto& r : outbox_rows(env.db())) {
    EXPECT_FALSE(r.published);
    EXPECT_EQ(r.retry_count, 1);
    EXPECT_TRUE(r.last_error.has_value());
  }

  rd_kafka_mock_clear_request_errors(env.cluster().mock(), 0);
  const RelayReport after = relay.drain(in(seconds(30)));
  EXPECT_EQ(after.succeeded, 10);
  for (const auto& r : outbox_rows(env.db())) EXPECT_TRUE(r.published);
  std::set<std::string> on_kafka;
  for (const auto& m : consume_payment_topics(env.bootstrap(), ids.size()))
    on_kafka.insert(m.headers.at("eventId"));
  for (const auto& id : ids) EXPECT_TRUE(on_kafka.count(id)) << id;
}

TEST_P(RelayTest, WithoutBrokersEventsAreAppendedAsDocumentedJsonLines) {
  const std::string completed = seed("p-1", "PAYMENT_COMPLETED", 1);
  const std::string cancelled = seed("p-2", "PaymentCancelled", 2);
  Config config = env.config();
  config.kafka.brokers.clear();
  config.events_file =
      ::testing::TempDir() + "tbpay-relay-" + to_string(GetParam()) + "/var/events.jsonl";
  std::filesystem::remove_all(
      std::filesystem::path(config.events_file).parent_path().parent_path());
  auto ctx = env.context(config);

  EXPECT_EQ(OutboxRelay(*ctx).drain(in(seconds(30))).succeeded, 2);

  std::ifstream in_file(config.events_file);
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(in_file, line);) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 2u);
  for (const auto& line : lines) {
    const OutboxRow r = row(env.db(), line["headers"]["eventId"]);
    EXPECT_TRUE(r.published);
    EXPECT_EQ(line, (nlohmann::json{
                        {"topic", r.id == completed ? "payment.completed" : "payment.cancelled"},
                        {"key", r.aggregate_id},
                        {"headers",
                         {{"eventId", r.id},
                          {"eventType", r.event_type},
                          {"aggregateType", "Payment"},
                          {"content-type", "application/json"}}},
                        {"value", r.payload}}));
  }
  (void)cancelled;
  std::filesystem::remove_all(
      std::filesystem::path(config.events_file).parent_path().parent_path());
}

INSTANTIATE_TEST_SUITE_P(Engines, RelayTest, ::testing::ValuesIn(all_engines()), EngineName{});

TEST(RelayWithoutDatabase, AnUnreachableDatabaseStopsTheRunWithAnError) {
  kafka::EmbeddedCluster cluster(1);
  Config config;
  config.database_url = "postgresql://tbpay@127.0.0.1:1/nowhere?connect_timeout=2";
  config.kafka.brokers = cluster.bootstrap();
  auto ctx = make_context(config);
  ctx->log = Logger(LogLevel::Error);

  const RelayReport report = OutboxRelay(*ctx).drain(in(seconds(30)));

  ASSERT_TRUE(report.store_error.has_value());
  EXPECT_EQ(report.processed, 0);
  EXPECT_TRUE(to_json(report).contains("error"));
}

}  // namespace
}  // namespace tbpay::test
