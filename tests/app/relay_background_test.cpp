// The outbox work of `tbpay serve`: events committed while it runs reach Kafka without anyone
// calling the relay, cleanup runs on its own, and stop() ends both.
#include "app/background.h"

#include <mutex>
#include <thread>

#include "app/relay_fixture.h"
#include "app/serve_metrics.h"
#include "observability/metrics.h"
#include "support/promtool.h"

namespace tbpay::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Waits (up to `limit`) until `done` holds; returns whether it did.
template <class F>
bool eventually(F done, std::chrono::steady_clock::duration limit = seconds(20)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return true;
}

class BackgroundTest : public ::testing::TestWithParam<Engine> {
 protected:
  RelayEnvironment env{GetParam()};
  std::mutex metric_mutex;
  std::vector<std::string> metric_lines;
  Metrics metrics{"serve", [this](std::string_view line) {
                    std::lock_guard lock(metric_mutex);
                    metric_lines.emplace_back(line);
                  }};

  OutboxBackgroundOptions fast() {
    OutboxBackgroundOptions o;
    o.idle_poll = milliseconds(100);
    o.first_cleanup_after = milliseconds(0);
    o.cleanup_every = std::chrono::hours(1);
    return o;
  }
  std::int64_t published() {
    return env.db().count("SELECT count(*) FROM outbox WHERE published = true");
  }
};

TEST_P(BackgroundTest, EventsCommittedWhileServingReachKafkaAndCleanupRunsOnItsOwn) {
  SeedEvent old;
  old.aggregate_id = "p-old";
  old.created_at = now_utc() - std::chrono::days(30);
  old.published = true;
  old.published_at = now_utc() - std::chrono::days(29);
  const std::string old_id = insert_event(env.db(), old);
  auto ctx = env.context();
  OutboxBackground background(*ctx, metrics, fast());

  // Cleanup ran at start: the event past retention is gone.
  EXPECT_TRUE(eventually([&] { return env.db().count("SELECT count(*) FROM outbox") == 0; }));

  // As webhooks commit them, one after the other.
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(seed_events(env.db(), 1, 1)[0]);
    std::this_thread::sleep_for(milliseconds(30));
  }
  EXPECT_TRUE(eventually([&] { return published() == 5; })) << published() << " of 5 published";
  background.stop();

  std::set<std::string> on_kafka;
  for (const auto& m : consume_payment_topics(env.bootstrap(), ids.size()))
    on_kafka.insert(m.headers.at("eventId"));
  EXPECT_EQ(on_kafka, std::set<std::string>(ids.begin(), ids.end()));
  metrics.flush();
  std::lock_guard lock(metric_mutex);
  std::string all;
  for (const auto& l : metric_lines) all += l;
  EXPECT_NE(all.find("RelaySucceeded"), std::string::npos) << all;
  EXPECT_NE(all.find("CleanupDeleted"), std::string::npos) << all;
}

// What `serve` exposes on /metrics: runs and events counted, the outbox gauges read by the
// background (never by a scrape), and an exposition Prometheus's parser accepts.
TEST_P(BackgroundTest, RelayAndCleanupRunsMoveTheExposedMetrics) {
  SeedEvent old;
  old.aggregate_id = "p-old";
  old.created_at = now_utc() - std::chrono::days(30);
  old.published = true;
  old.published_at = now_utc() - std::chrono::days(29);
  insert_event(env.db(), old);
  SeedEvent dead;
  dead.aggregate_id = "p-dead";
  dead.created_at = now_utc() - std::chrono::hours(2);
  dead.retry_count = 3;
  insert_event(env.db(), dead);
  auto ctx = env.context();
  ServeMetrics exposed(*ctx->db);
  auto options = fast();
  options.stats_every = milliseconds(100);
  OutboxBackground background(*ctx, metrics, exposed, options);

  const auto ids = seed_events(env.db(), 3, 1);
  auto sample = [&](const std::string& series) {
    auto s = samples(exposed.render());
    return s.count(series) ? s.at(series) : -1.0;
  };
  EXPECT_TRUE(eventually([&] {
    return sample("tbpay_relay_events_total{outcome=\"published\"}") == 3 &&
           sample("tbpay_cleanup_runs_total") == 1 && sample("tbpay_outbox_pending_events") == 0;
  })) << exposed.render();
  background.stop();

  const std::string text = exposed.render();
  const auto check = check_metrics(text);
  EXPECT_EQ(check.exit_code, 0) << check.output << "\n" << text;
  const auto s = samples(text);
  EXPECT_EQ(s.at("tbpay_cleanup_deleted_events_total"), 1);
  EXPECT_EQ(s.at("tbpay_cleanup_run_failures_total"), 0);
  EXPECT_GE(s.at("tbpay_relay_runs_total"), 1);
  EXPECT_EQ(s.at("tbpay_relay_run_failures_total"), 0);
  EXPECT_EQ(s.at("tbpay_outbox_dead_events"), 1);
  EXPECT_EQ(s.at("tbpay_outbox_oldest_pending_age_seconds"), 0);
  EXPECT_NEAR(s.at("tbpay_outbox_stats_timestamp_seconds"),
              std::chrono::duration<double>(now_utc().time_since_epoch()).count(), 60);
}

// An idle relay's runs are counted as zeros, as a Lambda invocation that finds nothing is.
TEST_P(BackgroundTest, IdleRunsAreCountedAsZeros) {
  auto ctx = env.context();
  ServeMetrics exposed(*ctx->db);
  OutboxBackground background(*ctx, metrics, exposed, fast());
  EXPECT_TRUE(eventually([&] {
    return samples(exposed.render()).at("tbpay_relay_runs_total") >= 2;
  })) << exposed.render();
  background.stop();
  metrics.flush();
  std::lock_guard lock(metric_mutex);
  std::optional<double> processed, succeeded;
  for (const auto& l : metric_lines) {
    const auto line = nlohmann::json::parse(l);
    if (line.contains("RelayProcessed")) processed = line["RelayProcessed"].get<double>();
    if (line.contains("RelaySucceeded")) succeeded = line["RelaySucceeded"].get<double>();
  }
  EXPECT_EQ(processed, 0.0);
  EXPECT_EQ(succeeded, 0.0);
}

// Kafka down: each run that meets it is a failed run, and no event is counted published.
TEST_P(BackgroundTest, RunsKafkaRefusesCountAsRelayFailures) {
  auto ctx = env.context();
  ASSERT_TRUE(ctx->publisher().ready(seconds(5)).ok());
  rd_kafka_mock_broker_set_down(env.cluster().mock(), 1);
  ServeMetrics exposed(*ctx->db);
  OutboxBackground background(*ctx, metrics, exposed, fast());
  seed_events(env.db(), 2, 1);
  EXPECT_TRUE(eventually([&] {
    return samples(exposed.render()).at("tbpay_relay_run_failures_total") >= 1;
  })) << exposed.render();
  rd_kafka_mock_broker_set_up(env.cluster().mock(), 1);
  background.stop();
  EXPECT_EQ(samples(exposed.render()).at("tbpay_relay_events_total{outcome=\"published\"}"),
            published());
}

TEST_P(BackgroundTest, AfterKafkaComesBackTheWaitingEventsGoOut) {
  auto ctx = env.context();
  ASSERT_TRUE(ctx->publisher().ready(seconds(5)).ok());
  rd_kafka_mock_broker_set_down(env.cluster().mock(), 1);
  OutboxBackground background(*ctx, metrics, fast());
  const auto ids = seed_events(env.db(), 4, 1);
  // A run meets the outage: the batch it claimed spends one retry (however long the loaded
  // machine takes to get there), and nothing is published.
  ASSERT_TRUE(eventually(
      [&] { return env.db().count(R"(SELECT count(*) FROM outbox WHERE "retryCount" > 0)") > 0; },
      seconds(60)));
  std::this_thread::sleep_for(seconds(1));  // room for later runs, which must not claim again
  EXPECT_EQ(published(), 0);

  rd_kafka_mock_broker_set_up(env.cluster().mock(), 1);

  EXPECT_TRUE(eventually([&] { return published() == 4; }, seconds(30)))
      << published() << " of 4 published";
  // The outage cost each event at most the one retry of the batch it hit.
  for (const auto& r : outbox_rows(env.db())) EXPECT_LE(r.retry_count, 1) << r.id;
}

TEST_P(BackgroundTest, StopEndsBothLoopsAndCanBeCalledTwice) {
  auto ctx = env.context();
  OutboxBackground background(*ctx, metrics, fast());
  background.stop();
  background.stop();
  // Stopped: an event committed now stays pending.
  const auto ids = seed_events(env.db(), 1, 1);
  EXPECT_FALSE(row(env.db(), ids[0]).published);
}

INSTANTIATE_TEST_SUITE_P(Engines, BackgroundTest, ::testing::ValuesIn(all_engines()), EngineName{});

}  // namespace
}  // namespace tbpay::test
