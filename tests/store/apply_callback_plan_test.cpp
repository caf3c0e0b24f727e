// A ZaloPay callback finds its payment through the unique index on "orderCode", on the core
// service's schema exactly as its migrations leave it: no index on "providerTransactionId".
// Without that, every callback read the whole payments table (28 callbacks/s at 520,000
// payments).
//
// The test asks PostgreSQL itself: EXPLAIN ANALYZE of the very statement tbpay prepares (rolled
// back), as custom plans and then as the generic plan PostgreSQL switches to after five
// executions, and looks at every scan of payments that ran.

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "store/postgres/apply_callback_sql.h"
#include "store/postgres/connection.h"
#include "support/plan_scans.h"
#include "support/test_database.h"

namespace tbpay::test {
namespace {

constexpr int kPayments = 20000;  // per provider

// The core service's schema with kPayments ZaloPay payments (providerTransactionId
// yymmdd_<orderCode>) and as many PayOS ones, all PENDING, analyzed.
std::unique_ptr<PgTestDatabase> seeded_database() {
  auto db = std::make_unique<PgTestDatabase>();
  db->create_core_service_schema();
  db->exec(R"sql(
      INSERT INTO payments (id, "orderCode", "amountCents", currency, provider,
                            "providerTransactionId", "idempotencyKey", "redirectUrl", "paymentUrl",
                            status, "updatedAt")
      SELECT 'zp-' || g, 'TB_ZP_' || g, 150000, 'VND'::"Currency", 'ZALOPAY', '251213_TB_ZP_' || g,
             'idem-zp-' || g, 'https://r', 'https://p', 'PENDING'::"PaymentStatus", now()
        FROM generate_series(1, $1::integer) g
      UNION ALL
      SELECT 'po-' || g, 'TB-PO-' || g, 150000, 'VND'::"Currency", 'PAYOS', md5('link' || g),
             'idem-po-' || g, 'https://r', 'https://p', 'PENDING'::"PaymentStatus", now()
        FROM generate_series(1, $1::integer) g)sql",
           {std::to_string(kPayments)});
  db->exec("ANALYZE payments");
  return db;
}

// Both transition statements: every callback's first attempt, and the one for the rare answers.
struct PlannedStatement {
  const char* name;
  const char* sql;
};
void PrintTo(const PlannedStatement& s, std::ostream* os) { *os << s.name; }

class ApplyCallbackPlanTest : public ::testing::TestWithParam<PlannedStatement> {
 protected:
  void SetUp() override {
    db_ = seeded_database();
    db_->exec(std::string("PREPARE plan_apply AS ") + GetParam().sql);
  }

  // EXPLAIN ANALYZE of one callback, rolled back. Returns the scans of payments that ran and
  // the number of rows the statement returned (1: the payment was found).
  std::pair<std::vector<Scan>, long long> explain(const std::string& provider,
                                                  const std::string& transaction_id,
                                                  const std::string& order_codes) {
    db_->exec("BEGIN");
    // The values are the test's own (no quotes in them).
    const auto rows = db_->query("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE plan_apply('" + provider +
                                 "', '" + transaction_id + "', '" + order_codes +
                                 "', 150000, 'COMPLETED', '{PENDING}', '', '', "
                                 "'2025-12-13 06:00:00', 'event-1', 'PAYMENT_COMPLETED')");
    db_->exec("ROLLBACK");
    EXPECT_EQ(rows.size(), 1u);
    const auto plan = nlohmann::json::parse(rows.at(0).at(0).value())[0]["Plan"];
    std::vector<Scan> scans;
    collect_scans(plan, "payments", scans);
    return {std::move(scans), plan.value("Actual Rows", 0LL)};
  }

  std::unique_ptr<PgTestDatabase> db_;
};

TEST_P(ApplyCallbackPlanTest, ZaloPayCallbackReadsThePaymentThroughTheOrderCodeIndex) {
  ASSERT_TRUE(db_->query(R"(SELECT 1 FROM pg_indexes WHERE tablename = 'payments'
                              AND indexdef LIKE '%providerTransactionId%')")
                  .empty())
      << "the core service's schema has no index on providerTransactionId";
  // Six runs: five custom plans, then the generic plan PostgreSQL caches.
  for (int i = 1; i <= 6; ++i) {
    const std::string order = "TB_ZP_" + std::to_string(i * 1000);
    const auto [scans, found] = explain("ZALOPAY", "251213_" + order,
                                        "{" + order + ",ZP_" + std::to_string(i * 1000) + "}");
    EXPECT_EQ(found, 1) << "the payment is found";
    ASSERT_FALSE(scans.empty());
    for (const auto& scan : scans) {
      EXPECT_NE(scan.node, "Seq Scan") << "run " << i << " read the whole payments table";
      EXPECT_LE(scan.read, 4) << scan.node << " " << scan.index << " read " << scan.read
                              << " rows of " << 2 * kPayments << " payments (run " << i << ")";
    }
  }
}

TEST_P(ApplyCallbackPlanTest, ZaloPayCallbackMatchedByItsOrderCodeAloneAlsoReadsOnlyTheIndex) {
  // The core service stored another app_trans_id (e.g. created just before midnight).
  const auto [scans, found] = explain("ZALOPAY", "251214_TB_ZP_77", "{TB_ZP_77,ZP_77}");
  EXPECT_EQ(found, 1);
  for (const auto& scan : scans) {
    EXPECT_NE(scan.node, "Seq Scan");
    EXPECT_LE(scan.read, 4) << scan.node << " " << scan.index;
  }
}

// Why `serve` and the Lambda functions raise an alert without the lookup index: a PayOS
// webhook can only be matched by paymentLinkId.
TEST_P(ApplyCallbackPlanTest, PayOSWebhookReadsTheWholeTableUntilTheLookupIndexExists) {
  const auto before = explain("PAYOS", db_->scalar(R"(SELECT md5('link' || 5))"), "{}");
  EXPECT_EQ(before.second, 1);
  long long read = 0;
  for (const auto& scan : before.first) read += scan.read;
  EXPECT_GE(read, kPayments) << "without an index every PayOS webhook reads the table";

  auto store = db_->open();
  ASSERT_TRUE(store->schema().create_lookup_index());
  db_->exec("ANALYZE payments");
  const auto after = explain("PAYOS", db_->scalar(R"(SELECT md5('link' || 6))"), "{}");
  EXPECT_EQ(after.second, 1);
  for (const auto& scan : after.first) EXPECT_LE(scan.read, 4) << scan.node << " " << scan.index;
}

TEST_P(ApplyCallbackPlanTest, ZaloPayCallbacksRunOnTheGenericPlanInsteadOfBeingPlannedAnew) {
  // As the store runs the statement: prepared on a pooled connection, with its lock bound. On
  // this schema a custom plan looks far cheaper than the generic one (whose PayOS branch is
  // costed as a scan of the table, though it never runs), so PostgreSQL left to itself plans
  // every callback anew, which cost a third of the callbacks' throughput.
  pg::Pool pool(db_->url(), 1);
  auto conn = pool.acquire();
  ASSERT_TRUE(conn.ok()) << conn.error().message;
  const pg::Statement apply{GetParam().name, GetParam().sql};
  for (int i = 1; i <= 8; ++i) {
    const std::string code = "TB_ZP_" + std::to_string(i);
    auto rows = (*conn)->run_waiting_for_locks_at_most(
        apply,
        {"ZALOPAY", "251213_" + code, "{" + code + "}", "150000", "COMPLETED", "{PENDING}", "", "",
         "2025-12-13 06:00:00", "event-" + std::to_string(i), "PAYMENT_COMPLETED"},
        std::chrono::seconds(5));
    ASSERT_TRUE(rows.ok()) << rows.error().message;
    ASSERT_EQ(rows->size(), 1);
  }
  auto plans = (*conn)->run(std::string("SELECT generic_plans, custom_plans FROM "
                                        "pg_prepared_statements WHERE name = '") +
                            GetParam().name + "'");
  ASSERT_TRUE(plans.ok()) << plans.error().message;
  ASSERT_EQ(plans->size(), 1);
  EXPECT_EQ(plans->integer(0, 1), 0) << "custom plans";
  EXPECT_EQ(plans->integer(0, 0), 8) << "generic plans";
}

// The group statement: one run for several callbacks, each decided as kApplyPendingSql decides it
// alone, every scan of payments through an index (the lookup index present), on the generic
// plan the store's prepared statement runs on.
TEST(ApplyCallbackGroupPlanTest, EachCallbackOfAGroupIsDecidedInOneStatementThroughTheIndexes) {
  auto db = seeded_database();
  ASSERT_TRUE(db->open()->schema().create_lookup_index());
  db->exec("ANALYZE payments");
  db->exec(std::string("PREPARE plan_group AS ") + pg::kApplyPendingGroupSql);
  db->exec("SET plan_cache_mode = force_generic_plan");
  struct Callback {
    std::string provider, transaction_id, first_code;
    std::vector<std::string> codes;
    std::string amount, outcome;
  };
  const std::string link3 = db->scalar("SELECT md5('link' || 3)");
  const std::string link7 = db->scalar("SELECT md5('link' || 7)");
  const std::vector<Callback> group{
      {"ZALOPAY", "251213_TB_ZP_1", "TB_ZP_1", {"TB_ZP_1", "ZP_1"}, "150000", "COMPLETED"},
      {"ZALOPAY", "251214_TB_ZP_2", "TB_ZP_2", {"TB_ZP_2", "ZP_2"}, "150000", "COMPLETED"},  // by its order code
      {"PAYOS", link3, "", {}, "150000", "COMPLETED"},
      {"ZALOPAY", "251213_TB_ZP_4", "TB_ZP_4", {"TB_ZP_4", "ZP_4"}, "1", "COMPLETED"},  // amount mismatch
      {"ZALOPAY", "251213_TB_ZP_999999", "TB_ZP_999999", {"TB_ZP_999999"}, "150000", "COMPLETED"},  // unknown
      {"ZALOPAY", "251213_TB_ZP_1", "TB_ZP_1", {"TB_ZP_1", "ZP_1"}, "150000", "COMPLETED"},  // 1 again
      {"PAYOS", link7, "", {}, "150000", "FAILED"},
  };
  std::array<std::vector<std::string>, 13> c;
  for (std::size_t k = 0; k < group.size(); ++k) {
    const Callback& cb = group[k];
    for (auto [i, v] : {std::pair{0, cb.provider}, {1, cb.transaction_id}, {2, cb.first_code},
                        {3, cb.amount}, {4, cb.outcome}, {5, std::string("t")},
                        {6, "ref-" + std::to_string(k + 1)},
                        {7, std::string(cb.outcome == "FAILED" ? "cancelled by the user" : "")},
                        {8, std::string("2025-12-13 06:00:00")},
                        {9, "event-" + std::to_string(k + 1)},
                        {10, "PAYMENT_" + cb.outcome}})
      c[static_cast<std::size_t>(i)].push_back(v);
    for (const std::string& code : cb.codes) {
      c[11].push_back(std::to_string(k + 1));
      c[12].push_back(code);
    }
  }
  std::string args;
  for (const auto& column : c) args += (args.empty() ? "'" : ", '") + pg::text_array(column) + "'";

  db->exec("BEGIN");
  const auto plan = nlohmann::json::parse(
      db->query("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE plan_group(" + args + ")").at(0).at(0).value())[0]["Plan"];
  db->exec("ROLLBACK");
  std::vector<Scan> scans;
  collect_scans(plan, "payments", scans);
  ASSERT_FALSE(scans.empty());
  for (const auto& scan : scans) {
    EXPECT_NE(scan.node, "Seq Scan") << "the group read the whole payments table";
    EXPECT_LE(scan.read, 4 * static_cast<long long>(group.size()))
        << scan.node << " " << scan.index << " read " << scan.read << " rows";
  }

  // Columns: id, orderCode, amountCents, status, applied, n.
  const auto rows = db->query("EXECUTE plan_group(" + args + ")");
  std::map<std::string, std::pair<std::string, std::string>> by_n;  // n -> (id, applied)
  for (const auto& r : rows) {
    EXPECT_EQ(*r[3], "PENDING") << "as the statement's snapshot saw it, callback " << *r[5];
    by_n[*r[5]] = {*r[0], *r[4]};
  }
  using Outcome = std::pair<std::string, std::string>;
  EXPECT_EQ(by_n, (std::map<std::string, Outcome>{{"1", {"zp-1", "1"}},
                                                   {"2", {"zp-2", "1"}},
                                                   {"3", {"po-3", "1"}},
                                                   {"4", {"zp-4", "0"}},
                                                   {"6", {"zp-1", "0"}},
                                                   {"7", {"po-7", "1"}}}))
      << "no row for the unknown payment; the second callback for zp-1 moved nothing";
  EXPECT_EQ(db->scalar(R"(SELECT string_agg(id || ':' || status, ',' ORDER BY id) FROM payments
                           WHERE status <> 'PENDING')"),
            "po-3:COMPLETED,po-7:FAILED,zp-1:COMPLETED,zp-2:COMPLETED");
  EXPECT_EQ(db->scalar(R"(SELECT string_agg(id || '>' || "aggregateId", ',' ORDER BY id) FROM outbox)"),
            "event-1>zp-1,event-2>zp-2,event-3>po-3,event-7>po-7");
  const auto failed = nlohmann::json::parse(db->scalar("SELECT payload::text FROM outbox WHERE id = 'event-7'"));
  EXPECT_EQ(failed.value("reason", ""), "cancelled by the user");
  EXPECT_EQ(failed.value("failed_at", ""), "2025-12-13T06:00:00.000Z");
  EXPECT_EQ(failed.value("provider_reference", ""), "ref-7");
}

// Where no lookup index exists, the group's generic plan counts PayOS's sequential scan once
// per callback of the group: a cost over jit_above_cost, and JIT compiling took 30 to 45 ms of
// every group (ZaloPay callbacks on the schema as migrated fell to 300 a second). The store's
// group transactions turn JIT off; EXPLAIN, in the same transaction, shows it did not run.
TEST(ApplyCallbackGroupPlanTest, AGroupIsNotJitCompiledWhereNoLookupIndexExists) {
  auto db = seeded_database();
  // The threshold of a table 75 times larger (300,000 payments per provider), for every new
  // session of this database: the pool's, and the plain one below.
  db->exec("ALTER DATABASE \"" + db->name() + "\" SET jit_above_cost = 1500");
  db->exec("SET jit_above_cost = 1500");
  pg::Pool pool(db->url(), 1);
  auto conn = pool.acquire();
  ASSERT_TRUE(conn.ok()) << conn.error().message;
  const std::string args = "'{ZALOPAY}', '{251213_TB_ZP_5}', '{TB_ZP_5}', '{150000}', "
                           "'{COMPLETED}', '{t}', '{r}', '{\"\"}', '{\"2025-12-13 06:00:00\"}', "
                           "'{event-5}', '{PAYMENT_COMPLETED}', '{1}', '{TB_ZP_5}'";
  auto prepared = (*conn)->run(std::string("PREPARE plan_group AS ") + pg::kApplyPendingGroupSql);
  ASSERT_TRUE(prepared.ok()) << prepared.error().message;
  // The store's group transaction (run_together), with EXPLAIN in place of the statement.
  const std::string explain_sql = "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE plan_group(" + args + ")";
  const pg::Statement explained{"explain_plan_group", explain_sql.c_str()};
  auto together = (*conn)->run_together(explained, std::vector<pg::Params>{{}},
                                        std::chrono::seconds(5));
  ASSERT_FALSE(together.error) << together.error->message;
  const auto plan = nlohmann::json::parse(together.rows.at(0).text(0, 0))[0];
  EXPECT_FALSE(plan.contains("JIT")) << plan.value("JIT", nlohmann::json()).dump();
  EXPECT_EQ(plan["Plan"].value("Actual Rows", 0LL), 1) << "the payment moved";

  // Without the store's settings the same plan is compiled: what the test guards against.
  db->exec("SET plan_cache_mode = force_generic_plan");
  db->exec(std::string("PREPARE plan_group AS ") + pg::kApplyPendingGroupSql);
  db->exec("BEGIN");
  const auto bare = nlohmann::json::parse(
      db->query("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE plan_group(" + args + ")").at(0).at(0).value())[0];
  db->exec("ROLLBACK");
  EXPECT_TRUE(bare.contains("JIT"))
      << "without the store's settings this plan is JIT-compiled (pg_jit_available(): "
      << db->scalar("SELECT pg_jit_available()::text") << ")";
}

INSTANTIATE_TEST_SUITE_P(
    Statements, ApplyCallbackPlanTest,
    ::testing::Values(PlannedStatement{"apply_callback_pending", pg::kApplyPendingSql},
                      PlannedStatement{"apply_callback", pg::kApplyCallbackSql}),
    [](const ::testing::TestParamInfo<PlannedStatement>& info) {
      return std::string(info.param.name);
    });

}  // namespace
}  // namespace tbpay::test
