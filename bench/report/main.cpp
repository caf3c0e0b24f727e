// bench_report: the figures and the table of `make bench` from the raw outputs of a run, which
// scripts/bench.sh captures into the run's folder (bench/README.md).
//
//   bench_report OUT_DIR                          the table (the script tees it to summary.txt)
//   bench_report --round SERIES R OUT_DIR         round R's line of a series (least-16, tbpay-64,
//                                                 ...; ceiling|tbpay in runs from before them)
//                                                 for the script's progress log
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <string>
#include <string_view>

#include "report/report.h"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: bench_report OUT_DIR\n"
               "       bench_report --round SERIES R OUT_DIR\n");
  return 2;
}

std::string now_utc() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 2 && argv[1][0] != '-') {
      std::fputs(tbpay::bench::summary(argv[1], sysconf(_SC_CLK_TCK), now_utc()).c_str(), stdout);
      return 0;
    }
    if (argc == 5 && std::string_view(argv[1]) == "--round") {
      const std::string series = argv[2];
      const int round = std::atoi(argv[3]);
      if (round < 1 || series.empty()) return usage();
      std::puts(tbpay::bench::round_line(argv[4], series, round).c_str());
      return 0;
    }
    return usage();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_report: %s\n", e.what());
    return 1;
  }
}
