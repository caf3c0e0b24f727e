// The reconciler reads stale payments once a run, in `serve` every minute. The core service's
// schema has no index on "createdAt", so that read is a sequential scan of the whole payments
// table: it must be one, for the window and for the payments that left it since the previous
// run together. The test asks PostgreSQL, as the other plan tests do, how often the statement
// read the table and how many rows it read in all.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "store/postgres/pending_between_sql.h"
#include "support/plan_scans.h"
#include "support/test_database.h"

namespace tbpay::test {
namespace {

constexpr int kPayments = 5000;

TEST(PendingBetweenPlanTest, BothPartsComeFromOneReadOfThePaymentsTable) {
  PgTestDatabase db;
  db.create_core_service_schema();
  // One payment a minute, back from 2025-12-13 06:00; every third one settled.
  db.exec(R"sql(
      INSERT INTO payments (id, "orderCode", "amountCents", currency, provider,
                            "providerTransactionId", "idempotencyKey", "redirectUrl", "paymentUrl",
                            status, "createdAt", "updatedAt")
      SELECT 'zp-' || g, 'TB_ZP_' || g, 150000, 'VND'::"Currency", 'ZALOPAY', '251213_TB_ZP_' || g,
             'idem-zp-' || g, 'https://r', 'https://p',
             (CASE WHEN g % 3 = 0 THEN 'COMPLETED' ELSE 'PENDING' END)::"PaymentStatus",
             '2025-12-13 06:00'::timestamp - g * interval '1 minute', now()
        FROM generate_series(1, $1::integer) g)sql",
          {std::to_string(kPayments)});
  db.exec("ANALYZE payments");
  db.exec(std::string("PREPARE plan_pending(timestamp, timestamp, timestamp, text[], bigint) AS ") +
          pg::kPendingBetweenSql);

  // The last 72 hours before 06:00 and the minute before them; at most 10 of each part.
  for (int run = 0; run < 6; ++run) {  // five custom plans, then the generic one
    const auto rows = db.query(
        "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE plan_pending('2025-12-10 05:59', "
        "'2025-12-10 06:00', '2025-12-13 06:00', '{ZALOPAY}', 10)");
    ASSERT_EQ(rows.size(), 1u);
    const auto plan = nlohmann::json::parse(rows.at(0).at(0).value())[0]["Plan"];
    std::vector<Scan> scans;
    collect_scans(plan, "payments", scans);
    // One payment left the window (created at 05:59 on the 10th, PENDING), ten are in it.
    EXPECT_EQ(plan.value("Actual Rows", 0LL), 11) << "run " << run;
    // The table read once; then the 11 rows chosen, by their address.
    int whole_reads = 0;
    long long read = 0;
    for (const auto& scan : scans) {
      if (scan.node != "Tid Scan") ++whole_reads;
      read += scan.read;
    }
    EXPECT_EQ(whole_reads, 1) << "run " << run << ": " << plan.dump(1);
    EXPECT_EQ(read, kPayments + 11) << "run " << run << ": " << plan.dump(1);
  }
}

}  // namespace
}  // namespace tbpay::test
