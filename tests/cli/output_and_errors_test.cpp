// The rule every command follows: its result on stdout and nothing else there; a failure
// says what went wrong on stderr, prints nothing on stdout and exits non-zero (1: the work
// failed, 2: bad arguments or configuration). Logs of command-line jobs go to stderr.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/cli_run.h"
#include "core/time.h"
#include "support/test_database.h"

namespace tbpay::test {
namespace {

using nlohmann::json;

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A folder of its own, removed after.
struct Folder {
  Folder() {
    std::string pattern = ::testing::TempDir() + "tbpay_cli_XXXXXX";
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp");
    path = pattern;
  }
  ~Folder() { std::filesystem::remove_all(path); }
  std::string path;
};

TEST(CliErrors, AnUnknownDatabaseUrlSchemeIsAnErrorAndCreatesNothing) {
  Folder folder;

  auto run = run_tbpay("migrate", {"DATABASE_URL=mysql://x"}, folder.path);

  EXPECT_EQ(run.exit, 2);
  EXPECT_TRUE(run.out.empty()) << run.out;
  EXPECT_TRUE(has(run.err, "DATABASE_URL has an unknown scheme 'mysql:'")) << run.err;
  EXPECT_TRUE(std::filesystem::is_empty(folder.path));
}

TEST(CliErrors, AnUnknownCommandIsNamed) {
  auto top = run_tbpay("bogus");
  auto nested = run_tbpay("outbox bogus");

  EXPECT_EQ(top.exit, 2);
  EXPECT_TRUE(top.out.empty());
  EXPECT_TRUE(has(top.err, "unknown command 'bogus'")) << top.err;
  EXPECT_TRUE(has(top.err, "migrate, serve, payments, sign, relay, cleanup, outbox, lambda"))
      << top.err;
  EXPECT_EQ(nested.exit, 2);
  EXPECT_TRUE(has(nested.err,
                  "unknown command 'bogus' (tbpay outbox commands: stats, dead, "
                  "requeue)"))
      << nested.err;
}

TEST(CliErrors, ABadAmountSaysWhatAnAmountIs) {
  Folder folder;
  const std::string url = "DATABASE_URL=" + folder.path + "/t.db";
  ASSERT_EQ(run_tbpay("migrate", {url}).exit, 0);

  for (const std::string amount : {"-5", "abc", "0", "1.5", "99999999999999999999"}) {
    auto create = run_tbpay(
        "payments create --provider zalopay --order-code TB-A --amount " + quoted(amount), {url});
    auto sign = run_tbpay("sign zalopay --order-code TB-A --amount " + quoted(amount),
                          {url, "ZALOPAY_APP_ID=2553", "ZALOPAY_KEY2=k2"});

    for (const CliRun& run : {create, sign}) {
      EXPECT_EQ(run.exit, 2) << amount;
      EXPECT_TRUE(run.out.empty()) << run.out;
      EXPECT_TRUE(
          has(run.err, "--amount: must be a whole number of VND, 1 or more, got '" + amount + "'"))
          << run.err;
      EXPECT_LT(run.err.size(), 200u) << run.err;  // no range of 300-digit bounds
    }
  }
  EXPECT_TRUE(has(run_tbpay("payments show TB-A", {url}).err, "no payment with order code"));
}

TEST(CliErrors, LambdaReportsABadHandlerBeforeTheMissingRuntimeApi) {
  auto bad = run_tbpay("lambda --handler nope");
  auto from_env = run_tbpay("lambda", {"_HANDLER=nope"});
  auto good = run_tbpay("lambda --handler webhook");

  EXPECT_EQ(bad.exit, 2);
  EXPECT_TRUE(has(bad.err,
                  "unknown handler 'nope' (one of webhook, outbox-processor, "
                  "outbox-cleanup, reconciler)"))
      << bad.err;
  EXPECT_FALSE(has(bad.err, "AWS_LAMBDA_RUNTIME_API")) << bad.err;
  EXPECT_TRUE(has(from_env.err, "unknown handler 'nope'")) << from_env.err;
  EXPECT_EQ(good.exit, 2);
  EXPECT_TRUE(has(good.err, "AWS_LAMBDA_RUNTIME_API is not set")) << good.err;
}

// Lambda (like serve, tests/http/serve_test.cpp) has no result: its log lines are on stdout,
// where CloudWatch reads them; what went wrong is on stderr.
TEST(CliErrors, LambdaLogsToStdout) {
  auto run =
      run_tbpay("lambda --handler outbox-cleanup",
                {"AWS_LAMBDA_RUNTIME_API=127.0.0.1:1", "DATABASE_URL=sqlite:/nonexistent/x.db"});

  EXPECT_NE(run.exit, 0);
  EXPECT_TRUE(has(run.out, R"("message":"lambda runtime ready")")) << run.out;
  EXPECT_FALSE(has(run.err, "lambda runtime ready")) << run.err;
  EXPECT_TRUE(has(run.err, "Connection refused")) << run.err;
}

TEST(CliErrors, ABadNodeEnvIsReportedAsNodeEnv) {
  auto run = run_tbpay("outbox stats", {"NODE_ENV=banana"});

  EXPECT_EQ(run.exit, 2);
  EXPECT_TRUE(run.out.empty());
  EXPECT_TRUE(has(run.err, "NODE_ENV must be dev, staging or prod, got 'banana'")) << run.err;
}

// PostgreSQL down: each command says so on stderr and nothing on stdout.
TEST(CliErrors, AnUnreachableDatabaseIsAnErrorOnStderrForEveryCommand) {
  const std::string url =
      "DATABASE_URL=postgresql://tbpay:s3cret@127.0.0.1:1/nowhere?connect_timeout=2";
  const std::vector<std::pair<std::string, std::string>> commands = {
      {"relay", "tbpay relay: "},
      {"cleanup", "tbpay cleanup: "},
      {"outbox stats", "tbpay outbox stats: "},
      {"outbox dead", "tbpay outbox dead: "},
      {"outbox requeue --all-dead", "tbpay outbox requeue: "},
      {"outbox requeue some-id", "tbpay outbox requeue: "},
      {"payments show TB-1", "tbpay payments show: "},
      {"migrate", "tbpay migrate: "}};
  for (const auto& [command, says] : commands) {
    auto run = run_tbpay(command, {url});

    EXPECT_EQ(run.exit, 1) << command;
    EXPECT_TRUE(run.out.empty()) << command << ": " << run.out;
    EXPECT_TRUE(has(run.err, says)) << command << ": " << run.err;
    EXPECT_TRUE(has(run.err, "127.0.0.1:1/nowhere")) << command << ": " << run.err;
    EXPECT_FALSE(has(run.err, "s3cret")) << command << ": " << run.err;
  }
}

class CliOnEngines : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override { db_ = make_test_database(GetParam()); }
  CliRun run(const std::string& args, std::vector<std::string> env = {}) {
    env.push_back("DATABASE_URL=" + db_->url());
    env.push_back("EVENTS_FILE=" + folder_.path + "/events.jsonl");
    return run_tbpay(args, env);
  }
  std::string dead_event(const std::string& payment) {
    SeedEvent e;
    e.aggregate_id = payment;
    e.created_at = now_utc();
    e.retry_count = 3;
    e.last_error = "kafka: Local: Message timed out";
    return insert_event(*db_, e);
  }
  std::int64_t retry_count(const std::string& id) {
    return db_->count(R"(SELECT "retryCount" FROM outbox WHERE id = $1)", {id});
  }
  Folder folder_;
  std::unique_ptr<TestDatabase> db_;
};

// PostgreSQL: a database without the tables. SQLite: no database file yet, and none is made by
// any command but `tbpay migrate`; then an empty file, as another tool may leave one.
TEST_P(CliOnEngines, ADatabaseWithoutTablesSaysToRunMigrate) {
  const auto* lite = dynamic_cast<SqliteTestDatabase*>(db_.get());
  const std::string says = lite ? "no SQLite database at " + lite->path() +
                                      ": create it with `tbpay migrate`"
                                : "create them with `tbpay migrate`";
  for (const std::string command :
       {"outbox stats", "outbox dead", "outbox requeue --all-dead", "relay", "cleanup",
        "payments show TB-1", "payments create --provider payos --order-code TB-1 --amount 2000"}) {
    auto run = this->run(command);

    EXPECT_EQ(run.exit, 1) << command;
    EXPECT_TRUE(run.out.empty()) << command << ": " << run.out;
    EXPECT_TRUE(has(run.err, says)) << command << ": " << run.err;
    if (lite) {
      EXPECT_FALSE(std::filesystem::exists(lite->path())) << command << " made the file";
    }
  }
  if (!lite) return;
  db_->exec("SELECT 1");  // opening it makes an empty database file
  auto stats = run("outbox stats");
  EXPECT_EQ(stats.exit, 1);
  EXPECT_TRUE(has(stats.err, "create them with `tbpay migrate`")) << stats.err;
}

TEST_P(CliOnEngines, RequeueOfAnUnknownIdFailsNamingItAndRequeuesNothing) {
  ASSERT_EQ(run("migrate").exit, 0);
  const std::string dead = dead_event("p-1");
  const std::string pending = insert_event(*db_, {.aggregate_id = "p-2", .created_at = now_utc()});

  auto unknown = run("outbox requeue no-such-id");
  auto mixed = run("outbox requeue " + dead + " no-such-id " + pending);

  EXPECT_EQ(unknown.exit, 1);
  EXPECT_TRUE(unknown.out.empty()) << unknown.out;
  EXPECT_TRUE(has(unknown.err, "no dead event with id no-such-id")) << unknown.err;
  EXPECT_EQ(mixed.exit, 1);
  EXPECT_TRUE(mixed.out.empty()) << mixed.out;
  EXPECT_TRUE(has(mixed.err, "no-such-id")) << mixed.err;
  EXPECT_TRUE(has(mixed.err, pending)) << mixed.err;
  EXPECT_FALSE(has(mixed.err, dead)) << mixed.err;
  EXPECT_TRUE(has(mixed.err, "nothing requeued")) << mixed.err;
  EXPECT_EQ(retry_count(dead), 3);  // all or nothing

  auto known = run("outbox requeue " + dead);
  EXPECT_EQ(known.exit, 0) << known.err;
  EXPECT_EQ(json::parse(known.out), json({{"requeued", 1}}));
  EXPECT_EQ(retry_count(dead), 0);
}

// stdout is the result alone, whatever LOG_LEVEL says; the log lines are on stderr.
TEST_P(CliOnEngines, CommandLineJobsLogToStderrAndPrintOnlyTheirResult) {
  ASSERT_EQ(run("migrate").exit, 0);
  const std::string dead = dead_event("p-1");

  auto requeued = run("outbox requeue " + dead, {"LOG_LEVEL=debug"});
  auto relayed = run("relay", {"LOG_LEVEL=debug"});

  ASSERT_EQ(requeued.exit, 0) << requeued.err;
  EXPECT_EQ(json::parse(requeued.out), json({{"requeued", 1}}));
  EXPECT_TRUE(has(requeued.err, R"("message":"dead outbox events requeued")")) << requeued.err;
  ASSERT_EQ(relayed.exit, 0) << relayed.err;
  EXPECT_EQ(json::parse(relayed.out)["succeeded"], 1);  // one JSON document, nothing else
  EXPECT_TRUE(has(relayed.err, R"("level":)")) << relayed.err;
}

INSTANTIATE_TEST_SUITE_P(Engines, CliOnEngines, ::testing::ValuesIn(all_engines()), EngineName{});

}  // namespace
}  // namespace tbpay::test
