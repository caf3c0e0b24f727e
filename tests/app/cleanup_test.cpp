// Outbox cleanup on PostgreSQL and SQLite: what is deleted, in chunks, and the dead-event alert.
#include "app/cleanup.h"

#include <filesystem>
#include <fstream>

#include "app/relay_fixture.h"

namespace tbpay::test {
namespace {

using std::chrono::days;
using std::chrono::hours;

class CleanupTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    db = make_test_database(GetParam());
    db->migrate();
    log_file = ::testing::TempDir() + "tbpay-cleanup-" + to_string(GetParam()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".log";
    std::filesystem::remove(log_file);
    Config config;
    config.outbox_retention_days = 7;
    config.outbox_max_retries = 3;
    ctx = make_test_context(*db, config);
    ctx->log = Logger(LogLevel::Info, log_file);
  }
  void TearDown() override { std::filesystem::remove(log_file); }

  std::string seed(Timestamp created, bool published, std::optional<Timestamp> published_at = {},
                   int retries = 0, std::optional<std::string> last_error = {}) {
    SeedEvent e;
    e.aggregate_id = "p-" + std::to_string(++n);
    e.created_at = created;
    e.published = published;
    e.published_at = published_at;
    e.retry_count = retries;
    e.last_error = last_error;
    return insert_event(*db, e);
  }

  std::vector<nlohmann::json> log_lines() {
    ctx->log.flush();
    std::vector<nlohmann::json> lines;
    std::ifstream in(log_file);
    for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
    return lines;
  }

  std::unique_ptr<TestDatabase> db;
  std::unique_ptr<Context> ctx;
  std::string log_file;
  int n = 0;
  const Timestamp now = now_utc();
};

TEST_P(CleanupTest, DeletesOnlyPublishedEventsPastRetentionInBoundedChunks) {
  std::set<std::string> kept;
  for (int i = 0; i < 25; ++i) seed(now - days(12), true, now - days(8) - hours(i));
  kept.insert(seed(now - days(12), true, now - days(6)));  // published, within retention
  kept.insert(seed(now - days(1), true, now - hours(1)));
  kept.insert(seed(now - days(20), false));  // pending, however old
  kept.insert(seed(now - days(20), false, {}, 3, "kafka: Local: Message timed out"));  // dead

  const CleanupReport report = OutboxCleanup(*ctx, 10).run(now);

  EXPECT_FALSE(report.store_error.has_value());
  EXPECT_EQ(report.deleted, 25);
  EXPECT_EQ(report.chunks, 3);  // 10 + 10 + 5
  std::set<std::string> left;
  for (const auto& r : outbox_rows(*db)) left.insert(r.id);
  EXPECT_EQ(left, kept);
  EXPECT_EQ(report.dead, 1);
  EXPECT_EQ(report.stats.total, 4);
  EXPECT_EQ(report.stats.published, 2);
  EXPECT_EQ(report.stats.pending, 1);
  EXPECT_EQ(report.stats.dead, 1);
  ASSERT_TRUE(report.stats.oldest_pending_age_minutes.has_value());
  EXPECT_NEAR(*report.stats.oldest_pending_age_minutes, 20 * 24 * 60, 1);
}

// The Node.js relay marked what it published by setting only "publishedAt"; its cleanup
// deleted by "publishedAt". Such rows go by the same rule, with no step at cut-over.
TEST_P(CleanupTest, RowsTheNodeRelayPublishedAreDeletedByPublishedAtAge) {
  std::set<std::string> kept;
  for (int i = 0; i < 12; ++i) seed(now - days(20), false, now - days(20) + hours(i));
  kept.insert(seed(now - days(3), false, now - days(3)));  // within retention
  kept.insert(seed(now - days(20), false));                // pending, however old

  const CleanupReport report = OutboxCleanup(*ctx, 5).run(now);

  EXPECT_FALSE(report.store_error.has_value());
  EXPECT_EQ(report.deleted, 12);
  EXPECT_EQ(report.normalized, 13);
  std::set<std::string> left;
  for (const auto& r : outbox_rows(*db)) left.insert(r.id);
  EXPECT_EQ(left, kept);
  EXPECT_EQ(report.stats.total, 2);
  EXPECT_EQ(report.stats.published, 1);
  EXPECT_EQ(report.stats.published_at_only, 0);
  EXPECT_EQ(report.stats.pending, 1);
  EXPECT_EQ(to_json(report)["stats"]["published_at_only"], 0);
}

TEST_P(CleanupTest, ResultHasTheDocumentedShape) {
  seed(now - days(10), true, now - days(9));
  seed(now - hours(2), false);

  const nlohmann::json j = to_json(OutboxCleanup(*ctx).run(now));

  EXPECT_EQ(j["deleted"], 1);
  EXPECT_EQ(j["dead"], 0);
  EXPECT_EQ(j["stats"]["total"], 1);
  EXPECT_EQ(j["stats"]["published"], 0);
  EXPECT_EQ(j["stats"]["pending"], 1);
  EXPECT_EQ(j["stats"]["dead"], 0);
  EXPECT_NEAR(j["stats"]["oldest_pending_age_minutes"].get<double>(), 120, 1);
  EXPECT_FALSE(j.contains("error"));
}

TEST_P(CleanupTest, DeadEventsAreReportedInAnErrorLineWithAlertTrue) {
  const std::string dead =
      seed(now - days(2), false, {}, 3, "unknown event type PAYMENT_REFUNDED: no topic");
  seed(now - days(1), false);

  const CleanupReport report = OutboxCleanup(*ctx).run(now);

  EXPECT_EQ(report.dead, 1);
  int alerts = 0;
  for (const auto& line : log_lines()) {
    if (!line.contains("alert")) continue;
    ++alerts;
    EXPECT_EQ(line["alert"], true);
    EXPECT_EQ(line["level"], "error");
    EXPECT_EQ(line["dead"], 1);
    ASSERT_EQ(line["events"].size(), 1u);
    EXPECT_EQ(line["events"][0]["eventId"], dead);
    EXPECT_EQ(line["events"][0]["lastError"], "unknown event type PAYMENT_REFUNDED: no topic");
  }
  EXPECT_EQ(alerts, 1);
}

TEST_P(CleanupTest, NoDeadEventsNoAlert) {
  seed(now - days(9), true, now - days(8));
  seed(now - days(1), false, {}, 2, "kafka: Local: Message timed out");  // failing, not dead yet

  const CleanupReport report = OutboxCleanup(*ctx).run(now);

  EXPECT_EQ(report.dead, 0);
  for (const auto& line : log_lines()) EXPECT_FALSE(line.contains("alert")) << line.dump();
}

TEST_P(CleanupTest, RetentionComesFromConfiguration) {
  Config config;
  config.outbox_retention_days = 30;
  auto long_ctx = make_test_context(*db, config);
  long_ctx->log = Logger(LogLevel::Error);
  seed(now - days(40), true, now - days(31));
  const std::string recent = seed(now - days(40), true, now - days(29));

  EXPECT_EQ(OutboxCleanup(*long_ctx).run(now).deleted, 1);
  ASSERT_EQ(outbox_rows(*db).size(), 1u);
  EXPECT_EQ(outbox_rows(*db)[0].id, recent);
}

INSTANTIATE_TEST_SUITE_P(Engines, CleanupTest, ::testing::ValuesIn(all_engines()), EngineName{});

TEST(CleanupWithoutDatabase, AnUnreachableDatabaseIsReportedAsAnError) {
  Config config;
  config.database_url = "postgresql://tbpay@127.0.0.1:1/nowhere?connect_timeout=2";
  auto ctx = make_context(config);
  ctx->log = Logger(LogLevel::Error);

  const CleanupReport report = OutboxCleanup(*ctx).run(now_utc());

  ASSERT_TRUE(report.store_error.has_value());
  EXPECT_TRUE(to_json(report).contains("error"));
}

}  // namespace
}  // namespace tbpay::test
