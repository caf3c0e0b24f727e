#include "report/report.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <unistd.h>

namespace tbpay::bench {
namespace {

namespace fs = std::filesystem;

std::string format(const char* pattern, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* pattern, ...) {
  va_list args;
  va_start(args, pattern);
  char buffer[512];
  const int n = std::vsnprintf(buffer, sizeof buffer, pattern, args);
  va_end(args);
  return std::string(buffer, std::clamp(n, 0, static_cast<int>(sizeof buffer) - 1));
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const auto end = text.find('\n');
    lines.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

std::vector<std::string_view> words_of(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t at = 0;
  while ((at = line.find_first_not_of(" \t", at)) != std::string_view::npos) {
    const auto end = std::min(line.find_first_of(" \t", at), line.size());
    words.push_back(line.substr(at, end - at));
    at = end;
  }
  return words;
}

// A number as awk reads one: its leading numeric part, 0 when there is none.
double number(std::string_view text) { return std::strtod(std::string(text).c_str(), nullptr); }

std::optional<double> strict_number(const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0') return std::nullopt;
  return value;
}

long integer(std::string_view text) { return std::strtol(std::string(text).c_str(), nullptr, 10); }

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string get(const Values& values, std::string_view key) {
  const auto it = values.find(key);
  return it == values.end() ? std::string() : it->second;
}

// A file the script must have written: a run without it is not a run this program can read.
std::string read_required(const fs::path& path) {
  if (!fs::exists(path)) throw std::runtime_error("missing " + path.string());
  return read_file(path);
}

// Clock ticks as whole ticks, as the script's `printf "%.0f"` rounded them.
long ticks(double seconds, long ticks_per_second) {
  return std::lround(std::nearbyint(seconds * static_cast<double>(ticks_per_second)));
}

// `count` over `seconds` as "%.1f"; 0 without seconds.
std::string per_second(long count, double seconds) {
  return format("%.1f", seconds > 0 ? static_cast<double>(count) / seconds : 0.0);
}

// Microseconds of CPU per unit of work, or "n/a" without work.
std::string us_per(long ticks, long count, long ticks_per_second) {
  if (count <= 0) return "n/a";
  return format("%.0f", static_cast<double>(ticks) / static_cast<double>(ticks_per_second) * 1e6 /
                            static_cast<double>(count));
}

std::string verdict(bool met) { return met ? "ok" : "MISSED"; }
bool at_least(const std::string& value, double aim) {
  const auto v = strict_number(value);
  return v && *v >= aim;
}
bool at_most(const std::string& value, double aim) {
  const auto v = strict_number(value);
  return v && *v <= aim;
}

std::string megabytes(const std::string& kilobytes) {
  return format("%.1f MB", number(kilobytes) / 1024);
}

// "a / b" to `digits` decimals, or "n/a" when b is not positive.
std::string ratio(const std::string& a, const std::string& b, int digits) {
  const double divisor = number(b);
  if (divisor <= 0) return "n/a";
  return format("%.*f", digits, number(a) / divisor);
}

std::string joined(const std::vector<std::string>& words) {
  std::string text;
  for (const auto& word : words) text += (text.empty() ? "" : " ") + word;
  return text;
}

std::string row(const std::string& measure, const std::string& value, const std::string& aim) {
  return format("%-34s %-28s %s\n", measure.c_str(), value.c_str(), aim.c_str());
}
// A row whose value is too long for the value column, and which has no aim.
std::string wide_row(const std::string& measure, const std::string& value) {
  return format("%-34s %s\n", measure.c_str(), value.c_str());
}

// Where one round of a series left its outputs in the run's folder. Series KIND-CONNS
// (scripts/bench.sh): pgbench-S-R.txt, its .times, its per-transaction logs pgbench_log_S-R.*,
// or wrk-S-R.txt and its .times; the script's note round-S-R.txt. Runs from before the series
// named them differently: pgbench-R.*, pgbench_log_R.*, round-ceiling-R.txt for the ceiling,
// wrk-main-R.* and round-tbpay-R.txt for tbpay.
struct RoundFiles {
  std::string output, times, log_prefix, note;
};

RoundFiles pgbench_files(const std::string& series, int r) {
  const auto name = series + "-" + std::to_string(r);
  return {"pgbench-" + name + ".txt", "pgbench-" + name + ".times", "pgbench_log_" + name + ".",
          "round-" + name + ".txt"};
}
RoundFiles wrk_files(const std::string& series, int r) {
  const auto name = series + "-" + std::to_string(r);
  return {"wrk-" + name + ".txt", "wrk-" + name + ".times", "", "round-" + name + ".txt"};
}
RoundFiles legacy_ceiling_files(int r) {
  const auto name = std::to_string(r);
  return {"pgbench-" + name + ".txt", "pgbench-" + name + ".times", "pgbench_log_" + name + ".",
          "round-ceiling-" + name + ".txt"};
}
RoundFiles legacy_tbpay_files(int r) {
  const auto name = std::to_string(r);
  return {"wrk-main-" + name + ".txt", "wrk-main-" + name + ".times", "",
          "round-tbpay-" + name + ".txt"};
}

// The WAL PostgreSQL wrote during a round (pg_stat_wal before and after it): its bytes, and
// how many of its records were whole pages, the first change to a page since a checkpoint
// (full_page_writes). Rounds of runs from before the script noted it have none.
struct Wal {
  long bytes = 0, full_pages = 0;

  static Wal of(const Values& notes) {
    const auto delta = [&](const std::string& key) {
      return integer(get(notes, key + "_end")) - integer(get(notes, key + "_start"));
    };
    return {delta("wal_bytes"), delta("wal_fpi")};
  }
  Wal& operator+=(const Wal& other) {
    bytes += other.bytes;
    full_pages += other.full_pages;
    return *this;
  }
};

// "5.4 KB (0.75 full pages)" per callback; "n/a" without a callback or a note of the WAL.
std::string wal_per(const Wal& wal, long callbacks) {
  if (callbacks <= 0 || wal.bytes <= 0) return "n/a";
  const auto n = static_cast<double>(callbacks);
  return format("%.1f KB (%.2f full pages)", static_cast<double>(wal.bytes) / 1024 / n,
                static_cast<double>(wal.full_pages) / n);
}

// How a pgbench series names its payments (scripts/bench.sh): `clients` clients, each
// transaction `per_transaction` callbacks. The least work and tbpay's statement run one
// callback a transaction on as many clients as connections; the least work in groups
// (grouped-C, bench/least_work_grouped.pgbench) C / group_clients callbacks a transaction on
// group_clients clients (run.txt).
struct Grouping {
  long clients = 0;
  long per_transaction = 1;
};

// One round of the ceiling: pgbench's output and logs, and what the script noted around it.
struct CeilingRound {
  long processed = 0;        // every transaction pgbench ran
  long per_transaction = 1;  // callbacks a transaction
  SteadyState steady;        // those after the first second
  std::string seconds;       // of the steady state, as "%.4f"
  std::string tps;           // callbacks a second: steady transactions x per_transaction / seconds
  long completed = 0;        // payments of the round COMPLETED (SQL)
  long events = 0;           // outbox events of them (SQL)
  long first = 0, last = 0;  // the round's payments
  long server_ticks = 0;     // CPU of the PostgreSQL server during the round
  long client_ticks = 0;     // CPU of pgbench
  Wal wal;                   // PostgreSQL's WAL during the round
  // From whole per-transaction logs (runs with series): the transactions that named one of the
  // round's payments, and whether a client ran past them (its later ones named none).
  std::optional<long> on_payments;
  bool ran_out = false;
  // PostgreSQL's CPU over the window the script sampled while the round was steady (its
  // connections made), and the transactions that ended in it; 0 without a window.
  long window_server_ticks = 0;
  long window_transactions = 0;
};

// Transactions of a per-transaction log that ended from `start` to `end` (epoch seconds).
long transactions_ending_between(std::string_view log, double start, double end) {
  long count = 0;
  for (const auto line : lines_of(log)) {
    const auto words = words_of(line);
    if (words.size() < 6) continue;
    const double at = number(words[4]) + number(words[5]) / 1e6;
    if (at >= start && at <= end) ++count;
  }
  return count;
}

// Transaction n (from 0) of client k of C, K callbacks each, names payments first + (n * C + k)
// * K up to K of them, none past last (bench/least_work.pgbench, bench/ceiling_script.py: K is
// 1; bench/least_work_grouped.pgbench); pgbench's log numbers each client's transactions from
// 1. A transaction that would have named payments past last ran out.
void count_on_payments(std::string_view log, Grouping grouping, CeilingRound& round) {
  std::map<long, long> per_client;
  for (const auto line : lines_of(log)) {
    const auto words = words_of(line);
    if (words.size() < 6) continue;
    auto& most = per_client[integer(words[0])];
    most = std::max(most, integer(words[1]));
  }
  const long k = std::max(1L, grouping.per_transaction);
  const long span = round.last - round.first;  // offsets of the round's payments: 0..span
  long on_payments = 0;
  for (const auto& [client, transactions] : per_client) {
    for (long n = 0; n < transactions; ++n) {
      const long from = (n * grouping.clients + client) * k;
      if (from + k - 1 > span) {
        round.ran_out = true;
        on_payments += std::max(0L, span - from + 1);
        break;  // the client's later transactions name none of them
      }
      on_payments += k;
    }
  }
  round.on_payments = on_payments;
}

// `whole_logs`: the round's per-transaction logs have every transaction (runs with series), so
// the transactions that named a payment are counted, by `grouping`.
CeilingRound read_ceiling_round(const fs::path& out, const RoundFiles& files, long ticks_per_second,
                                std::optional<Grouping> whole_logs = std::nullopt) {
  CeilingRound round;
  round.per_transaction = whole_logs ? whole_logs->per_transaction : 1;
  const auto output = read_required(out / files.output);
  round.processed = pgbench_processed(output).value_or(0);
  std::vector<fs::path> logs;
  for (const auto& entry : fs::directory_iterator(out)) {
    if (entry.path().filename().string().starts_with(files.log_prefix)) {
      logs.push_back(entry.path());
    }
  }
  std::sort(logs.begin(), logs.end());
  std::string log;
  for (const auto& path : logs) log += read_file(path);
  round.steady = pgbench_steady_state(log, 1);
  round.seconds = format("%.4f", round.steady.seconds);
  const double seconds = number(round.seconds);
  round.tps = per_second(round.steady.transactions * round.per_transaction, seconds);
  const auto notes = parse_key_values(read_required(out / files.note));
  round.completed = integer(get(notes, "completed"));
  round.events = integer(get(notes, "events"));
  round.first = integer(get(notes, "first"));
  round.last = integer(get(notes, "last"));
  round.server_ticks = integer(get(notes, "pg_ticks_end")) - integer(get(notes, "pg_ticks_start"));
  round.wal = Wal::of(notes);
  round.client_ticks = ticks(children_cpu_seconds(read_file(out / files.times)), ticks_per_second);
  if (whole_logs) count_on_payments(log, *whole_logs, round);
  if (notes.contains("steady_end")) {
    round.window_server_ticks =
        integer(get(notes, "pg_ticks_steady_end")) - integer(get(notes, "pg_ticks_steady_start"));
    round.window_transactions = transactions_ending_between(log, number(get(notes, "steady_start")),
                                                            number(get(notes, "steady_end")));
  }
  return round;
}

// One round of tbpay: wrk's summary and what the script noted around it.
struct TbpayRound {
  Values wrk;                       // bench/webhook.lua's summary
  long completed = 0;               // payments of the round COMPLETED (SQL)
  long events = 0;                  // outbox events of them (SQL)
  long server_ticks = 0;            // CPU of the PostgreSQL server during the round
  long tbpay_ticks = 0;             // CPU of tbpay serve
  long client_ticks = 0;            // CPU of wrk while it posted
  long runq_ns = 0;                 // time tbpay's threads waited for a CPU
  Wal wal;                          // PostgreSQL's WAL during the round
  std::string relay_drain_seconds;  // --with-relay: the backlog gone after the round
};

TbpayRound read_tbpay_round(const fs::path& out, const RoundFiles& files, long ticks_per_second) {
  TbpayRound round;
  round.wrk = parse_key_values(read_required(out / files.output));
  const auto notes = parse_key_values(read_required(out / files.note));
  const auto delta = [&](const char* key) {
    return integer(get(notes, std::string(key) + "_end")) -
           integer(get(notes, std::string(key) + "_start"));
  };
  round.completed = integer(get(notes, "completed"));
  round.events = integer(get(notes, "events"));
  round.server_ticks = delta("pg_ticks");
  round.tbpay_ticks = delta("tbpay_ticks");
  round.runq_ns = delta("runq_ns");
  round.wal = Wal::of(notes);
  // Without what wrk spent reading its callbacks before the measured seconds (runs before
  // bench/webhook.lua printed it have none: get() gives "", number() 0).
  const double setup = number(get(round.wrk, "bench_setup_cpu_s"));
  round.client_ticks = ticks(
      std::max(0.0, children_cpu_seconds(read_file(out / files.times)) - setup), ticks_per_second);
  if (notes.contains("relay_drain_end")) {
    round.relay_drain_seconds = format(
        "%.1f", number(get(notes, "relay_drain_end")) - number(get(notes, "relay_drain_start")));
  }
  return round;
}

}  // namespace

Values parse_key_values(std::string_view text) {
  Values values;
  for (const auto line : lines_of(text)) {
    const auto at = line.find('=');
    if (at == std::string_view::npos || at == 0) continue;
    values.insert_or_assign(std::string(line.substr(0, at)), std::string(line.substr(at + 1)));
  }
  return values;
}

Values parse_name_values(std::string_view text) {
  Values values;
  for (const auto line : lines_of(text)) {
    const auto words = words_of(line);
    if (words.empty()) continue;
    std::string rest;
    for (std::size_t i = 1; i < words.size(); ++i) {
      if (i > 1) rest += ' ';
      rest += words[i];
    }
    values.insert_or_assign(std::string(words[0]), rest);
  }
  return values;
}

std::optional<long> pgbench_processed(std::string_view output) {
  constexpr std::string_view kPrefix = "number of transactions actually processed: ";
  std::optional<long> processed;
  for (const auto line : lines_of(output)) {
    if (line.starts_with(kPrefix)) processed = integer(line.substr(kPrefix.size()));
  }
  return processed;
}

SteadyState pgbench_steady_state(std::string_view log, double skip_seconds) {
  struct Transaction {
    double end;
    long latency_us;
  };
  std::vector<Transaction> transactions;
  double first_start = 0, last_end = 0;
  for (const auto line : lines_of(log)) {
    const auto words = words_of(line);
    if (words.size() < 6) continue;
    const long latency = integer(words[2]);
    const double end = number(words[4]) + number(words[5]) / 1e6;
    const double start = end - static_cast<double>(latency) / 1e6;
    if (transactions.empty() || start < first_start) first_start = start;
    if (end > last_end) last_end = end;
    transactions.push_back({end, latency});
  }
  SteadyState steady;
  if (transactions.empty()) return steady;
  for (const auto& t : transactions) {
    if (t.end >= first_start + skip_seconds) {
      ++steady.transactions;
      steady.latencies_us.push_back(t.latency_us);
    }
  }
  steady.seconds = last_end - first_start - skip_seconds;
  return steady;
}

double children_cpu_seconds(std::string_view times_output) {
  const auto lines = lines_of(times_output);
  if (lines.empty()) return 0;
  double seconds = 0;
  const auto words = words_of(lines.back());
  for (std::size_t i = 0; i < words.size() && i < 2; ++i) {
    const auto m = words[i].find('m');
    if (m == std::string_view::npos) continue;
    seconds += number(words[i].substr(0, m)) * 60 + number(words[i].substr(m + 1));
  }
  return seconds;
}

long percentile(const std::vector<long>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto at = static_cast<std::size_t>(static_cast<double>(sorted.size()) * p);
  return sorted[std::min(at, sorted.size() - 1)];
}

std::string median(std::vector<std::string> numbers) {
  if (numbers.empty()) return {};
  std::stable_sort(numbers.begin(), numbers.end(),
                   [](const auto& a, const auto& b) { return number(a) < number(b); });
  return numbers[(numbers.size() + 1) / 2 - 1];
}

std::string awk_number(double value) {
  if (value == std::trunc(value) && std::fabs(value) < 1e15) return format("%.0f", value);
  return format("%.6g", value);
}

namespace {

// The rounds of one ceiling series together: steady callbacks over steady seconds, the
// latencies of every round together (a callback's is its transaction's).
struct CeilingSeries {
  Grouping grouping;
  long transactions = 0, processed = 0, server_ticks = 0, client_ticks = 0;
  long window_server_ticks = 0, window_transactions = 0;
  long completed = 0;
  Wal wal;
  std::string seconds = "0", committed = "yes";
  std::vector<std::string> rounds;  // callbacks a second per round, as "%.0f"
  std::string tps, p50, p99;        // callbacks a second, "%.1f"; milliseconds as "%.3f"
};

// `whole_logs`: the rounds' per-transaction logs have every transaction (runs with series),
// so the SQL counts are checked against the transactions that named a payment (`grouping`).
// Without: one callback a transaction.
template <typename Files>
CeilingSeries ceiling_series(const fs::path& out, int rounds, long conns, Files files,
                             long ticks_per_second, std::optional<Grouping> whole_logs) {
  CeilingSeries s;
  s.grouping = whole_logs.value_or(Grouping{conns, 1});
  std::vector<long> latencies;
  for (int r = 1; r <= rounds; ++r) {
    const auto c = read_ceiling_round(out, files(r), ticks_per_second, whole_logs);
    s.transactions += c.steady.transactions;
    s.processed += c.processed;
    s.server_ticks += c.server_ticks;
    s.client_ticks += c.client_ticks;
    s.window_server_ticks += c.window_server_ticks;
    s.window_transactions += c.window_transactions;
    s.completed += c.completed;
    s.wal += c.wal;
    s.seconds = awk_number(number(s.seconds) + number(c.seconds));
    s.rounds.push_back(format("%.0f", number(c.tps)));
    latencies.insert(latencies.end(), c.steady.latencies_us.begin(), c.steady.latencies_us.end());
    if (c.on_payments) {
      if (c.completed != *c.on_payments || c.events != *c.on_payments) {
        s.committed = format(
            "no: round %d: its transactions named %ld payments but %ld completed, %ld "
            "events",
            r, *c.on_payments, c.completed, c.events);
      } else if (c.ran_out) {
        s.committed = format("no: round %d ran out of payments, raise --payments", r);
      }
    } else if (c.completed != c.processed || c.events != c.processed) {
      if (c.processed > c.completed && c.completed >= c.last - c.first + 1 - conns) {
        s.committed = format("no: round %d ran out of payments, raise --payments", r);
      } else {
        s.committed = format("no: round %d: %ld transactions but %ld completed, %ld events", r,
                             c.processed, c.completed, c.events);
      }
    }
  }
  const double seconds = number(s.seconds);
  s.tps = per_second(s.transactions * s.grouping.per_transaction, seconds);
  std::sort(latencies.begin(), latencies.end());
  s.p50 = latencies.empty() ? "0" : format("%.3f", percentile(latencies, 0.5) / 1000.0);
  s.p99 = latencies.empty() ? "0" : format("%.3f", percentile(latencies, 0.99) / 1000.0);
  return s;
}

// The rounds of one wrk series together: successes over wrk's seconds, the median of the
// rounds' percentiles.
struct TbpaySeries {
  long conns = 0;
  long ok = 0, failed = 0, socket_errors = 0, completed = 0, events = 0;
  long server_ticks = 0, tbpay_ticks = 0, client_ticks = 0, runq_ns = 0;
  Wal wal;
  std::string seconds = "0", committed = "yes";
  std::vector<std::string> rounds, p50s, p99s, relay_drain;
  std::string rps, p50, p99, worst_p99;
};

template <typename Files>
TbpaySeries tbpay_series(const fs::path& out, int rounds, long conns, Files files,
                         long ticks_per_second) {
  TbpaySeries s;
  s.conns = conns;
  for (int r = 1; r <= rounds; ++r) {
    const auto t = read_tbpay_round(out, files(r), ticks_per_second);
    const long successes = integer(get(t.wrk, "bench_success"));
    s.ok += successes;
    s.failed += integer(get(t.wrk, "bench_failure"));
    s.socket_errors += integer(get(t.wrk, "bench_socket_errors"));
    s.completed += t.completed;
    s.events += t.events;
    s.server_ticks += t.server_ticks;
    s.tbpay_ticks += t.tbpay_ticks;
    s.client_ticks += t.client_ticks;
    s.runq_ns += t.runq_ns;
    s.wal += t.wal;
    s.seconds = awk_number(number(s.seconds) + number(get(t.wrk, "bench_seconds")));
    s.rounds.push_back(format("%.0f", number(get(t.wrk, "bench_rps"))));
    s.p50s.push_back(get(t.wrk, "bench_p50_ms"));
    s.p99s.push_back(get(t.wrk, "bench_p99_ms"));
    // Every success committed its transition and its event; a few more may have committed
    // after wrk stopped waiting (at most one per connection).
    if (t.completed < successes || t.events != t.completed || t.completed - successes > conns) {
      s.committed = format("no: round %d: %ld successes, %ld completed, %ld events", r, successes,
                           t.completed, t.events);
    }
    if (get(t.wrk, "bench_threads_exhausted") != "0") {
      s.committed = format("no: round %d ran out of callbacks, raise --payments", r);
    }
    if (!t.relay_drain_seconds.empty()) s.relay_drain.push_back(t.relay_drain_seconds);
  }
  const double seconds = number(s.seconds);
  s.rps = per_second(s.ok, seconds);
  s.p50 = median(s.p50s);
  s.p99 = median(s.p99s);
  s.worst_p99 = s.p99s.empty() ? "" : s.p99s.front();
  for (const auto& v : s.p99s) {
    if (number(v) >= number(s.worst_p99)) s.worst_p99 = v;
  }
  return s;
}

std::string header_line(const Values& run, const std::string& now_utc) {
  return format("tbpay bench %s on %s cores, %s; build %s (%s)\n", now_utc.c_str(),
                get(run, "cores").c_str(), get(run, "kernel").c_str(),
                get(run, "build_dir").c_str(),
                get(run, "build_type").empty() ? "?" : get(run, "build_type").c_str());
}

std::string table_head() {
  return row("measure", "value", "aim / check") +
         row(std::string(34, '-'), std::string(28, '-'), "-----------");
}

std::string wrk_counts(const TbpaySeries& t) {
  return format("%ld ok, %ld failed, %ld socket errors; ", t.ok, t.failed, t.socket_errors);
}

// CPU per unit of work of one side, split by process: "postgres 210 + pgbench 30 us".
std::string ceiling_cpu(const CeilingSeries& c, long ticks_per_second) {
  const long k = c.grouping.per_transaction;
  const auto pgbench = us_per(c.client_ticks, c.processed * k, ticks_per_second);
  if (c.window_transactions > 0) {
    return "postgres " +
           us_per(c.window_server_ticks, c.window_transactions * k, ticks_per_second) +
           " (steady) + pgbench " + pgbench + " us";
  }
  return "postgres " + us_per(c.server_ticks, c.processed * k, ticks_per_second) + " (with " +
         std::to_string(c.grouping.clients) + " backend starts a round) + pgbench " + pgbench +
         " us";
}
// `server`: the name of the process under wrk (tbpay, or the Node.js design).
std::string tbpay_cpu(const TbpaySeries& t, long ticks_per_second,
                      const std::string& server = "tbpay") {
  return "postgres " + us_per(t.server_ticks, t.ok, ticks_per_second) + " + " + server + " " +
         us_per(t.tbpay_ticks, t.ok, ticks_per_second) + " + wrk " +
         us_per(t.client_ticks, t.ok, ticks_per_second) + " us";
}
std::string runq_per_callback(const TbpaySeries& t) {
  return format("%.0f us",
                t.ok > 0 ? static_cast<double>(t.runq_ns) / static_cast<double>(t.ok) / 1000 : 0.0);
}

// The sections after the webhook's: many connections, relay, reconcile, Lambda, lookup, the
// micro-benchmarks. `conns_note`: what the peak RSS line covers.
std::string other_sections(const fs::path& out, const Values& run, const std::string& conns_note) {
  std::string text;
  text += row("tbpay peak RSS (" + conns_note + ")", megabytes(get(run, "peak_rss_kb")), "VmHWM");

  // Many keep-alive connections: the highest RSS sampled, wrk's figures.
  long wide_rss_kb = 0;
  const std::string rss_samples = read_file(out / "rss-wide.txt");
  for (const auto line : lines_of(rss_samples)) {
    wide_rss_kb = std::max(wide_rss_kb, integer(line));
  }
  const auto wide = parse_key_values(read_file(out / "wrk-wide.txt"));
  text += row("tbpay RSS @ " + get(run, "wide_conns") + " conns",
              megabytes(std::to_string(wide_rss_kb)),
              "<= 60 MB: " + verdict(wide_rss_kb <= 61440) + "; " + get(wide, "bench_rps") +
                  " rps, p99 " + get(wide, "bench_p99_ms") + " ms, " +
                  std::to_string(integer(get(wide, "bench_failure")) +
                                 integer(get(wide, "bench_socket_errors"))) +
                  " failed; VmHWM " + megabytes(get(run, "wide_peak_kb")));

  const auto section = get(run, "relay");
  if (section == "ok") {
    const auto relay = parse_key_values(read_file(out / "relay_bench.txt"));
    const auto batched = get(relay, "relay_events_per_s");
    const auto single = get(relay, "relay_one_at_a_time_events_per_s");
    text += row("relay events/s (batched)", batched, "100k events PG -> mock cluster");
    text += row("relay events/s (one at a time)", single, "");
    text += row("relay ratio", ratio(batched, single, 1) + "x", "aims: >= 25000 events/s, >= 50x");
    if (get(run, "relay_rtt") == "ok") {
      const auto rtt = parse_key_values(read_file(out / "relay_bench_rtt.txt"));
      const auto rtt_batched = get(rtt, "relay_events_per_s");
      const auto rtt_single = get(rtt, "relay_one_at_a_time_events_per_s");
      text += row("relay, broker 1 ms away", rtt_batched + " / " + rtt_single + " events/s",
                  "batched / one at a time = " + ratio(rtt_batched, rtt_single, 1) + "x");
    }
  } else {
    text += row("relay", "n/a",
                section == "failed"
                    ? "relay_bench failed (see " + (out / "relay_bench.log").string() + ")"
                    : "not built yet (bench/relay_bench)");
  }

  if (get(run, "reconcile") == "ok") {
    const auto pending = parse_key_values(read_file(out / "reconcile_bench.txt"));
    const auto paid = parse_key_values(read_file(out / "reconcile_bench_paid.txt"));
    const auto fraction = get(pending, "reconcile_ratio");
    text += row("reconcile payments/s", get(pending, "reconcile_payments_per_s"),
                "bound (in flight / latency) " + get(pending, "reconcile_bound_per_s") +
                    "/s: " + fraction + " of it, aim >= 0.8: " + verdict(at_least(fraction, 0.8)));
    text += row("reconcile, every one settled", get(paid, "reconcile_payments_per_s"),
                "payments/s, each a transition + event on SQLite");
  } else {
    text += row("reconcile", "n/a",
                get(run, "reconcile") == "failed"
                    ? "reconcile_bench failed (see " + (out / "reconcile_bench.log").string() + ")"
                    : "not built yet (bench/reconcile_bench)");
  }

  if (get(run, "lambda") == "ok") {
    const auto lambda = parse_name_values(read_file(out / "lambda.txt"));
    text += row("Lambda init (cold start)", get(lambda, "lambda_cold_start"),
                "exec of bootstrap -> first /invocation/next");
    text += row("Lambda first invocation", get(lambda, "lambda_webhook_first"),
                "webhook, next -> response");
    text += row("Lambda later invocations", get(lambda, "lambda_webhook_later"), "");
    const auto db = get(lambda, "lambda_webhook_db");
    if (!db.empty()) {
      // "0.412 ms (median of ..., how it was measured)": the figure, then how.
      const auto how = db.find(" (");
      std::string measured = how == std::string::npos ? "" : db.substr(how + 2);
      if (!measured.empty() && measured.back() == ')') measured.pop_back();
      text += row("Lambda database part", db.substr(0, how), measured);
      text += row("Lambda database share", ratio(db, get(lambda, "lambda_webhook_later"), 2),
                  "database part / later invocation (medians)");
    }
    text += row("Lambda RSS", get(lambda, "lambda_peak_rss"), "VmHWM");
    text += row("Lambda zip size", get(lambda, "lambda_zip_size"), "");
  } else {
    text += row("Lambda", "n/a",
                get(run, "lambda") == "failed"
                    ? "bench-lambda.sh failed (see " + (out / "lambda.log").string() + ")"
                    : "not built yet (scripts/bench-lambda.sh)");
  }

  if (get(run, "lookup") == "ok") {
    const auto lookup = parse_name_values(read_file(out / "lookup.txt"));
    const auto first_word = [&](const char* name) {
      const auto value = get(lookup, name);
      return value.substr(0, value.find(' '));
    };
    const auto lookup_ratio = first_word("lookup_ratio");
    text += row("ZaloPay rps, schema as migrated", first_word("lookup_migrated_rps"),
                "no index on providerTransactionId");
    text += row("ZaloPay rps, with lookup index", first_word("lookup_indexed_rps"),
                "tbpay migrate --lookup-index");
    text += row("ZaloPay ratio migrated / indexed", lookup_ratio,
                ">= 0.8: " + verdict(at_least(lookup_ratio, 0.8)));
  } else {
    text += row("ZaloPay lookup", "n/a",
                get(run, "lookup") == "failed"
                    ? "bench-lookup.sh failed (see " + (out / "lookup.log").string() + ")"
                    : "not run (--no-lookup)");
  }

  // The micro-benchmarks print their own table of measured against baseline, from "measured".
  const auto micro = read_file(out / "providers_bench.txt");
  if (!micro.empty()) {
    text += "\nmicro-benchmarks: verification, the log line (CPU time, same run):\n";
    bool from_here = false;
    for (const auto line : lines_of(micro)) {
      from_here = from_here || line.starts_with("measured");
      if (from_here) text += std::string(line) + "\n";
    }
  }
  text += "\ndetails: " + out.string() + "\n";
  return text;
}

// The lines above a table: the run, the server's settings, the payments, `rounds` (how the
// kinds took turns) and the load; the server is the same for `sharing`.
std::string run_heading(const Values& run, const std::string& now_utc, const std::string& sharing,
                        const std::string& rounds) {
  std::string text = "\n" + header_line(run, now_utc);
  text += "PostgreSQL (same server for " + sharing + "): " + get(run, "pg_settings") + "\n";
  text += format("payments %s (seed %s); %s; load avg %s at the start, %s at the end\n",
                 get(run, "payments").c_str(), get(run, "seed").c_str(), rounds.c_str(),
                 get(run, "load_start").c_str(), get(run, "load_end").c_str());
  return text;
}

// A run from before the series: one ceiling (tbpay's statement) against tbpay, at one
// concurrency, serve's relay publishing or not as a whole (with_relay).
std::string legacy_summary(const fs::path& out, const Values& run, long ticks_per_second,
                           const std::string& now_utc) {
  const int rounds = static_cast<int>(integer(get(run, "rounds")));
  const long conns = integer(get(run, "conns"));
  const bool with_relay = get(run, "with_relay") == "1";
  const auto c =
      ceiling_series(out, rounds, conns, legacy_ceiling_files, ticks_per_second, std::nullopt);
  const auto t = tbpay_series(out, rounds, conns, legacy_tbpay_files, ticks_per_second);
  const auto tbpay_ratio = ratio(t.rps, c.tps, 2);
  const auto conns_text = get(run, "conns");

  std::string text = run_heading(
      run, now_utc, "both sides",
      format("%s alternating rounds of %ss per side at %s connections", get(run, "rounds").c_str(),
             get(run, "duration").c_str(), conns_text.c_str()));
  text += "statement: " + get(run, "statement_note") + "\n\n";
  text += table_head();
  text += row("ceiling: pgbench tps (c=" + conns_text + ")", c.tps,
              "p50 " + c.p50 + " ms, p99 " + c.p99 + " ms; committed: " + c.committed);
  if (with_relay) {
    text +=
        row("tbpay rps (wrk c=" + conns_text + "), relay ON", t.rps,
            wrk_counts(t) + "relay backlog gone " + joined(t.relay_drain) + " s after each round");
  } else {
    text +=
        row("tbpay rps (wrk c=" + conns_text + ")", t.rps, wrk_counts(t) + "serve's relay idle");
  }
  text +=
      row("ratio tbpay / ceiling", tbpay_ratio, ">= 0.85: " + verdict(at_least(tbpay_ratio, 0.85)));
  text += row("  per round: ceiling tps", joined(c.rounds), "");
  text += row("  per round: tbpay rps", joined(t.rounds), "");
  text += row("tbpay p50 latency", t.p50 + " ms", "median of rounds");
  text += row("tbpay p99 latency", t.p99 + " ms",
              "<= 10 ms: " + verdict(at_most(t.p99, 10)) + "; median of rounds, worst " +
                  t.worst_p99 + " ms");
  text += row("successes committed (SQL check)", t.committed,
              format("completed %ld, events %ld", t.completed, t.events));
  const auto tbpay_cpu_us = us_per(t.tbpay_ticks, t.ok, ticks_per_second);
  text += row("tbpay CPU per callback", tbpay_cpu_us + " us", "utime+stime / successes");
  text += wide_row("CPU per transaction, ceiling", ceiling_cpu(c, ticks_per_second));
  text += wide_row("CPU per callback, tbpay side", tbpay_cpu(t, ticks_per_second));
  text += row("tbpay run-queue wait per callback", runq_per_callback(t),
              "its threads ready, no CPU free (the machine's load)");
  return text + other_sections(out, run, "c=" + conns_text);
}

// A series' name is KIND-CONNS (scripts/bench.sh).
long conns_of(const std::string& series) {
  return integer(std::string_view(series).substr(series.rfind('-') + 1));
}
bool is_pgbench(const std::string& series) {
  return series.starts_with("least-") || series.starts_with("grouped-") ||
         series.starts_with("statement-");
}
Grouping grouping_of(const Values& run, const std::string& series) {
  const long conns = conns_of(series);
  if (!series.starts_with("grouped-")) return {conns, 1};
  const long clients = std::max(1L, integer(get(run, "group_clients")));
  return {clients, std::max(1L, conns / clients)};
}

std::string summary_of_series(const fs::path& out, const Values& run, long ticks_per_second,
                              const std::string& now_utc) {
  const int rounds = static_cast<int>(integer(get(run, "rounds")));
  const auto series = get(run, "series");
  std::vector<std::string> names;
  for (const auto word : words_of(series)) names.emplace_back(word);
  const auto has = [&](const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  std::map<std::string, CeilingSeries> ceilings;
  std::map<std::string, TbpaySeries> tbpays;
  for (const auto& name : names) {
    const auto files = [&](int r) {
      return is_pgbench(name) ? pgbench_files(name, r) : wrk_files(name, r);
    };
    if (is_pgbench(name)) {
      ceilings.emplace(name, ceiling_series(out, rounds, conns_of(name), files, ticks_per_second,
                                            grouping_of(run, name)));
    } else {
      tbpays.emplace(name, tbpay_series(out, rounds, conns_of(name), files, ticks_per_second));
    }
  }

  std::string text = run_heading(
      run, now_utc, "every kind",
      format("%s rounds of %ss per kind, each running in turn: %s", get(run, "rounds").c_str(),
             get(run, "duration").c_str(), get(run, "series").c_str()));
  text +=
      "least work: bench/least_work.pgbench, one statement per callback (ZaloPay by \"orderCode\", "
      "PayOS by provider + \"providerTransactionId\")\n";
  if (has("statement-" + get(run, "conns"))) {
    text += "statement: " + get(run, "statement_note") + "\n";
  }
  text += "\n" + table_head();

  // tbpay against the least work, at each concurrency.
  std::vector<long> concurrencies;
  for (const auto& name : names) {
    if (name.starts_with("tbpay-") && has("least-" + std::to_string(conns_of(name)))) {
      concurrencies.push_back(conns_of(name));
    }
  }
  for (const long conns : concurrencies) {
    const auto c_text = "c=" + std::to_string(conns);
    const auto& least = ceilings.at("least-" + std::to_string(conns));
    const auto& t = tbpays.at("tbpay-" + std::to_string(conns));
    // The least work in groups: the database's part alone of a server that commits groups, so
    // its latency is what no server reaches on this database and machine.
    const auto grouped_name = "grouped-" + std::to_string(conns);
    const CeilingSeries* grouped = has(grouped_name) ? &ceilings.at(grouped_name) : nullptr;
    const auto tbpay_ratio = ratio(t.rps, least.tps, 2);
    text +=
        row("least work: pgbench tps (" + c_text + ")", least.tps,
            "p50 " + least.p50 + " ms, p99 " + least.p99 + " ms; committed: " + least.committed);
    if (grouped) {
      text += row("least work in groups (" + c_text + ")", grouped->tps,
                  format("callbacks/s, %ld transactions of %ld at once; p50 %s ms, p99 %s ms; "
                         "committed: %s",
                         grouped->grouping.clients, grouped->grouping.per_transaction,
                         grouped->p50.c_str(), grouped->p99.c_str(), grouped->committed.c_str()));
    }
    text += row("tbpay rps (wrk " + c_text + ")", t.rps, wrk_counts(t) + "serve's relay idle");
    text += row("ratio tbpay / least work (" + c_text + ")", tbpay_ratio,
                ">= 1.0: " + verdict(at_least(tbpay_ratio, 1.0)));
    text +=
        row("tbpay p50 / p99 (" + c_text + ")", t.p50 + " / " + t.p99 + " ms",
            "p99 <= 10 ms: " + verdict(at_most(t.p99, 10)) + "; median of rounds, worst " +
                t.worst_p99 + " ms" +
                (grouped ? "; the database alone, in groups: p99 " + grouped->p99 + " ms" : ""));
    text += row("  per round: least work tps", joined(least.rounds), "");
    if (grouped) text += row("  per round: in groups callbacks/s", joined(grouped->rounds), "");
    text += row("  per round: tbpay rps", joined(t.rounds), "");
    text +=
        wide_row("CPU per callback, least (" + c_text + ")", ceiling_cpu(least, ticks_per_second));
    if (grouped) {
      text += wide_row("CPU per callback, in groups (" + c_text + ")",
                       ceiling_cpu(*grouped, ticks_per_second));
    }
    text += wide_row("CPU per callback, tbpay (" + c_text + ")", tbpay_cpu(t, ticks_per_second));
    text += row("tbpay run-queue wait (" + c_text + ")", runq_per_callback(t) + " per callback",
                "its threads ready, no CPU free (the machine's load)");
    text +=
        wide_row("WAL per callback (" + c_text + ")",
                 "least " + wal_per(least.wal, least.completed) +
                     (grouped ? "; in groups " + wal_per(grouped->wal, grouped->completed) : "") +
                     "; tbpay " + wal_per(t.wal, t.completed));
  }

  // tbpay while serve's relay publishes what it ingests, against the same least work.
  for (const auto& name : names) {
    if (!name.starts_with("relay-")) continue;
    const auto conns = std::to_string(conns_of(name));
    const auto c_text = "c=" + conns;
    const auto& t = tbpays.at(name);
    text +=
        row("tbpay + relay rps (wrk " + c_text + ")", t.rps,
            wrk_counts(t) + "relay backlog gone " + joined(t.relay_drain) + " s after each round");
    if (has("least-" + conns)) {
      const auto relay_ratio = ratio(t.rps, ceilings.at("least-" + conns).tps, 2);
      std::string against_idle;
      if (has("tbpay-" + conns)) {
        against_idle =
            "; over tbpay, relay idle: " + ratio(t.rps, tbpays.at("tbpay-" + conns).rps, 2);
      }
      text += row("ratio tbpay+relay / least (" + c_text + ")", relay_ratio,
                  ">= 1.0: " + verdict(at_least(relay_ratio, 1.0)) + against_idle);
    }
    text += row("tbpay + relay p50 / p99 (" + c_text + ")", t.p50 + " / " + t.p99 + " ms",
                "p99 <= 10 ms: " + verdict(at_most(t.p99, 10)) + "; median of rounds, worst " +
                    t.worst_p99 + " ms");
    text += row("  per round: tbpay + relay rps", joined(t.rounds), "");
    text += wide_row("CPU per callback, +relay (" + c_text + ")", tbpay_cpu(t, ticks_per_second));
    text += wide_row("WAL per callback, +relay (" + c_text + ")",
                     "tbpay and its relay " + wal_per(t.wal, t.completed));
  }

  // The Node.js design tbpay replaces, on the same server, with the same kind of callbacks.
  for (const auto& name : names) {
    if (!name.starts_with("node-")) continue;
    const auto conns = std::to_string(conns_of(name));
    const auto c_text = "c=" + conns;
    const auto& t = tbpays.at(name);
    text += row("Node.js design rps (wrk " + c_text + ")", t.rps,
                wrk_counts(t) + "bench/node-design, pool of 5");
    if (has("tbpay-" + conns)) {
      text += row("ratio tbpay / Node.js (" + c_text + ")",
                  ratio(tbpays.at("tbpay-" + conns).rps, t.rps, 2), "tbpay's relay idle");
    }
    text += row("Node.js design p50 / p99 (" + c_text + ")", t.p50 + " / " + t.p99 + " ms",
                "median of rounds, worst " + t.worst_p99 + " ms");
    text += row("  per round: Node.js design rps", joined(t.rounds), "");
    text += wide_row("CPU per callback, Node.js (" + c_text + ")",
                     tbpay_cpu(t, ticks_per_second, "node"));
  }

  // tbpay's own statement run by pgbench: what tbpay's HTTP and application layers add to it.
  for (const auto& name : names) {
    if (!name.starts_with("statement-")) continue;
    const auto conns = std::to_string(conns_of(name));
    const auto c_text = "c=" + conns;
    const auto& c = ceilings.at(name);
    text += row("statement: pgbench tps (" + c_text + ")", c.tps,
                "p50 " + c.p50 + " ms, p99 " + c.p99 + " ms; committed: " + c.committed);
    if (has("tbpay-" + conns)) {
      const auto statement_ratio = ratio(tbpays.at("tbpay-" + conns).rps, c.tps, 2);
      text += row("ratio tbpay / statement (" + c_text + ")", statement_ratio,
                  ">= 0.85: " + verdict(at_least(statement_ratio, 0.85)));
    }
    text += row("  per round: statement tps", joined(c.rounds), "");
    text +=
        wide_row("CPU per callback, statement (" + c_text + ")", ceiling_cpu(c, ticks_per_second));
  }

  // Every success of every wrk round committed its transition and its event.
  std::string committed = "yes";
  long completed = 0, events = 0;
  for (const auto& name : names) {
    if (is_pgbench(name)) continue;
    const auto& t = tbpays.at(name);
    completed += t.completed;
    events += t.events;
    if (t.committed != "yes" && committed == "yes") committed = name + " " + t.committed;
  }
  text += row("successes committed (SQL check)", committed,
              format("completed %ld, events %ld (every wrk round)", completed, events));
  return text + other_sections(out, run, "all rounds");
}

}  // namespace

namespace {
std::string ceiling_line(const CeilingRound& r) {
  if (r.per_transaction > 1) {
    return format("%s callbacks/s (steady), %ld transactions of %ld, completed %ld, events %ld",
                  r.tps.c_str(), r.processed, r.per_transaction, r.completed, r.events);
  }
  return format("%s tps (steady), %ld transactions, completed %ld, events %ld", r.tps.c_str(),
                r.processed, r.completed, r.events);
}
std::string tbpay_line(const TbpayRound& r) {
  return format("%s rps, p50 %s ms, p99 %s ms, %s failed, completed %ld, events %ld",
                get(r.wrk, "bench_rps").c_str(), get(r.wrk, "bench_p50_ms").c_str(),
                get(r.wrk, "bench_p99_ms").c_str(), get(r.wrk, "bench_failure").c_str(),
                r.completed, r.events);
}
}  // namespace

std::string ceiling_round_line(const fs::path& out, int round) {
  return ceiling_line(read_ceiling_round(out, legacy_ceiling_files(round), sysconf(_SC_CLK_TCK)));
}

std::string tbpay_round_line(const fs::path& out, int round) {
  return tbpay_line(read_tbpay_round(out, legacy_tbpay_files(round), sysconf(_SC_CLK_TCK)));
}

std::string round_line(const fs::path& out, const std::string& series, int round) {
  if (series == "ceiling") return ceiling_round_line(out, round);
  if (series == "tbpay") return tbpay_round_line(out, round);
  if (is_pgbench(series)) {
    const auto run = parse_key_values(read_required(out / "run.txt"));
    return ceiling_line(read_ceiling_round(out, pgbench_files(series, round), sysconf(_SC_CLK_TCK),
                                           grouping_of(run, series)));
  }
  return tbpay_line(read_tbpay_round(out, wrk_files(series, round), sysconf(_SC_CLK_TCK)));
}

std::string summary(const fs::path& out, long ticks_per_second, const std::string& now_utc) {
  const auto run = parse_key_values(read_required(out / "run.txt"));
  if (get(run, "series").empty()) return legacy_summary(out, run, ticks_per_second, now_utc);
  return summary_of_series(out, run, ticks_per_second, now_utc);
}

}  // namespace tbpay::bench
