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

// One round of the ceiling: pgbench's output and logs, and what the script noted around it.
struct CeilingRound {
  long processed = 0;        // every transaction pgbench ran
  SteadyState steady;        // those after the first second
  std::string seconds;       // of the steady state, as "%.4f"
  std::string tps;           // steady transactions / seconds, as "%.1f"
  long completed = 0;        // payments of the round COMPLETED (SQL)
  long events = 0;           // outbox events of them (SQL)
  long first = 0, last = 0;  // the round's payments
  long server_ticks = 0;     // CPU of the PostgreSQL server during the round
  long client_ticks = 0;     // CPU of pgbench
};

CeilingRound read_ceiling_round(const fs::path& out, int r, long ticks_per_second) {
  CeilingRound round;
  const auto name = std::to_string(r);
  const auto output = read_required(out / ("pgbench-" + name + ".txt"));
  round.processed = pgbench_processed(output).value_or(0);
  std::vector<fs::path> logs;
  const auto prefix = "pgbench_log_" + name + ".";
  for (const auto& entry : fs::directory_iterator(out)) {
    if (entry.path().filename().string().starts_with(prefix)) logs.push_back(entry.path());
  }
  std::sort(logs.begin(), logs.end());
  std::string log;
  for (const auto& path : logs) log += read_file(path);
  round.steady = pgbench_steady_state(log, 1);
  round.seconds = format("%.4f", round.steady.seconds);
  const double seconds = number(round.seconds);
  round.tps =
      format("%.1f", seconds > 0 ? static_cast<double>(round.steady.transactions) / seconds : 0.0);
  const auto notes = parse_key_values(read_required(out / ("round-ceiling-" + name + ".txt")));
  round.completed = integer(get(notes, "completed"));
  round.events = integer(get(notes, "events"));
  round.first = integer(get(notes, "first"));
  round.last = integer(get(notes, "last"));
  round.server_ticks = integer(get(notes, "pg_ticks_end")) - integer(get(notes, "pg_ticks_start"));
  round.client_ticks = ticks(children_cpu_seconds(read_file(out / ("pgbench-" + name + ".times"))),
                             ticks_per_second);
  return round;
}

// One round of tbpay: wrk's summary and what the script noted around it.
struct TbpayRound {
  Values wrk;                       // bench/webhook.lua's summary
  long completed = 0;               // payments of the round COMPLETED (SQL)
  long events = 0;                  // outbox events of them (SQL)
  long server_ticks = 0;            // CPU of the PostgreSQL server during the round
  long tbpay_ticks = 0;             // CPU of tbpay serve
  long client_ticks = 0;            // CPU of wrk
  long runq_ns = 0;                 // time tbpay's threads waited for a CPU
  std::string relay_drain_seconds;  // --with-relay: the backlog gone after the round
};

TbpayRound read_tbpay_round(const fs::path& out, int r, long ticks_per_second) {
  TbpayRound round;
  const auto name = std::to_string(r);
  round.wrk = parse_key_values(read_required(out / ("wrk-main-" + name + ".txt")));
  const auto notes = parse_key_values(read_required(out / ("round-tbpay-" + name + ".txt")));
  const auto delta = [&](const char* key) {
    return integer(get(notes, std::string(key) + "_end")) -
           integer(get(notes, std::string(key) + "_start"));
  };
  round.completed = integer(get(notes, "completed"));
  round.events = integer(get(notes, "events"));
  round.server_ticks = delta("pg_ticks");
  round.tbpay_ticks = delta("tbpay_ticks");
  round.runq_ns = delta("runq_ns");
  round.client_ticks = ticks(children_cpu_seconds(read_file(out / ("wrk-main-" + name + ".times"))),
                             ticks_per_second);
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

std::string ceiling_round_line(const fs::path& out, int round) {
  const auto r = read_ceiling_round(out, round, sysconf(_SC_CLK_TCK));
  return format("%s tps (steady), %ld transactions, completed %ld, events %ld", r.tps.c_str(),
                r.processed, r.completed, r.events);
}

std::string tbpay_round_line(const fs::path& out, int round) {
  const auto r = read_tbpay_round(out, round, sysconf(_SC_CLK_TCK));
  return format("%s rps, p50 %s ms, p99 %s ms, %s failed, completed %ld, events %ld",
                get(r.wrk, "bench_rps").c_str(), get(r.wrk, "bench_p50_ms").c_str(),
                get(r.wrk, "bench_p99_ms").c_str(), get(r.wrk, "bench_failure").c_str(),
                r.completed, r.events);
}

std::string summary(const fs::path& out, long ticks_per_second, const std::string& now_utc) {
  const auto run = parse_key_values(read_required(out / "run.txt"));
  const int rounds = static_cast<int>(integer(get(run, "rounds")));
  const long conns = integer(get(run, "conns"));
  const bool with_relay = get(run, "with_relay") == "1";

  // The ceiling: steady transactions over steady seconds, latencies of every round together.
  long ceiling_transactions = 0, ceiling_processed = 0, ceiling_server = 0, ceiling_client = 0;
  std::string ceiling_seconds = "0", ceiling_committed = "yes";
  std::vector<std::string> ceiling_rounds;
  std::vector<long> ceiling_latencies;
  // tbpay: successes over wrk's seconds, the median of the rounds' percentiles.
  long ok = 0, failed = 0, socket_errors = 0, completed = 0, events = 0;
  long tbpay_server = 0, tbpay_cpu = 0, tbpay_client = 0, runq_ns = 0;
  std::string tbpay_seconds = "0", tbpay_committed = "yes";
  std::vector<std::string> tbpay_rounds, p50s, p99s, relay_drain;

  for (int r = 1; r <= rounds; ++r) {
    const auto c = read_ceiling_round(out, r, ticks_per_second);
    ceiling_transactions += c.steady.transactions;
    ceiling_processed += c.processed;
    ceiling_server += c.server_ticks;
    ceiling_client += c.client_ticks;
    ceiling_seconds = awk_number(number(ceiling_seconds) + number(c.seconds));
    ceiling_rounds.push_back(format("%.0f", number(c.tps)));
    ceiling_latencies.insert(ceiling_latencies.end(), c.steady.latencies_us.begin(),
                             c.steady.latencies_us.end());
    if (c.completed != c.processed || c.events != c.processed) {
      if (c.processed > c.completed && c.completed >= c.last - c.first + 1 - conns) {
        ceiling_committed = format("no: round %d ran out of payments, raise --payments", r);
      } else {
        ceiling_committed = format("no: round %d: %ld transactions but %ld completed, %ld events",
                                   r, c.processed, c.completed, c.events);
      }
    }

    const auto t = read_tbpay_round(out, r, ticks_per_second);
    const long successes = integer(get(t.wrk, "bench_success"));
    ok += successes;
    failed += integer(get(t.wrk, "bench_failure"));
    socket_errors += integer(get(t.wrk, "bench_socket_errors"));
    completed += t.completed;
    events += t.events;
    tbpay_server += t.server_ticks;
    tbpay_cpu += t.tbpay_ticks;
    tbpay_client += t.client_ticks;
    runq_ns += t.runq_ns;
    tbpay_seconds = awk_number(number(tbpay_seconds) + number(get(t.wrk, "bench_seconds")));
    tbpay_rounds.push_back(format("%.0f", number(get(t.wrk, "bench_rps"))));
    p50s.push_back(get(t.wrk, "bench_p50_ms"));
    p99s.push_back(get(t.wrk, "bench_p99_ms"));
    // Every success committed its transition and its event; a few more may have committed
    // after wrk stopped waiting (at most one per connection).
    if (t.completed < successes || t.events != t.completed || t.completed - successes > conns) {
      tbpay_committed = format("no: round %d: %ld successes, %ld completed, %ld events", r,
                               successes, t.completed, t.events);
    }
    if (get(t.wrk, "bench_threads_exhausted") != "0") {
      tbpay_committed = format("no: round %d ran out of callbacks, raise --payments", r);
    }
    if (!t.relay_drain_seconds.empty()) relay_drain.push_back(t.relay_drain_seconds);
  }

  const auto ceiling_tps =
      format("%.1f", static_cast<double>(ceiling_transactions) / number(ceiling_seconds));
  const auto tbpay_rps = format("%.1f", static_cast<double>(ok) / number(tbpay_seconds));
  std::sort(ceiling_latencies.begin(), ceiling_latencies.end());
  const auto ceiling_p50 =
      ceiling_latencies.empty() ? "0" : format("%.3f", percentile(ceiling_latencies, 0.5) / 1000.0);
  const auto ceiling_p99 = ceiling_latencies.empty()
                               ? "0"
                               : format("%.3f", percentile(ceiling_latencies, 0.99) / 1000.0);
  const auto p50 = median(p50s);
  const auto p99 = median(p99s);
  std::string worst_p99 = p99s.empty() ? "" : p99s.front();
  for (const auto& v : p99s) {
    if (number(v) >= number(worst_p99)) worst_p99 = v;
  }
  const auto tbpay_ratio = ratio(tbpay_rps, ceiling_tps, 2);
  const auto conns_text = get(run, "conns");

  std::string text = "\n";
  text +=
      format("tbpay bench %s on %s cores, %s; build %s (%s)\n", now_utc.c_str(),
             get(run, "cores").c_str(), get(run, "kernel").c_str(), get(run, "build_dir").c_str(),
             get(run, "build_type").empty() ? "?" : get(run, "build_type").c_str());
  text += "PostgreSQL (same server for both sides): " + get(run, "pg_settings") + "\n";
  text += format(
      "payments %s (seed %s); %s alternating rounds of %ss per side at %s connections; load avg "
      "%s at the start, %s at the end\n",
      get(run, "payments").c_str(), get(run, "seed").c_str(), get(run, "rounds").c_str(),
      get(run, "duration").c_str(), conns_text.c_str(), get(run, "load_start").c_str(),
      get(run, "load_end").c_str());
  text += "statement: " + get(run, "statement_note") + "\n\n";
  text += row("measure", "value", "aim / check");
  text += row(std::string(34, '-'), std::string(28, '-'), "-----------");
  text += row(
      "ceiling: pgbench tps (c=" + conns_text + ")", ceiling_tps,
      "p50 " + ceiling_p50 + " ms, p99 " + ceiling_p99 + " ms; committed: " + ceiling_committed);
  const auto counts = format("%ld ok, %ld failed, %ld socket errors; ", ok, failed, socket_errors);
  if (with_relay) {
    text += row("tbpay rps (wrk c=" + conns_text + "), relay ON", tbpay_rps,
                counts + "relay backlog gone " + joined(relay_drain) + " s after each round");
  } else {
    text += row("tbpay rps (wrk c=" + conns_text + ")", tbpay_rps, counts + "serve's relay idle");
  }
  text +=
      row("ratio tbpay / ceiling", tbpay_ratio, ">= 0.85: " + verdict(at_least(tbpay_ratio, 0.85)));
  text += row("  per round: ceiling tps", joined(ceiling_rounds), "");
  text += row("  per round: tbpay rps", joined(tbpay_rounds), "");
  text += row("tbpay p50 latency", p50 + " ms", "median of rounds");
  text += row(
      "tbpay p99 latency", p99 + " ms",
      "<= 10 ms: " + verdict(at_most(p99, 10)) + "; median of rounds, worst " + worst_p99 + " ms");
  text += row("successes committed (SQL check)", tbpay_committed,
              format("completed %ld, events %ld", completed, events));
  const auto tbpay_cpu_us = us_per(tbpay_cpu, ok, ticks_per_second);
  text += row("tbpay CPU per callback", tbpay_cpu_us + " us", "utime+stime / successes");
  text += format("%-34s %s\n", "CPU per transaction, ceiling",
                 ("postgres " + us_per(ceiling_server, ceiling_processed, ticks_per_second) +
                  " (with " + conns_text + " backend starts a round) + pgbench " +
                  us_per(ceiling_client, ceiling_processed, ticks_per_second) + " us")
                     .c_str());
  text += format("%-34s %s\n", "CPU per callback, tbpay side",
                 ("postgres " + us_per(tbpay_server, ok, ticks_per_second) + " + tbpay " +
                  tbpay_cpu_us + " + wrk " + us_per(tbpay_client, ok, ticks_per_second) + " us")
                     .c_str());
  text += row("tbpay run-queue wait per callback",
              format("%.0f us",
                     ok > 0 ? static_cast<double>(runq_ns) / static_cast<double>(ok) / 1000 : 0.0),
              "its threads ready, no CPU free (the machine's load)");
  text += row("tbpay peak RSS (c=" + conns_text + ")", megabytes(get(run, "peak_rss_kb")), "VmHWM");

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
    text += "\nverification micro-benchmarks (CPU time, same run):\n";
    bool from_here = false;
    for (const auto line : lines_of(micro)) {
      from_here = from_here || line.starts_with("measured");
      if (from_here) text += std::string(line) + "\n";
    }
  }
  text += "\ndetails: " + out.string() + "\n";
  return text;
}

}  // namespace tbpay::bench
