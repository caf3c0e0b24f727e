// Relay throughput: a backlog of outbox events on PostgreSQL relayed to a Kafka cluster (the
// librdkafka mock cluster, in process) by the batched relay, and the same backlog relayed one
// event at a time (claim one, publish, wait for its ack, mark it: the old design), in the
// same run, on a fresh database of the given server.
//
//   relay_bench [--events N] [--batch B] [--single-seconds S] [--kafka-rtt-ms MS] [--server-url
//   URL] [--node-rows M]
//
// --node-rows M adds a third measurement: the same backlog relayed by a new relay (its first
// run) with M more rows beside it as the Node.js relay left what it published (only
// "publishedAt" set, 20 days old), against the batched run without them (aim: within 2x); and
// how many of them the run flagged published in its slice.
// --kafka-rtt-ms makes the mock broker answer after MS milliseconds, as a real broker across
// the network does (loopback answers in microseconds, which flatters the one-at-a-time design).
//
// The server defaults to TEST_DATABASE_URL, else DATABASE_URL (its database is not touched: a
// new one is created beside it and dropped at the end). Prints `key=value` lines for
// scripts/bench.sh, then a short table.
#include <sys/resource.h>
#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

#include <fstream>
#include <sstream>

#include "app/relay.h"
#include "publish/kafka/embedded_cluster.h"
#include "publish/kafka/kafka_publisher.h"
#include "wiring/wiring.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace tbpay;

struct Options {
  long events = 100'000;
  int batch = 500;
  double single_seconds = 15;
  std::string server_url;
  int kafka_rtt_ms = 0;  // broker round trip added by the mock cluster (0: loopback only)
  long node_rows = 0;    // rows only "publishedAt" marks, for the third measurement
};

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// psql for what the stores do not do: creating databases, seeding in one statement.
std::string psql(const std::string& url, const std::string& sql) {
  const std::string command =
      "psql -X -q -At -v ON_ERROR_STOP=1 " + shell_quote(url) + " -c " + shell_quote(sql) + " 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  std::string out;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe.get())) out.append(buffer, n);
  if (pclose(pipe.release()) != 0) throw std::runtime_error("psql: " + out);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string with_database(const std::string& server_url, const std::string& name) {
  auto query = server_url.find('?');
  std::string base = server_url.substr(0, query);
  std::string rest = query == std::string::npos ? "" : server_url.substr(query);
  auto slash = base.rfind('/');
  if (slash == std::string::npos || slash < base.find("//") + 2)
    base += "/";
  else
    base = base.substr(0, slash + 1);
  return base + name + rest;
}

// A live table has statistics, and its pages were written long ago: the run measured next
// does not pay for writing out what seeding it left in PostgreSQL's buffers.
void settle(const std::string& url) {
  psql(url, "VACUUM ANALYZE outbox");
  psql(url, "CHECKPOINT");
}

// A backlog of `n` events over n/2 payments (two events each, in createdAt order), as
// webhook ingestion leaves it when the relay has fallen behind.
// With `batch` > 0, added beside what the table holds, for other payments.
void seed(const std::string& url, long n, int batch = 0) {
  if (batch == 0) psql(url, "TRUNCATE outbox");
  psql(url, R"sql(
INSERT INTO outbox (id, "aggregateId", "aggregateType", "eventType", payload, "createdAt")
SELECT gen_random_uuid()::text, 'payment-)sql" + std::to_string(batch) + R"sql(-' || (i % )sql" +
                std::to_string(std::max(1L, n / 2)) + R"sql(),
       'Payment', CASE WHEN i % 10 = 0 THEN 'PAYMENT_FAILED' ELSE 'PAYMENT_COMPLETED' END,
       jsonb_build_object('order_code', 'TB-BENCH-' || i, 'payment_id', 'payment-' || i,
                          'amount_cents', 150000 + i, 'currency', 'VND', 'provider', 'ZALOPAY',
                          'transaction_id', '251213_TB-BENCH-' || i,
                          'completed_at', '2025-12-13T06:05:18.385Z'),
       now()::timestamp(3) - interval '1 hour' + i * interval '1 millisecond'
  FROM generate_series(1, )sql" +
                std::to_string(n) + ") AS i");
  settle(url);
}

// `n` rows as the Node.js relay left what it published: published false, "publishedAt" set,
// created 20 days ago (before every pending event).
void seed_node_rows(const std::string& url, long n) {
  psql(url, R"sql(
INSERT INTO outbox (id, "aggregateId", "aggregateType", "eventType", payload, published,
                    "publishedAt", "createdAt")
SELECT 'node-' || i, 'node-payment-' || (i % 100000), 'Payment', 'PAYMENT_COMPLETED',
       jsonb_build_object('order_code', 'TB-NODE-' || i, 'amount_cents', 150000),
       false, now()::timestamp(3) - interval '20 days' + i * interval '1 millisecond' + interval '2 s',
       now()::timestamp(3) - interval '20 days' + i * interval '1 millisecond'
  FROM generate_series(1, )sql" +
                std::to_string(n) + ") AS i");
  settle(url);
}

kafka::ProducerSettings mock_settings(const kafka::EmbeddedCluster& cluster) {
  kafka::ProducerSettings s;
  s.bootstrap_servers = cluster.bootstrap();
  s.max_in_flight = 1;  // as KAFKA_BROKERS=embedded (see ProducerSettings::max_in_flight)
  return s;
}

// CPU seconds used so far by this process (relay, librdkafka, the mock cluster) and by the
// PostgreSQL backends serving `database`: on a busy machine, wall-clock rates drift with the
// load; CPU per event does not, much.
struct Cpu {
  double relay = 0;
  double postgres = 0;
};

double process_cpu_seconds(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i)
    if (i == 14 || i == 15) ticks += std::stod(f);  // utime, stime
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

Cpu cpu_now(const std::string& server_url, const std::string& database) {
  Cpu c;
  rusage self{};
  getrusage(RUSAGE_SELF, &self);
  c.relay = static_cast<double>(self.ru_utime.tv_sec + self.ru_stime.tv_sec) +
            static_cast<double>(self.ru_utime.tv_usec + self.ru_stime.tv_usec) / 1e6;
  std::istringstream pids(
      psql(server_url, "SELECT pid FROM pg_stat_activity WHERE datname = '" + database + "'"));
  for (std::string pid; std::getline(pids, pid);)
    if (!pid.empty()) c.postgres += process_cpu_seconds(std::stoi(pid));
  return c;
}

struct Measure {
  long events = 0;
  double seconds = 0;
  Cpu cpu;  // used during the run
  double rate() const { return seconds > 0 ? static_cast<double>(events) / seconds : 0; }
  double us_per_event(double cpu_seconds) const {
    return events > 0 ? cpu_seconds * 1e6 / static_cast<double>(events) : 0;
  }
};

// Runs `f`, which returns a Measure without CPU figures, and adds them.
template <class F>
Measure with_cpu(const std::string& server_url, const std::string& database, F f) {
  const Cpu before = cpu_now(server_url, database);
  Measure m = f();
  const Cpu after = cpu_now(server_url, database);
  m.cpu = {after.relay - before.relay, after.postgres - before.postgres};
  return m;
}

Measure batched(OutboxRelay& relay, long expected) {
  const auto start = Clock::now();
  const RelayReport r = relay.drain(Clock::now() + std::chrono::minutes(10));
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (r.store_error) throw std::runtime_error(*r.store_error);
  if (r.succeeded != expected)
    throw std::runtime_error("batched relay published " + std::to_string(r.succeeded) + " of " +
                             std::to_string(expected));
  Measure m;
  m.events = r.succeeded;
  m.seconds = seconds;
  return m;
}

// The old design: one event claimed, sent, its ack awaited, its row updated; then the next.
Measure one_at_a_time(Context& ctx, EventPublisher& publisher, double budget_seconds) {
  OutboxStore& store = ctx.db->outbox();
  ClaimOptions one;
  one.limit = 1;
  one.max_retries = ctx.config.outbox_max_retries;
  Measure m;
  const auto start = Clock::now();
  const auto until = start + std::chrono::duration<double>(budget_seconds);
  while (Clock::now() < until) {
    auto claim = store.claim_batch(one);
    if (!claim) throw std::runtime_error(claim.error().message);
    if ((*claim)->events().empty()) break;
    const OutboxEvent& e = (*claim)->events().front();
    OutgoingMessage msg{e.id,
                        e.event_type == "PAYMENT_FAILED" ? "payment.failed" : "payment.completed",
                        e.aggregate_id,
                        e.payload,
                        {{"eventId", e.id},
                         {"eventType", e.event_type},
                         {"aggregateType", e.aggregate_type},
                         {"content-type", "application/json"}}};
    const auto outcomes = publisher.publish(std::span(&msg, 1), std::chrono::seconds(10));
    if (auto done = (*claim)->finish(outcomes, now_utc()); !done)
      throw std::runtime_error(done.error().message);
    if (!outcomes[0].delivered) throw std::runtime_error("one-at-a-time: " + outcomes[0].error);
    ++m.events;
  }
  m.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return m;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one;
  in >> one;
  return one;
}

Options parse(int argc, char** argv) {
  Options o;
  if (const char* u = std::getenv("TEST_DATABASE_URL"))
    o.server_url = u;
  else if (const char* d = std::getenv("DATABASE_URL"))
    o.server_url = d;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--events")
      o.events = std::stol(next());
    else if (a == "--batch")
      o.batch = std::stoi(next());
    else if (a == "--single-seconds")
      o.single_seconds = std::stod(next());
    else if (a == "--kafka-rtt-ms")
      o.kafka_rtt_ms = std::stoi(next());
    else if (a == "--server-url")
      o.server_url = next();
    else if (a == "--node-rows")
      o.node_rows = std::stol(next());
    else
      throw std::runtime_error("unknown option " + a +
                               " (see the comment at the top of bench/relay_bench.cpp)");
  }
  if (o.server_url.empty())
    throw std::runtime_error("no PostgreSQL server: set TEST_DATABASE_URL or pass --server-url");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Options o = parse(argc, argv);
    const std::string name = "tbpay_relay_bench_" + std::to_string(::getpid());
    psql(o.server_url, "CREATE DATABASE " + name);
    struct Drop {
      std::string server, name;
      ~Drop() {
        try {
          psql(server, "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
        } catch (...) {
        }
      }
    } drop{o.server_url, name};
    const std::string url = with_database(o.server_url, name);

    Config config;
    config.database_url = url;
    config.outbox_batch_size = o.batch;
    auto ctx = make_context(config);
    ctx->log =
        Logger(std::getenv("RELAY_BENCH_DEBUG") ? LogLevel::Debug : LogLevel::Warn, "/dev/stderr");
    if (auto m = ctx->db->schema().migrate(); !m) throw std::runtime_error(m.error().message);

    kafka::EmbeddedCluster cluster(1);
    if (o.kafka_rtt_ms > 0) rd_kafka_mock_broker_set_rtt(cluster.mock(), 1, o.kafka_rtt_ms);
    std::fprintf(stderr, "relay_bench: %ld events, batch %d, PostgreSQL %s, mock cluster %s\n",
                 o.events, o.batch, ctx->db->describe().c_str(), cluster.bootstrap().c_str());

    const std::string load_start = load_average();
    seed(url, o.events);
    kafka::KafkaPublisher batched_publisher(mock_settings(cluster), ctx->log);
    batched_publisher.ready(std::chrono::seconds(10));  // connected before the clock starts
    const Measure b =
        with_cpu(o.server_url, name, [&] {
          OutboxRelay relay(*ctx, batched_publisher);
          return batched(relay, o.events);
        });

    seed(url, o.events);
    kafka::ProducerSettings single = mock_settings(cluster);
    single.linger = std::chrono::milliseconds(0);  // nothing to batch: do not wait for more
    kafka::KafkaPublisher single_publisher(single, ctx->log);
    single_publisher.ready(std::chrono::seconds(10));
    const Measure s = with_cpu(o.server_url, name, [&] {
      return one_at_a_time(*ctx, single_publisher, o.single_seconds);
    });

    // The batched run again, with the Node.js relay's rows beside the backlog: a new relay,
    // whose first run walks past them all and flags some (published = true) after the events;
    // then a second backlog for the same relay, which knows where to start.
    Measure n, n2;
    long flagged = 0;
    if (o.node_rows > 0) {
      seed(url, o.events);
      seed_node_rows(url, o.node_rows);
      OutboxRelay relay(*ctx, batched_publisher);
      n = with_cpu(o.server_url, name, [&] { return batched(relay, o.events); });
      flagged = std::stol(
          psql(url, R"(SELECT count(*) FROM outbox WHERE "id" LIKE 'node-%' AND published)"));
      seed(url, o.events, 2);
      n2 = with_cpu(o.server_url, name, [&] { return batched(relay, o.events); });
    }

    const std::string load_end = load_average();
    std::printf("relay_events=%ld\n", b.events);
    std::printf("relay_seconds=%.3f\n", b.seconds);
    std::printf("relay_batch_size=%d\n", o.batch);
    std::printf("relay_events_per_s=%.0f\n", b.rate());
    std::printf("relay_one_at_a_time_events=%ld\n", s.events);
    std::printf("relay_one_at_a_time_seconds=%.3f\n", s.seconds);
    std::printf("relay_one_at_a_time_events_per_s=%.0f\n", s.rate());
    std::printf("relay_ratio=%.1f\n", s.rate() > 0 ? b.rate() / s.rate() : 0.0);
    std::printf("relay_cpu_us_per_event=%.1f\n", b.us_per_event(b.cpu.relay));
    std::printf("relay_postgres_cpu_us_per_event=%.1f\n", b.us_per_event(b.cpu.postgres));
    std::printf("relay_one_at_a_time_cpu_us_per_event=%.1f\n", s.us_per_event(s.cpu.relay));
    std::printf("relay_one_at_a_time_postgres_cpu_us_per_event=%.1f\n",
                s.us_per_event(s.cpu.postgres));
    std::printf("relay_load_average=%s..%s\n", load_start.c_str(), load_end.c_str());
    std::printf("relay_kafka_rtt_ms=%d\n", o.kafka_rtt_ms);
    if (o.node_rows > 0) {
      std::printf("relay_node_rows=%ld\n", o.node_rows);
      std::printf("relay_with_node_rows_seconds=%.3f\n", n.seconds);
      std::printf("relay_node_rows_flagged=%ld\n", flagged);
      std::printf("relay_with_node_rows_slowdown=%.2f\n",
                  b.seconds > 0 ? n.seconds / b.seconds : 0);
      std::printf("relay_with_node_rows_second_seconds=%.3f\n", n2.seconds);
      std::printf("relay_with_node_rows_second_slowdown=%.2f\n",
                  b.seconds > 0 ? n2.seconds / b.seconds : 0);
    }
    std::printf("\nbatched:        %ld events in %.2f s = %.0f events/s (batches of %d)\n",
                b.events, b.seconds, b.rate(), o.batch);
    std::printf(
        "one at a time:  %ld events in %.2f s = %.0f events/s (same backlog, first %.0f s)\n",
        s.events, s.seconds, s.rate(), o.single_seconds);
    std::printf("ratio:          %.1fx\n", s.rate() > 0 ? b.rate() / s.rate() : 0.0);
    if (o.node_rows > 0)
      std::printf(
          "Node.js rows:   %ld events in %.2f s beside %ld rows only \"publishedAt\" marks "
          "(first run of a relay, which flagged %ld of them) = %.2fx the run without them\n",
          n.events, n.seconds, o.node_rows, flagged, b.seconds > 0 ? n.seconds / b.seconds : 0);
    if (o.node_rows > 0)
      std::printf("                %ld more events in %.2f s by the same relay = %.2fx\n",
                  n2.events, n2.seconds, b.seconds > 0 ? n2.seconds / b.seconds : 0);
    std::printf("Kafka:          in-process mock cluster, broker round trip %s\n",
                o.kafka_rtt_ms > 0 ? (std::to_string(o.kafka_rtt_ms) + " ms added").c_str()
                                   : "loopback only");
    std::printf(
        "CPU per event:  batched %.1f us relay + %.1f us PostgreSQL; one at a time %.1f us + %.1f "
        "us\n",
        b.us_per_event(b.cpu.relay), b.us_per_event(b.cpu.postgres), s.us_per_event(s.cpu.relay),
        s.us_per_event(s.cpu.postgres));
    std::printf(
        "load average:   %s at the start, %s at the end (2 cores: above 2, the rates are the "
        "machine's)\n",
        load_start.c_str(), load_end.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "relay_bench: %s\n", e.what());
    return 1;
  }
}
