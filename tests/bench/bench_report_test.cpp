// bench_report on the raw outputs of a real `scripts/bench.sh --rounds 2 --duration 3
// --with-relay` run (testdata/run; its pgbench per-transaction logs keep one line in 40). The
// figures expected below are worked out from those files by hand, as the comments show.
#include "report/report.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace tbpay::bench {
namespace {

namespace fs = std::filesystem;

fs::path sample_run() {
  return fs::path(std::getenv("TBPAY_SOURCE_DIR")) / "tests/bench/testdata/run";
}

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string logs_of_round(int round) {
  std::vector<fs::path> logs;
  for (const auto& entry : fs::directory_iterator(sample_run())) {
    if (entry.path().filename().string().starts_with("pgbench_log_" + std::to_string(round) +
                                                     ".")) {
      logs.push_back(entry.path());
    }
  }
  std::string text;
  for (const auto& path : logs) text += read(path);
  return text;
}

// The table's line that starts with `measure`, or "" when there is none.
std::string line_of(const std::string& table, const std::string& measure) {
  std::istringstream lines(table);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with(measure)) return line;
  }
  return "";
}

std::string row(const std::string& measure, const std::string& value, const std::string& aim) {
  // printf's "%-34s %-28s %s": padded, never cut.
  std::string line = measure;
  line.resize(std::max<std::size_t>(line.size() + 1, 35), ' ');
  line += value;
  line.resize(std::max<std::size_t>(line.size() + 1, 64), ' ');
  return line + aim;
}

// A copy of the sample run to change one thing in.
class BenchReportRun : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("bench_report_test_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::copy(sample_run(), dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void replace(const std::string& file, const std::string& from, const std::string& to) {
    auto text = read(dir_ / file);
    const auto at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    std::ofstream(dir_ / file) << text;
  }
  std::string table() { return summary(dir_, 100, "2026-11-29T20:05:35Z"); }
  fs::path dir_;
};

TEST(BenchReportParse, WrkSummaryIsTheKeyValueLinesOfBenchWebhookLua) {
  const auto wrk = parse_key_values(read(sample_run() / "wrk-main-1.txt"));
  EXPECT_EQ(wrk.at("bench_success"), "2502");
  EXPECT_EQ(wrk.at("bench_seconds"), "3.077");
  EXPECT_EQ(wrk.at("bench_rps"), "813.1");
  EXPECT_EQ(wrk.at("bench_p50_ms"), "18.743");
  EXPECT_EQ(wrk.at("bench_p99_ms"), "40.931");
  EXPECT_EQ(wrk.at("bench_threads_exhausted"), "0");
  // wrk's own table ("Requests/sec:    813.06", "50%   18.74ms") is not read.
  EXPECT_EQ(wrk.size(), 13u);
}

TEST(BenchReportParse, NameValueLinesKeepTheRestOfTheLine) {
  const auto lambda = parse_name_values(read(sample_run() / "lambda.txt"));
  EXPECT_EQ(lambda.at("lambda_cold_start"), "576.2 ms");
  EXPECT_EQ(lambda.at("lambda_webhook_later"), "9.04 ms (median of 4)");
  const auto lookup = parse_name_values(read(sample_run() / "lookup.txt"));
  EXPECT_EQ(lookup.at("lookup_ratio"), "0.79");
}

TEST(BenchReportParse, PgbenchTransactionsProcessed) {
  EXPECT_EQ(pgbench_processed(read(sample_run() / "pgbench-1.txt")), 3347);
  EXPECT_EQ(pgbench_processed(read(sample_run() / "pgbench-2.txt")), 5506);
  EXPECT_EQ(pgbench_processed(read(sample_run() / "wrk-main-1.txt")), std::nullopt);
}

TEST(BenchReportParse, PgbenchSteadyStateLeavesTheFirstSecondOut) {
  // Round 1: 84 logged transactions; the first started at 1795982487.013833 (ended 0.441839
  // after 428006 us), the last ended at 1795982489.237; 63 ended after ...488.013833.
  const auto steady = pgbench_steady_state(logs_of_round(1), 1);
  EXPECT_EQ(steady.transactions, 63);
  EXPECT_EQ(steady.latencies_us.size(), 63u);
  EXPECT_NEAR(steady.seconds, 1.2230, 0.00005);
  const auto whole = pgbench_steady_state(logs_of_round(1), 0);
  EXPECT_EQ(whole.transactions, 84);
  EXPECT_EQ(pgbench_steady_state("", 1).transactions, 0);
}

TEST(BenchReportParse, ChildrenCpuFromTheLastLineOfTimes) {
  // "0m0.147s 0m0.163s": pgbench's user and system time.
  EXPECT_NEAR(children_cpu_seconds(read(sample_run() / "pgbench-1.times")), 0.310, 1e-9);
  EXPECT_NEAR(children_cpu_seconds("0m0.000s 0m0.000s\n1m2.500s 0m0.250s\n"), 62.75, 1e-9);
  EXPECT_EQ(children_cpu_seconds(""), 0);
}

TEST(BenchReportStatistics, PercentileIsTheValueAfterTheFraction) {
  std::vector<long> values(100);
  for (long i = 0; i < 100; ++i) values[i] = i + 1;
  EXPECT_EQ(percentile(values, 0.5), 51);
  EXPECT_EQ(percentile(values, 0.99), 100);
  EXPECT_EQ(percentile({7}, 0.99), 7);
  EXPECT_EQ(percentile({}, 0.5), 0);
}

TEST(BenchReportStatistics, MedianOfRoundsIsTheLowerMiddleAsWritten) {
  EXPECT_EQ(median({"9.250", "6.100", "7.500"}), "7.500");
  EXPECT_EQ(median({"40.931", "37.390"}), "37.390");
  EXPECT_EQ(median({"10.1", "9.9"}), "9.9");  // as numbers, not as text
  EXPECT_EQ(median({}), "");
}

TEST(BenchReportStatistics, SumsOfSecondsAsAwkPrintedThem) {
  EXPECT_EQ(awk_number(1.2230 + 1.2182), "2.4412");
  EXPECT_EQ(awk_number(3.077 + 3.101), "6.178");
  EXPECT_EQ(awk_number(6), "6");
  EXPECT_EQ(awk_number(123.456789), "123.457");
}

TEST(BenchReportTable, FiguresOfTheSampleRun) {
  const auto table = summary(sample_run(), 100, "2026-11-29T20:05:35Z");
  EXPECT_EQ(line_of(table, "tbpay bench "),
            "tbpay bench 2026-11-29T20:05:35Z on 2 cores, 6.18.44-fc-v782; build build (?)");
  EXPECT_EQ(line_of(table, "payments "),
            "payments 20000 (seed 20251213); 2 alternating rounds of 3s per side at 16 "
            "connections; load avg 8.79 9.18 9.04 at the start, 9.76 9.38 9.11 at the end");
  // Steady transactions 63 + 106 over 1.2230 + 1.2182 s; latencies of both rounds (169).
  // Round 2: 5506 transactions, 4181 payments completed.
  EXPECT_EQ(line_of(table, "ceiling: pgbench tps"),
            row("ceiling: pgbench tps (c=16)", "69.2",
                "p50 4.818 ms, p99 25.680 ms; committed: no: round 2: 5506 transactions but 4181 "
                "completed, 4181 events"));
  // 2502 + 3107 successes over 3.077 + 3.101 s.
  EXPECT_EQ(line_of(table, "tbpay rps"),
            row("tbpay rps (wrk c=16), relay ON", "907.9",
                "5609 ok, 0 failed, 0 socket errors; relay backlog gone 0.5 0.2 s after each "
                "round"));
  EXPECT_EQ(line_of(table, "ratio tbpay / ceiling"),
            row("ratio tbpay / ceiling", "13.12", ">= 0.85: ok"));
  EXPECT_EQ(line_of(table, "  per round: ceiling tps"),
            row("  per round: ceiling tps", "52 87", ""));
  EXPECT_EQ(line_of(table, "  per round: tbpay rps"),
            row("  per round: tbpay rps", "813 1002", ""));
  EXPECT_EQ(
      line_of(table, "tbpay p99 latency"),
      row("tbpay p99 latency", "37.390 ms", "<= 10 ms: MISSED; median of rounds, worst 40.931 ms"));
  EXPECT_EQ(line_of(table, "successes committed"),
            row("successes committed (SQL check)", "yes", "completed 5638, events 5638"));
  // tbpay's ticks (172 - 69) + (304 - 175) = 232 over 5609 callbacks at 100 ticks/s.
  EXPECT_EQ(line_of(table, "tbpay CPU per callback"),
            row("tbpay CPU per callback", "414 us", "utime+stime / successes"));
  // PostgreSQL (1028 - 634) + (1755 - 1378) = 771 ticks, pgbench 31 + 31 (0.310 s, 0.313 s),
  // over all 3347 + 5506 transactions.
  EXPECT_EQ(line_of(table, "CPU per transaction, ceiling"),
            "CPU per transaction, ceiling       postgres 871 (with 16 backend starts a round) + "
            "pgbench 70 us");
  // PostgreSQL (1306 - 1084) + (2057 - 1819) = 460 ticks, wrk 24 + 26 (0.237 s, 0.263 s).
  EXPECT_EQ(line_of(table, "CPU per callback, tbpay side"),
            "CPU per callback, tbpay side       postgres 820 + tbpay 414 + wrk 89 us");
  EXPECT_EQ(line_of(table, "tbpay run-queue wait"),
            row("tbpay run-queue wait per callback", "927 us",
                "its threads ready, no CPU free (the machine's load)"));
  EXPECT_EQ(line_of(table, "tbpay RSS @ 256 conns"),
            row("tbpay RSS @ 256 conns", "15.8 MB",
                "<= 60 MB: ok; 175.3 rps, p99 305.812 ms, 0 failed; VmHWM 15.8 MB"));
  EXPECT_EQ(line_of(table, "relay ratio"),
            row("relay ratio", "10.8x", "aims: >= 25000 events/s, >= 50x"));
  EXPECT_EQ(
      line_of(table, "relay, broker 1 ms away"),
      row("relay, broker 1 ms away", "7902 / 306 events/s", "batched / one at a time = 25.8x"));
  EXPECT_EQ(line_of(table, "reconcile payments/s"),
            row("reconcile payments/s", "786",
                "bound (in flight / latency) 1600/s: 0.49 of it, aim >= 0.8: MISSED"));
  EXPECT_EQ(line_of(table, "Lambda later invocations"),
            row("Lambda later invocations", "9.04 ms (median of 4)", ""));
  EXPECT_EQ(line_of(table, "ZaloPay ratio migrated / indexed"),
            row("ZaloPay ratio migrated / indexed", "0.79", ">= 0.8: MISSED"));
  EXPECT_EQ(line_of(table, "payos/canonical"),
            "payos/canonical              baseline/hmac_oneshot_payos           186       1324   "
            "0.14x");
  EXPECT_EQ(line_of(table, "details: "), "details: " + sample_run().string());
}

TEST_F(BenchReportRun, SectionsNotRunSayWhy) {
  replace("run.txt", "relay=ok", "relay=failed");
  replace("run.txt", "reconcile=ok\nlambda=ok\nlookup=ok\n", "");
  const auto text = table();
  EXPECT_EQ(
      line_of(text, "relay"),
      row("relay", "n/a", "relay_bench failed (see " + (dir_ / "relay_bench.log").string() + ")"));
  EXPECT_EQ(line_of(text, "reconcile"),
            row("reconcile", "n/a", "not built yet (bench/reconcile_bench)"));
  EXPECT_EQ(line_of(text, "Lambda"),
            row("Lambda", "n/a", "not built yet (scripts/bench-lambda.sh)"));
  EXPECT_EQ(line_of(text, "ZaloPay lookup"), row("ZaloPay lookup", "n/a", "not run (--no-lookup)"));
}

TEST_F(BenchReportRun, RoundsThatRanOutOfPaymentsSaySo) {
  // Round 2's ceiling had payments 4501..9000: all but at most one per connection completed.
  replace("round-ceiling-2.txt", "completed=4181", "completed=4490");
  replace("round-ceiling-2.txt", "events=4181", "events=4490");
  replace("wrk-main-1.txt", "bench_threads_exhausted=0", "bench_threads_exhausted=1");
  const auto text = table();
  EXPECT_NE(line_of(text, "ceiling: pgbench tps")
                .find("committed: no: round 2 ran out of payments, raise --payments"),
            std::string::npos);
  EXPECT_EQ(
      line_of(text, "successes committed"),
      row("successes committed (SQL check)", "no: round 1 ran out of callbacks, raise --payments",
          "completed 5638, events 5638"));
}

TEST_F(BenchReportRun, SuccessesWithoutTheirEventsFailTheSqlCheck) {
  replace("round-tbpay-2.txt", "events=3121", "events=3120");
  EXPECT_EQ(line_of(table(), "successes committed"),
            row("successes committed (SQL check)",
                "no: round 2: 3107 successes, 3121 completed, 3120 events",
                "completed 5638, events 5637"));
}

TEST_F(BenchReportRun, AMissingOutputIsAClearError) {
  fs::remove(dir_ / "wrk-main-2.txt");
  try {
    table();
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "missing " + (dir_ / "wrk-main-2.txt").string());
  }
}

}  // namespace
}  // namespace tbpay::bench
