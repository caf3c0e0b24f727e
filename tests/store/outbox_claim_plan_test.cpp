// The PostgreSQL outbox claim reads a bounded number of rows however large the backlog and
// whatever the planner's statistics say. The trap this guards against: the table's normal
// state is "everything published"; an ANALYZE that saw it makes PostgreSQL expect about one
// pending row, and a burst of pending events is then claimed by plans that read the whole
// backlog for every batch (seconds per batch at production sizes).
//
// The test asks PostgreSQL itself: EXPLAIN ANALYZE of the very statement tbpay prepares, as a
// custom plan and then as the generic plan PostgreSQL switches to after five executions, and
// counts the rows each scan of the outbox read (returned plus removed by a filter).

#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "store/postgres/outbox_claim_sql.h"
#include "support/outbox_seed.h"
#include "support/plan_scans.h"
#include "support/test_database.h"

namespace tbpay::test {
namespace {

constexpr int kPublished = 20000;
constexpr int kPending = 5000;
constexpr int kLimit = 100;
constexpr int kWindow = 4 * kLimit;  // what PgOutboxStore::claim_batch passes as $2

class OutboxClaimPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::make_unique<PgTestDatabase>();
    db_->migrate();
    seed_published_outbox(*db_, kPublished);
  }

  // A burst of pending events the statistics have not seen; `payments` of them in turn.
  void add_pending_burst(int payments) {
    db_->exec(R"sql(
      INSERT INTO outbox (id, "aggregateId", "aggregateType", "eventType", payload, "createdAt")
      SELECT 'pending-' || g, 'burst-' || (g % $2::integer), 'Payment', 'PaymentCompleted',
             '{}'::jsonb, '2025-12-13 07:00:00'::timestamp + g * interval '1 ms'
        FROM generate_series(1, $1::integer) g)sql",
              {std::to_string(kPending), std::to_string(payments)});
  }

  // The scans of the outbox in each of `runs` EXPLAIN ANALYZE executions of the claim, and the
  // number of rows each execution claimed. Rolled back: nothing stays locked or changed.
  std::vector<std::pair<std::vector<Scan>, long long>> explain_claims(
      int runs, const std::string& created_from = "-infinity") {
    db_->exec(std::string("PREPARE plan_claim(integer, integer, text[], integer, timestamp) AS ") +
              pg::kClaimSql);
    std::vector<std::pair<std::vector<Scan>, long long>> result;
    for (int i = 0; i < runs; ++i) {
      db_->exec(pg::kClaimBegin);  // as PgOutboxStore does
      const auto rows = db_->query("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE plan_claim(3, " +
                                   std::to_string(kWindow) + ", '{}', " + std::to_string(kLimit) +
                                   ", '" + created_from + "')");
      db_->exec("ROLLBACK");
      EXPECT_EQ(rows.size(), 1u);
      const auto plan = nlohmann::json::parse(rows.at(0).at(0).value())[0]["Plan"];
      std::vector<Scan> scans;
      collect_scans(plan, "outbox", scans);
      result.emplace_back(std::move(scans), plan.value("Actual Rows", 0LL));
    }
    db_->exec("DEALLOCATE plan_claim");
    return result;
  }

  void expect_bounded(int payments) {
    add_pending_burst(payments);
    // Six runs: five custom plans, then the generic plan PostgreSQL caches.
    for (const auto& [scans, claimed] : explain_claims(6)) {
      EXPECT_EQ(claimed, kLimit) << "a full batch is claimed";
      ASSERT_FALSE(scans.empty());
      for (const auto& scan : scans) {
        // The window ($2 rows, plus the ties of its newest createdAt, none here) bounds every
        // scan; the old plans read all 5,000 pending rows, some of them for every batch.
        EXPECT_LE(scan.read, kWindow)
            << scan.node << " " << scan.index << " read " << scan.read << " rows of a " << kPending
            << "-event backlog for a claim of " << kLimit;
      }
    }
  }

  std::unique_ptr<PgTestDatabase> db_;
};

// The candidates the index walk found are fetched and locked where that walk read them (a TID
// scan), not looked up again one by one through the primary key: half the buffers per event.
TEST_F(OutboxClaimPlanTest, TheClaimLocksItsCandidatesByTheirAddressNotThroughThePrimaryKey) {
  add_pending_burst(kPending);
  for (const auto& [scans, claimed] : explain_claims(6)) {
    EXPECT_EQ(claimed, kLimit);
    int by_address = 0;
    for (const auto& scan : scans) {
      EXPECT_NE(scan.index, "outbox_pkey") << scan.node;
      if (scan.node == "Tid Scan") ++by_address;
    }
    EXPECT_EQ(by_address, 1);
  }
}

TEST_F(OutboxClaimPlanTest, AStatisticsBlindBurstOfOneEventPerPaymentIsClaimedFromABoundedWindow) {
  expect_bounded(kPending);
}

TEST_F(OutboxClaimPlanTest,
       AStatisticsBlindBurstOfSeveralEventsPerPaymentIsClaimedFromABoundedWindow) {
  expect_bounded(kPending / 5);
}

TEST_F(OutboxClaimPlanTest, AFreshlyAnalyzedBacklogIsClaimedFromABoundedWindow) {
  add_pending_burst(kPending);
  db_->exec("ANALYZE outbox");
  for (const auto& [scans, claimed] : explain_claims(6)) {
    EXPECT_EQ(claimed, kLimit);
    for (const auto& scan : scans) EXPECT_LE(scan.read, kWindow) << scan.node << " " << scan.index;
  }
}

// Rows the Node.js relay published carry only "publishedAt" (published stays false): in the
// index the claim walks they sit among the pending entries, older than all of them, and every
// claim walked past them. Once flagged (OutboxStore::normalize_published, which each relay and
// cleanup run calls), the claim is bounded again.
TEST_F(OutboxClaimPlanTest, RowsOnlyPublishedAtMarksAreOutOfTheClaimsWayOnceFlagged) {
  constexpr int kNodeRows = 20000;
  db_->exec(R"sql(
    INSERT INTO outbox (id, "aggregateId", "aggregateType", "eventType", payload, published,
                        "publishedAt", "createdAt")
    SELECT 'node-' || g, 'node-payment-' || g, 'Payment', 'PaymentCompleted', '{}'::jsonb,
           false, '2025-12-01 05:00:00'::timestamp, '2025-12-01 04:00:00'::timestamp
                                                    + g * interval '1 ms'
      FROM generate_series(1, $1::integer) g)sql",
            {std::to_string(kNodeRows)});
  add_pending_burst(kPending);

  const auto before = explain_claims(1);
  ASSERT_EQ(before.size(), 1u);
  EXPECT_EQ(before[0].second, kLimit);
  long long most = 0;
  for (const auto& scan : before[0].first) most = std::max(most, scan.read);
  EXPECT_GE(most, kNodeRows) << "unflagged, the rows are walked by every claim";

  // A relay run finds the oldest pending event once (OutboxStore::oldest_pending) and its
  // claims start there.
  auto store = db_->open();
  auto oldest = store->outbox().oldest_pending(3, std::nullopt);
  ASSERT_TRUE(oldest && *oldest);
  EXPECT_EQ(to_iso8601(**oldest), "2025-12-13T07:00:00.001Z");
  for (const auto& [scans, claimed] : explain_claims(6, to_sql_timestamp(**oldest))) {
    EXPECT_EQ(claimed, kLimit);
    for (const auto& scan : scans) EXPECT_LE(scan.read, kWindow) << scan.node << " " << scan.index;
  }

  std::size_t flagged = 0;
  for (;;) {
    auto marked = store->outbox().normalize_published(5000);
    ASSERT_TRUE(marked) << marked.error().message;
    flagged += *marked;
    if (*marked < 5000) break;
  }
  EXPECT_EQ(flagged, std::size_t{kNodeRows});

  for (const auto& [scans, claimed] : explain_claims(6)) {
    EXPECT_EQ(claimed, kLimit);
    for (const auto& scan : scans) EXPECT_LE(scan.read, kWindow) << scan.node << " " << scan.index;
  }
}

}  // namespace
}  // namespace tbpay::test
