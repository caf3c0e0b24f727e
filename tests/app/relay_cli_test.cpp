// `tbpay relay`, `tbpay cleanup` and `tbpay outbox ...` as an operator runs them: JSON on
// stdout, exit codes, on a SQLite file with the JSON-lines publisher.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "app/relay_fixture.h"

namespace tbpay::test {
namespace {

struct CommandRun {
  int exit_code = -1;
  std::string out;
  nlohmann::json json() const { return nlohmann::json::parse(out); }
};

class RelayCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db.migrate();
    events_file = db.folder() + "/var/events.jsonl";
  }

  // Runs `tbpay ARGS` with only the given environment; stdout is captured, stderr dropped.
  CommandRun tbpay(const std::string& args, const std::string& database_url = "") {
    const char* binary = std::getenv("TBPAY_BINARY");
    if (binary == nullptr) throw std::runtime_error("TBPAY_BINARY is not set (ctest sets it)");
    const std::string command = "env -i PATH=/usr/bin:/bin LOG_LEVEL=info DATABASE_URL='" +
                                (database_url.empty() ? db.url() : database_url) +
                                "' EVENTS_FILE='" + events_file + "' " + binary + " " + args +
                                " 2>/dev/null";
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    CommandRun run;
    std::array<char, 4096> buffer;
    while (size_t n = fread(buffer.data(), 1, buffer.size(), pipe.get()))
      run.out.append(buffer.data(), n);
    const int status = pclose(pipe.release());
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return run;
  }

  std::string seed(const std::string& type, int minutes_ago) {
    SeedEvent e;
    e.aggregate_id = "p-" + type + std::to_string(minutes_ago);
    e.event_type = type;
    e.created_at = now_utc() - std::chrono::minutes(minutes_ago);
    return insert_event(db, e);
  }

  SqliteTestDatabase db;
  std::string events_file;
};

TEST_F(RelayCliTest, RelayPrintsItsSummaryAndAppendsEventsToTheDefaultFile) {
  seed("PAYMENT_COMPLETED", 3);
  seed("PAYMENT_FAILED", 2);
  const std::string unknown = seed("ORDER_SHIPPED", 1);

  const CommandRun run = tbpay("relay --budget 60");

  ASSERT_EQ(run.exit_code, 0) << run.out;
  const auto summary = run.json();
  EXPECT_EQ(summary["processed"], 3);
  EXPECT_EQ(summary["succeeded"], 2);
  EXPECT_EQ(summary["failed"], 0);
  EXPECT_EQ(summary["dead"], 1);
  std::ifstream in(events_file);
  int lines = 0;
  for (std::string line; std::getline(in, line); ++lines)
    EXPECT_TRUE(nlohmann::json::parse(line).contains("topic"));
  EXPECT_EQ(lines, 2);

  // The operator's view of what went wrong, and the way out.
  const auto stats = tbpay("outbox stats").json();
  EXPECT_EQ(stats["total"], 3);
  EXPECT_EQ(stats["published"], 2);
  EXPECT_EQ(stats["dead"], 1);
  const auto dead = tbpay("outbox dead").json()["dead"];
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0]["id"], unknown);
  EXPECT_EQ(dead[0]["lastError"], "unknown event type ORDER_SHIPPED: no topic");

  const CommandRun requeued = tbpay("outbox requeue " + unknown);
  EXPECT_EQ(requeued.exit_code, 0);
  EXPECT_EQ(requeued.json()["requeued"], 1);
  EXPECT_EQ(row(db, unknown).retry_count, 0);
  EXPECT_TRUE(tbpay("outbox dead").json()["dead"].empty());
}

TEST_F(RelayCliTest, RequeueAllDeadAndRequeueWithoutTargetsIsRefused) {
  SeedEvent e;
  e.aggregate_id = "p-1";
  e.created_at = now_utc();
  e.retry_count = 3;
  e.last_error = "kafka: Local: Message timed out";
  insert_event(db, e);
  e.aggregate_id = "p-2";
  insert_event(db, e);

  EXPECT_NE(tbpay("outbox requeue").exit_code, 0);
  const CommandRun all = tbpay("outbox requeue --all-dead");
  EXPECT_EQ(all.exit_code, 0);
  EXPECT_EQ(all.json()["requeued"], 2);
  EXPECT_EQ(tbpay("outbox stats").json()["pending"], 2);
}

TEST_F(RelayCliTest, CleanupPrintsTheDocumentedResult) {
  SeedEvent e;
  e.aggregate_id = "p-1";
  e.created_at = now_utc() - std::chrono::days(20);
  e.published = true;
  e.published_at = now_utc() - std::chrono::days(19);
  insert_event(db, e);

  const CommandRun run = tbpay("cleanup");

  ASSERT_EQ(run.exit_code, 0) << run.out;
  const auto j = run.json();
  EXPECT_EQ(j["deleted"], 1);
  EXPECT_EQ(j["dead"], 0);
  EXPECT_EQ(j["stats"]["total"], 0);
  EXPECT_TRUE(j["stats"].contains("oldest_pending_age_minutes"));
}

}  // namespace
}  // namespace tbpay::test
