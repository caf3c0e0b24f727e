// The outbox gauges (pending, dead, age of the oldest pending event) are read every 30 s by
// `serve` and after every relay run. The outbox keeps its published events for the retention
// period (30 days by default), so the statement behind the gauges must read the events still to
// publish, not the table: the test asks PostgreSQL, as outbox_claim_plan_test.cpp does, how
// many rows each scan of the outbox read.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "store/postgres/outbox_backlog_sql.h"
#include "support/outbox_seed.h"
#include "support/plan_scans.h"
#include "support/test_database.h"

namespace tbpay::test {
namespace {

constexpr int kPublished = 20000;
constexpr int kPending = 300;
constexpr int kDead = 20;

class OutboxBacklogPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::make_unique<PgTestDatabase>();
    db_->migrate();
    seed_published_outbox(*db_, kPublished);
    // Then events to publish, and some the relay gave up on (3 tries).
    db_->exec(R"sql(
      INSERT INTO outbox (id, "aggregateId", "aggregateType", "eventType", payload, "retryCount",
                          "createdAt")
      SELECT 'waiting-' || g, 'burst-' || g, 'Payment', 'PaymentCompleted', '{}'::jsonb,
             CASE WHEN g <= $2::integer THEN 3 ELSE 0 END,
             '2025-12-13 07:00:00'::timestamp + g * interval '1 s'
        FROM generate_series(1, $1::integer) g)sql",
              {std::to_string(kPending + kDead), std::to_string(kDead)});
  }

  // The rows each EXPLAIN ANALYZE execution of `sql` ($1 = 3 retries) read from the outbox:
  // six runs, five custom plans and then the generic one PostgreSQL caches.
  std::vector<long long> rows_read(const std::string& sql) {
    db_->exec("PREPARE plan_backlog(integer) AS " + sql);
    std::vector<long long> result;
    for (int i = 0; i < 6; ++i) {
      const auto rows = db_->query("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE plan_backlog(3)");
      EXPECT_EQ(rows.size(), 1u);
      std::vector<Scan> scans;
      collect_scans(nlohmann::json::parse(rows.at(0).at(0).value())[0]["Plan"], "outbox", scans);
      long long read = 0;
      for (const auto& scan : scans) read += scan.read;
      result.push_back(read);
    }
    db_->exec("DEALLOCATE plan_backlog");
    return result;
  }

  std::unique_ptr<PgTestDatabase> db_;
};

TEST_F(OutboxBacklogPlanTest, TheGaugesAreReadFromTheEventsStillToPublishNotTheWholeTable) {
  for (const long long read : rows_read(pg::kBacklogSql.c_str()))
    EXPECT_LE(read, kPending + kDead) << "rows of the outbox read for the gauges";

  // The measure can tell: a count over every row reads the published events too.
  for (const long long read : rows_read("SELECT count(*) FILTER (WHERE $1 > 0) FROM outbox"))
    EXPECT_GE(read, kPublished);
}

TEST_F(OutboxBacklogPlanTest, TheGaugesAgreeWithTheFullCount) {
  auto store = db_->open();
  const auto now = *parse_timestamp("2025-12-13T08:00:00.000Z");
  auto backlog = store->outbox().backlog(now, 3);
  ASSERT_TRUE(backlog) << backlog.error().message;
  auto stats = store->outbox().stats(now, 3);
  ASSERT_TRUE(stats) << stats.error().message;

  EXPECT_EQ(backlog->pending, kPending);
  EXPECT_EQ(backlog->dead, kDead);
  // The oldest pending event is the first after the dead ones: 07:00:21.
  ASSERT_TRUE(backlog->oldest_pending_age_minutes);
  EXPECT_NEAR(*backlog->oldest_pending_age_minutes, 60 - 21.0 / 60, 1e-6);
  EXPECT_EQ(backlog->pending, stats->pending);
  EXPECT_EQ(backlog->dead, stats->dead);
  EXPECT_EQ(backlog->oldest_pending_age_minutes, stats->oldest_pending_age_minutes);
}

}  // namespace
}  // namespace tbpay::test
