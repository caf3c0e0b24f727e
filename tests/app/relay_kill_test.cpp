// `tbpay relay` killed with SIGKILL in the middle of its work, again and again, against
// PostgreSQL and a mock Kafka cluster owned by this test: no event is lost, and an event sent
// twice carries the same eventId (and body) both times.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <thread>

#include "app/relay_fixture.h"

extern char** environ;

namespace tbpay::test {
namespace {

using std::chrono::milliseconds;

struct Child {
  pid_t pid = -1;
};

// Starts `tbpay relay` with only the environment it needs; its output goes to `log`.
Child start_relay(const std::string& database_url, const std::string& brokers,
                  const std::string& log) {
  const char* binary = std::getenv("TBPAY_BINARY");
  if (binary == nullptr) throw std::runtime_error("TBPAY_BINARY is not set (ctest sets it)");
  std::vector<std::string> env = {"DATABASE_URL=" + database_url, "KAFKA_BROKERS=" + brokers,
                                  "OUTBOX_BATCH_SIZE=40", "LOG_LEVEL=warn", "PATH=/usr/bin:/bin"};
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string program = binary;
  std::string command = "relay";
  std::vector<char*> argv = {program.data(), command.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  Child child;
  const int rc = posix_spawn(&child.pid, binary, &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + program + ": " + std::strerror(rc));
  return child;
}

int wait_for(Child c) {
  int status = 0;
  waitpid(c.pid, &status, 0);
  return status;
}

std::int64_t published_count(TestDatabase& db) {
  return db.count("SELECT count(*) FROM outbox WHERE published = true");
}

TEST(RelayKill, SigkillMidBatchRepeatedlyLosesNoEventAndRepeatsKeepTheirEventId) {
  RelayEnvironment env(Engine::Postgres);
  constexpr int kPayments = 300;
  constexpr int kEventsPerPayment = 8;
  const auto ids = seed_events(env.db(), kPayments, kEventsPerPayment);
  env.db().exec("ANALYZE outbox");  // statistics, as a live table has: claims use the primary key
  const std::string log =
      ::testing::TempDir() + "tbpay-relay-kill-" + std::to_string(::getpid()) + ".log";
  std::remove(log.c_str());

  std::mt19937 random(20251213);
  int killed_mid_run = 0;
  for (int round = 0;
       round < 10 && published_count(env.db()) < static_cast<std::int64_t>(ids.size()); ++round) {
    const std::int64_t before = published_count(env.db());
    Child child = start_relay(env.db().url(), env.bootstrap(), log);
    std::this_thread::sleep_for(milliseconds(std::uniform_int_distribution<int>(150, 900)(random)));
    ::kill(child.pid, SIGKILL);
    const int status = wait_for(child);
    const std::int64_t after = published_count(env.db());
    if (WIFSIGNALED(status) && after < static_cast<std::int64_t>(ids.size())) ++killed_mid_run;
    std::printf("round %d: %lld -> %lld published%s\n", round, static_cast<long long>(before),
                static_cast<long long>(after), WIFSIGNALED(status) ? " (killed)" : "");
  }
  EXPECT_GT(killed_mid_run, 0) << "no relay was killed before the backlog was done";

  // A last run, left alone, finishes the backlog.
  const int status = wait_for(start_relay(env.db().url(), env.bootstrap(), log));
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  const auto rows = outbox_rows(env.db());
  std::map<std::string, OutboxRow> by_id;
  for (const auto& r : rows) {
    EXPECT_TRUE(r.published) << r.id;
    by_id[r.id] = r;
  }

  auto consumed = consume_payment_topics(env.bootstrap(), ids.size());
  std::map<std::string, int> copies;
  for (const auto& m : consumed) {
    const std::string& id = m.headers.at("eventId");
    ASSERT_TRUE(by_id.count(id)) << "message for no outbox row: " << id;
    expect_matches_row(m, by_id[id], "payment.completed");  // a repeat is the same message
    ++copies[id];
  }
  for (const auto& id : ids) EXPECT_GE(copies[id], 1) << "lost: " << id;
  std::size_t repeats = consumed.size() - copies.size();
  std::printf("%zu messages for %zu events (%zu sent again after a kill)\n", consumed.size(),
              ids.size(), repeats);

  // Repeats aside, each payment's events first appear in createdAt order.
  std::sort(consumed.begin(), consumed.end(),
            [](const auto& a, const auto& b) { return a.offset < b.offset; });
  std::map<std::string, std::vector<int>> first_seen;
  std::set<std::string> seen;
  for (const auto& m : consumed)
    if (seen.insert(m.headers.at("eventId")).second)
      first_seen[m.key].push_back(nlohmann::json::parse(m.value)["sequence"]);
  for (const auto& [key, sequence] : first_seen)
    EXPECT_EQ(sequence, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7})) << key;
  std::remove(log.c_str());
}

}  // namespace
}  // namespace tbpay::test
