// `tbpay migrate` and `tbpay payments`, run as a user runs them: the built binary, the
// environment, exit codes, stdout and stderr.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "cli/cli_run.h"
#include "core/time.h"
#include "support/test_database.h"

namespace tbpay::test {
namespace {

using nlohmann::json;

class CliTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override { db_ = make_test_database(GetParam()); }
  CliRun run(const std::string& args) { return tbpay(db_->url(), args); }
  std::unique_ptr<TestDatabase> db_;
};

TEST_P(CliTest, MigrateCreatesTheSchemaOnceAndThenSaysNothingChanged) {
  auto first = run("migrate");
  auto second = run("migrate");

  EXPECT_EQ(first.exit, 0) << first.err;
  EXPECT_NE(first.out.find("created"), std::string::npos) << first.out;
  EXPECT_EQ(second.exit, 0) << second.err;
  EXPECT_NE(second.out.find("nothing changed"), std::string::npos) << second.out;
  EXPECT_EQ(db_->count("SELECT count(*) FROM payments"), 0);
  EXPECT_EQ(db_->count("SELECT count(*) FROM outbox"), 0);
}

TEST_P(CliTest, LookupIndexOnlyWithTheFlag) {
  const std::string has_index = GetParam() == Engine::Postgres
                                    ? "SELECT count(*) FROM pg_indexes WHERE indexname = "
                                      "'payments_provider_providerTransactionId_idx'"
                                    : "SELECT count(*) FROM sqlite_master WHERE name = "
                                      "'payments_provider_providerTransactionId_idx'";
  ASSERT_EQ(run("migrate").exit, 0);
  EXPECT_EQ(db_->count(has_index), 0);

  auto with_index = run("migrate --lookup-index");

  EXPECT_EQ(with_index.exit, 0) << with_index.err;
  EXPECT_NE(with_index.out.find("payments_provider_providerTransactionId_idx"), std::string::npos);
  EXPECT_EQ(db_->count(has_index), 1);
}

TEST_P(CliTest, CreateInsertsAPendingZaloPayPaymentWithTodaysAppTransId) {
  ASSERT_EQ(run("migrate").exit, 0);

  auto created =
      run("payments create --provider zalopay --order-code TB_LTD_20251213_X --amount 150000");

  ASSERT_EQ(created.exit, 0) << created.err;
  auto p = json::parse(created.out);
  const std::string today = to_iso8601(now_utc());  // 2026-11-26T...
  const std::string yymmdd = today.substr(2, 2) + today.substr(5, 2) + today.substr(8, 2);
  EXPECT_EQ(p["orderCode"], "TB_LTD_20251213_X");
  EXPECT_EQ(p["providerTransactionId"], yymmdd + "_TB_LTD_20251213_X");
  EXPECT_EQ(p["provider"], "ZALOPAY");
  EXPECT_EQ(p["status"], "PENDING");
  EXPECT_EQ(p["amountCents"], 150000);
  EXPECT_TRUE(std::regex_match(p["createdAt"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
  EXPECT_EQ(db_->scalar(R"(SELECT status FROM payments WHERE "orderCode" = 'TB_LTD_20251213_X')"),
            "PENDING");
  EXPECT_EQ(db_->scalar(R"(SELECT "idempotencyKey" FROM payments)"), p["idempotencyKey"]);
}

TEST_P(CliTest, CreatePayOsGeneratesAPaymentLinkIdUnlessGiven) {
  ASSERT_EQ(run("migrate").exit, 0);

  auto generated = run("payments create --provider payos --order-code 1765600000 --amount 2000");
  auto given =
      run("payments create --provider payos --order-code 1765600001 --amount 2000 "
          "--provider-transaction-id 0123456789abcdef0123456789abcdef");

  ASSERT_EQ(generated.exit, 0) << generated.err;
  ASSERT_EQ(given.exit, 0) << given.err;
  EXPECT_TRUE(
      std::regex_match(json::parse(generated.out)["providerTransactionId"].get<std::string>(),
                       std::regex("[0-9a-f]{32}")));
  EXPECT_EQ(json::parse(given.out)["providerTransactionId"], "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(db_->count("SELECT count(*) FROM payments WHERE provider = 'PAYOS'"), 2);
}

TEST_P(CliTest, CreatingAnExistingOrderCodeFails) {
  ASSERT_EQ(run("migrate").exit, 0);
  ASSERT_EQ(run("payments create --provider payos --order-code TB-1 --amount 2000").exit, 0);

  auto again = run("payments create --provider payos --order-code TB-1 --amount 2000");

  EXPECT_EQ(again.exit, 1);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_EQ(db_->count("SELECT count(*) FROM payments"), 1);
}

TEST_P(CliTest, ShowPrintsThePaymentAndItsEvents) {
  ASSERT_EQ(run("migrate").exit, 0);
  const auto id = insert_payment(*db_, {.order_code = "TB-S", .status = "COMPLETED"});
  insert_event(*db_, {.aggregate_id = id,
                      .payload = R"({"order_code":"TB-S","amount_cents":150000})",
                      .created_at = *parse_timestamp("2025-12-13 06:05:18.385")});

  auto shown = run("payments show TB-S");

  ASSERT_EQ(shown.exit, 0) << shown.err;
  auto out = json::parse(shown.out);
  EXPECT_EQ(out["payment"]["id"], id);
  EXPECT_EQ(out["payment"]["status"], "COMPLETED");
  ASSERT_EQ(out["events"].size(), 1u);
  EXPECT_EQ(out["events"][0]["eventType"], "PAYMENT_COMPLETED");
  EXPECT_EQ(out["events"][0]["createdAt"], "2025-12-13T06:05:18.385Z");
  EXPECT_EQ(out["events"][0]["payload"]["amount_cents"], 150000);
  EXPECT_EQ(out["events"][0]["published"], false);
}

TEST_P(CliTest, ShowOfAnUnknownOrderCodeExitsOne) {
  ASSERT_EQ(run("migrate").exit, 0);
  auto shown = run("payments show TB-NOPE");
  EXPECT_EQ(shown.exit, 1);
  EXPECT_TRUE(shown.out.empty());
  EXPECT_NE(shown.err.find("TB-NOPE"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Engines, CliTest, ::testing::ValuesIn(all_engines()), EngineName{});

TEST(CliMigrate, UnreachableDatabaseFailsWithAClearMessageAndNoPassword) {
  auto run = tbpay("postgresql://tbpay:s3cret-pw@127.0.0.1:1/payments", "migrate");
  EXPECT_EQ(run.exit, 1);
  EXPECT_NE(run.err.find("127.0.0.1:1/payments"), std::string::npos) << run.err;
  EXPECT_EQ(run.err.find("s3cret"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace tbpay::test
