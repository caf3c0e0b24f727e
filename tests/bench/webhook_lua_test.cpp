// bench/webhook.lua, the wrk script of `make bench`'s webhook rounds, run as scripts/bench.sh
// runs it (two threads, a callbacks file of `PATH<TAB>BODY` lines) against a real `tbpay serve`
// on PostgreSQL. The rates of `make bench` are only what they claim if the script posts each
// callback once: each thread its own lines, none for wrk's check call, none twice once a thread
// has run out. Here every thread also gets through the barrier that holds posting until all
// are ready, and its file is removed; whether the barrier keeps the threads together is a
// matter of timing, which the bench's own per-round figures show.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "cli/cli_run.h"
#include "reliability/support/serve.h"
#include "report/report.h"
#include "support/test_database.h"

namespace tbpay::reliability {
namespace {

using test::slurp;

constexpr int kPayments = 200;

TEST(BenchWebhookLua, PostsEveryCallbackOnceThenEachThreadStops) {
  const char* source = std::getenv("TBPAY_SOURCE_DIR");
  ASSERT_NE(source, nullptr) << "TBPAY_SOURCE_DIR is not set (ctest sets it)";
  test::PgTestDatabase db;
  db.migrate();
  TempFolder folder;
  const auto payments = seed_payments(db.url(), "TB-WRK-", kPayments);
  ASSERT_EQ(payments.size(), static_cast<std::size_t>(kPayments));
  const std::string callbacks = folder.path() + "/callbacks.tsv";
  {
    std::ofstream out(callbacks);
    for (const auto& p : payments)
      out << webhook_path(p.provider) << '\t' << signed_callback(p) << '\n';
  }

  ServeUnderTest serve(tbpay_env(db.url()), folder.path());
  // Long enough for 200 callbacks on a loaded machine: the threads stop when theirs are sent.
  const std::string output = folder.path() + "/wrk.txt";
  const std::string command =
      "cd '" + std::string(source) +
      "' && wrk -t 2 -c 8 -d 5s --latency --timeout 10s -s bench/webhook.lua "
      "http://127.0.0.1:" +
      std::to_string(serve.port()) + " -- '" + callbacks + "' 2 >'" + output + "' 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0) << slurp(output);

  const auto summary = bench::parse_key_values(slurp(output));
  const auto value = [&](const char* key) {
    const auto it = summary.find(key);
    return it == summary.end() ? std::string("(missing)") : it->second;
  };
  // Each thread posted its own lines (k, k+2, ...): all of them, each once, and no more.
  EXPECT_EQ(value("bench_posted"), std::to_string(kPayments)) << slurp(output);
  // A thread stops at its first request with nothing left to send; the replies still in flight
  // on its other connections (at most 3 of its 4) are then not read. So a round that ran out
  // (which the report rejects anyway) counts a few successes fewer than it posted.
  const int successes = std::stoi(value("bench_success"));
  EXPECT_LE(successes, kPayments);
  EXPECT_GE(successes, kPayments - 2 * 3);
  EXPECT_EQ(value("bench_failure"), "0");
  EXPECT_EQ(value("bench_socket_errors"), "0");
  EXPECT_EQ(value("bench_threads_exhausted"), "2");
  // What bench_report reads besides: the measured seconds and wrk's CPU before posting.
  EXPECT_GT(std::atof(value("bench_seconds").c_str()), 0.0);
  EXPECT_NE(value("bench_setup_cpu_s"), "(missing)");
  // The barrier's file is gone once wrk is done.
  EXPECT_FALSE(std::filesystem::exists(callbacks + ".ready"));

  // Every payment moved once, with its one event: wrk's check call used no callback up, and
  // none was posted twice (PayOS's reply to a second copy is a success too).
  EXPECT_EQ(pg_count(db.url(),
                     "SELECT count(*) FROM payments WHERE \"orderCode\" LIKE 'TB-WRK-%' "
                     "AND status = 'COMPLETED'"),
            kPayments);
  EXPECT_EQ(pg_count(db.url(), "SELECT count(*) FROM outbox"), kPayments);
  // tbpay's own account (its log, complete once it has stopped): each processed, none a duplicate.
  serve.process().signal(SIGTERM);
  ASSERT_EQ(serve.process().wait_exit(), 0);
  int processed = 0, other = 0;
  for (const auto& line : serve.process().log_lines()) {
    if (line.value("message", "") != "webhook") continue;
    (line.value("outcome", "") == "processed" ? processed : other) += 1;
  }
  EXPECT_EQ(processed, kPayments);
  EXPECT_EQ(other, 0);
}

}  // namespace
}  // namespace tbpay::reliability
