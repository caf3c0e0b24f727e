// The figures and the table of `make bench`, computed from the raw outputs scripts/bench.sh
// leaves in a run's folder: wrk's summary (bench/webhook.lua's `key=value` lines), pgbench's
// output and per-transaction logs, the shell's `times`, the CPU ticks and SQL counts the script
// noted per round, and the outputs of relay_bench, reconcile_bench, bench-lambda.sh and
// bench-lookup.sh. The script only starts processes and captures; everything computed is here.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tbpay::bench {

using Values = std::map<std::string, std::string, std::less<>>;

// `key=value` lines (wrk's summary, relay_bench, reconcile_bench, the script's notes): the text
// after the first '='; the last line of a key wins; other lines are skipped.
Values parse_key_values(std::string_view text);

// `name value...` lines (bench-lambda.sh, bench-lookup.sh): the words after the name, joined by
// one space; the last line of a name wins.
Values parse_name_values(std::string_view text);

// pgbench's "number of transactions actually processed: N", if it printed one.
std::optional<long> pgbench_processed(std::string_view output);

// A round of pgbench per-transaction logs (`-l`: client, transaction, latency in us, script,
// epoch seconds, microseconds), without its first `skip_seconds` after the first transaction
// started (new connections start backends, prepare and plan then).
struct SteadyState {
  long transactions = 0;           // that ended after the skipped start
  double seconds = 0;              // from the end of the skipped start to the last end
  std::vector<long> latencies_us;  // of those transactions
};
SteadyState pgbench_steady_state(std::string_view log, double skip_seconds);

// CPU seconds (user + system) of a shell's children: the last line of the output of `times`,
// e.g. "0m1.250s 0m0.310s".
double children_cpu_seconds(std::string_view times_output);

// The value at fraction `p` of sorted values: the (floor(n * p) + 1)-th, so p = 0.5 is the
// upper median of an even count and p = 0.99 the 99th percentile. 0 when there are none.
long percentile(const std::vector<long>& sorted, double p);

// The median of numbers written as text, as written (the lower middle of an even count). Empty
// when there are none.
std::string median(std::vector<std::string> numbers);

// Numbers as the script's awk printed them: whole numbers without a point, others in six
// significant digits.
std::string awk_number(double value);

// One round's line for the script's progress log: a pgbench series' ("2512.3 tps (steady),
// 20112 transactions, completed 20112, events 20112"; in groups "599.1 callbacks/s (steady),
// 1590 transactions of 32, ...") or a wrk series' ("2190.4 rps, p50 6.1 ms, ..."). `series`: a name
// of run.txt's series= (least-16, tbpay-64, ...), or "ceiling" and "tbpay" for a run from before
// the series (ceiling_round_line, tbpay_round_line).
std::string round_line(const std::filesystem::path& out, const std::string& series, int round);
std::string ceiling_round_line(const std::filesystem::path& out, int round);
std::string tbpay_round_line(const std::filesystem::path& out, int round);

// The table `make bench` prints (summary.txt). `ticks_per_second`: the kernel's CLK_TCK;
// `now_utc`: the time in its header. A run's series (run.txt's series=, KIND-CONNS: least,
// grouped, tbpay, relay, statement, node) give tbpay against the least work at each
// concurrency, beside the least work in groups, tbpay with serve's relay publishing, tbpay's
// own statement and the Node.js design; a run from before the series (no series=) gives its
// one ceiling against tbpay.
std::string summary(const std::filesystem::path& out, long ticks_per_second,
                    const std::string& now_utc);

}  // namespace tbpay::bench
