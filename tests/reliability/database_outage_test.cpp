// Scenario 2, database outage: PostgreSQL stops under load and comes back on the same port.
// While it is down every callback is told to retry (never success), /readyz says 503 and the
// server stays up without its memory running away; afterwards it reconnects by itself and
// re-delivered callbacks complete every payment exactly once.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "reliability/support/serve.h"
#include "store/postgres/connection.h"
#include "support/test_database.h"

namespace tbpay::reliability {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kPayments = 600;
constexpr int kDeliveredBefore = 100;  // completed before the outage
constexpr int kLoadClients = 8;
constexpr auto kOutage = 12s;
constexpr int kKilledPayments = 1000;

struct Sample {
  Clock::time_point sent, replied;
  Provider provider = Provider::ZaloPay;
  bool answered = false;
  int status = 0;
  std::string body;
};

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Posts one callback until the provider would stop retrying: success or duplicate.
bool deliver_until_settled(unsigned short port, const SeededPayment& p, int attempts) {
  for (int i = 0; i < attempts; ++i) {
    auto r = http_once(port, raw_request("POST", webhook_path(p.provider), signed_callback(p)));
    if (r) {
      const auto m = meaning_of(p.provider, status_of(*r), r->body());
      if (m == ReplyMeaning::Success || m == ReplyMeaning::Duplicate) return true;
      if (m != ReplyMeaning::Retry) return false;
    }
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

// A database on the cluster, as `tbpay migrate` leaves it; its URL.
std::string migrated_database(ThrowawayCluster& cluster, const TempFolder& folder) {
  pg_query(cluster.admin_url(), "CREATE DATABASE tbpay");
  const std::string url = with_database(cluster.admin_url(), "tbpay");
  const auto migrate = run_tbpay({"migrate"}, tbpay_env(url), folder.path(), "migrate");
  if (migrate.exit_code != 0)
    throw std::runtime_error("tbpay migrate failed: " + migrate.err + migrate.out);
  return url;
}

TEST(DatabaseOutage, CallbacksAreToldToRetryWhileItIsDownAndCompleteExactlyOnceAfterRestart) {
  ThrowawayCluster cluster;
  TempFolder folder;
  const std::string url = migrated_database(cluster, folder);
  const auto payments = seed_payments(url, "TB-OUTAGE-", kPayments);
  ServeUnderTest serve(tbpay_env(url), folder.path());
  const auto port = serve.port();

  for (int i = 0; i < kDeliveredBefore; ++i)
    ASSERT_TRUE(deliver_until_settled(port, payments[i], 1)) << payments[i].order_code;

  // Load: clients keep posting callbacks of the other payments, round and round.
  std::atomic<bool> stop_load{false};
  std::vector<std::vector<Sample>> samples(kLoadClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kLoadClients; ++c) {
    clients.emplace_back([&, c] {
      std::unique_ptr<HttpClient> conn;
      for (std::size_t k = kDeliveredBefore + c; !stop_load; k += kLoadClients) {
        const auto& p =
            payments[kDeliveredBefore + (k - kDeliveredBefore) % (kPayments - kDeliveredBefore)];
        Sample s;
        s.provider = p.provider;
        s.sent = Clock::now();
        try {
          if (!conn) conn = std::make_unique<HttpClient>(port);
          if (auto r = conn->post(webhook_path(p.provider), signed_callback(p))) {
            s.answered = true;
            s.status = status_of(*r);
            s.body = std::move(r->body());
          } else {
            conn.reset();
          }
        } catch (const std::exception&) {
          conn.reset();
        }
        s.replied = Clock::now();
        samples[c].push_back(std::move(s));
        std::this_thread::sleep_for(5ms);
      }
    });
  }

  std::this_thread::sleep_for(1s);
  cluster.stop();
  const auto down = Clock::now();
  std::vector<int> readyz_during;
  long rss_early = 0;
  while (Clock::now() - down < kOutage) {
    if (auto r = http_once(port, raw_request("GET", "/readyz", {})))
      readyz_during.push_back(status_of(*r));
    else
      readyz_during.push_back(-1);
    if (rss_early == 0 && Clock::now() - down > 2s) rss_early = serve.process().rss_kib();
    std::this_thread::sleep_for(250ms);
  }
  const long rss_late = serve.process().rss_kib();
  const bool alive_during = serve.process().running();
  const auto up_begin = Clock::now();
  cluster.restart();
  std::this_thread::sleep_for(1s);
  stop_load = true;
  for (auto& t : clients) t.join();

  // While down: every callback got a reply, and it asked the provider to retry.
  std::map<ReplyMeaning, int> during;
  int total = 0, unanswered = 0;
  double slowest_ms = 0;
  for (const auto& per_client : samples) {
    for (const auto& s : per_client) {
      ++total;
      if (!s.answered) {
        ++unanswered;
        continue;
      }
      if (s.sent < down || s.replied > up_begin) continue;
      const auto m = meaning_of(s.provider, s.status, s.body);
      ++during[m];
      slowest_ms = std::max(slowest_ms, ms(s.replied - s.sent));
      EXPECT_EQ(m, ReplyMeaning::Retry)
          << to_string(s.provider) << " got " << s.status << " " << s.body;
    }
  }
  EXPECT_EQ(unanswered, 0) << "requests without a reply (each waited at most 30 s)";
  EXPECT_GT(during[ReplyMeaning::Retry], 100);
  EXPECT_TRUE(alive_during);
  ASSERT_FALSE(readyz_during.empty());
  for (int status : readyz_during) EXPECT_EQ(status, 503);
  // Thousands of failed callbacks later the server holds no more memory than it settled at.
  EXPECT_GT(rss_early, 0);
  EXPECT_LT(rss_late - rss_early, 64 * 1024)
      << "RSS " << rss_early << " KiB -> " << rss_late << " KiB";

  // After restart: ready again without being restarted itself.
  bool ready = false;
  for (int i = 0; i < 120 && !ready; ++i) {
    auto r = http_once(port, raw_request("GET", "/readyz", {}));
    ready = r && status_of(*r) == 200;
    if (!ready) std::this_thread::sleep_for(250ms);
  }
  ASSERT_TRUE(ready) << "/readyz never came back to 200";

  // Re-delivering every callback completes every payment exactly once.
  for (const auto& p : payments) EXPECT_TRUE(deliver_until_settled(port, p, 10)) << p.order_code;
  EXPECT_EQ(pg_count(url, "SELECT count(*) FROM payments WHERE status = 'COMPLETED'"), kPayments);
  EXPECT_EQ(pg_count(url, "SELECT count(*) FROM outbox"), kPayments);
  EXPECT_EQ(pg_count(url, R"(SELECT count(*) FROM payments p WHERE
              (SELECT count(*) FROM outbox o WHERE o."aggregateId" = p.id) <> 1)"),
            0);
  int processed = 0;
  for (const auto& line : serve.process().log_lines())
    if (line.value("outcome", "") == "processed") ++processed;
  EXPECT_EQ(processed, kPayments);
  EXPECT_TRUE(serve.process().running());
  std::printf(
      "outage: %.1f s down under load; %d requests in all, %d answered retry while down "
      "(slowest %.0f ms); %zu /readyz checks all 503; RSS %ld -> %ld KiB\n",
      std::chrono::duration<double>(up_begin - down).count(), total, during[ReplyMeaning::Retry],
      slowest_ms, readyz_during.size(), rss_early, rss_late);
}

// The other face of an outage: the server stays up but ends every session (a failover, an
// administrator's pg_terminate_backend), again and again under load. A callback may be told
// to retry, never refused or lost; each payment completes exactly once.
TEST(DatabaseOutage, SessionsKilledUnderLoadCostARetryAtMostAndNoPaymentTwice) {
  test::PgTestDatabase db;
  db.migrate();
  TempFolder folder;
  const auto payments = seed_payments(db.url(), "TB-KILLED-", kKilledPayments);
  ServeUnderTest serve(tbpay_env(db.url()), folder.path());
  const auto port = serve.port();

  std::atomic<std::size_t> next{0};
  std::atomic<int> retries{0}, refused{0}, unsettled{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kLoadClients; ++c) {
    clients.emplace_back([&] {
      HttpClient conn(port);
      for (std::size_t k; (k = next.fetch_add(1)) < payments.size();) {
        const auto& p = payments[k];
        bool settled = false;
        for (int attempt = 0; attempt < 20 && !settled; ++attempt) {
          auto r = conn.post(webhook_path(p.provider), signed_callback(p));
          const auto m = r ? meaning_of(p.provider, status_of(*r), r->body()) : ReplyMeaning::Other;
          settled = m == ReplyMeaning::Success || m == ReplyMeaning::Duplicate;
          if (m == ReplyMeaning::Retry) ++retries;
          if (m == ReplyMeaning::Rejected || m == ReplyMeaning::Other) ++refused;
        }
        if (!settled) ++unsettled;
        std::this_thread::sleep_for(5ms);  // spread over many kill rounds
      }
    });
  }
  int kills = 0, sessions_ended = 0;
  while (next.load() < payments.size()) {
    // (Not waiting for the sessions to be gone, as terminate_connections() does: the server
    // opens new ones at once.)
    sessions_ended += static_cast<int>(pg_count(std::getenv("TEST_DATABASE_URL"), R"(
        SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE datname = $1 AND pid <> pg_backend_pid())",
                                                {db.name()}));
    ++kills;
    std::this_thread::sleep_for(50ms);
  }
  for (auto& t : clients) t.join();

  EXPECT_EQ(refused.load(), 0);
  EXPECT_EQ(unsettled.load(), 0);
  EXPECT_GT(sessions_ended, 0);
  EXPECT_EQ(pg_count(db.url(), "SELECT count(*) FROM payments WHERE status = 'COMPLETED'"),
            kKilledPayments);
  EXPECT_EQ(pg_count(db.url(), "SELECT count(*) FROM outbox"), kKilledPayments);
  EXPECT_EQ(pg_count(db.url(), R"(SELECT count(*) FROM payments p WHERE
              (SELECT count(*) FROM outbox o WHERE o."aggregateId" = p.id) <> 1)"),
            0);
  auto ready = http_once(port, raw_request("GET", "/readyz", {}));
  ASSERT_TRUE(ready);
  EXPECT_EQ(status_of(*ready), 200);
  std::printf(
      "sessions killed: %d rounds ended %d sessions; %d retry replies, %d payments completed "
      "once\n",
      kills, sessions_ended, retries.load(), kKilledPayments);
}

// The outage that looks like nothing: the server is frozen (SIGSTOP), so TCP connections stay
// open and new ones are accepted, but nothing is ever answered, as with a hung host or a dead
// network path. Without a bound on each wait a callback would hold its server thread forever,
// and a few of them the whole server. With DATABASE_URL's socket_timeout (Prisma's argument;
// libpq's connect_timeout bounds the new connections tried meanwhile) every callback is told
// to retry, more callbacks than server threads included; /readyz says 503; once the database
// carries on, every payment completes exactly once.
TEST(DatabaseOutage, AFrozenDatabaseCostsEachCallbackARetryNotAServerThread) {
  constexpr int kFrozenPayments = 24;  // 3 rounds of 8 clients: twice the server's 4 threads
  constexpr int kClients = 8;
  ThrowawayCluster cluster;
  TempFolder folder;
  const std::string url = migrated_database(cluster, folder);
  const auto payments = seed_payments(url, "TB-FROZEN-", kFrozenPayments + 1);
  ServeUnderTest serve(tbpay_env(url + "?socket_timeout=2&connect_timeout=2"), folder.path());
  const auto port = serve.port();
  // Pooled connections are open and warm when the database stops answering.
  ASSERT_TRUE(deliver_until_settled(port, payments[kFrozenPayments], 10));

  cluster.freeze();  // a failure meanwhile still ends well: stopping a cluster thaws it
  std::vector<std::optional<Response>> replies(kFrozenPayments);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int i = c; i < kFrozenPayments; i += kClients) {
        const auto& p = payments[i];
        replies[i] =
            http_once(port, raw_request("POST", webhook_path(p.provider), signed_callback(p)), 60s);
      }
    });
  }
  const auto readyz = http_once(port, raw_request("GET", "/readyz", {}), 60s);
  for (auto& t : clients) t.join();
  const bool alive = serve.process().running();
  cluster.thaw();

  for (int i = 0; i < kFrozenPayments; ++i) {
    const auto& p = payments[i];
    ASSERT_TRUE(replies[i].has_value()) << p.order_code << ": no reply in 60 s";
    EXPECT_EQ(meaning_of(p.provider, status_of(*replies[i]), replies[i]->body()),
              ReplyMeaning::Retry)
        << p.order_code << " got " << status_of(*replies[i]) << " " << replies[i]->body();
  }
  ASSERT_TRUE(readyz.has_value()) << "/readyz: no reply in 60 s";
  EXPECT_EQ(status_of(*readyz), 503);
  EXPECT_TRUE(alive);
  // The log says, for every callback, which bound ended its wait, in words an operator can act
  // on. Which bound it is depends on timing alone: a warm pooled connection meets
  // socket_timeout, a new one (the pool grows under load) libpq's connect_timeout, and one
  // that waited for a worker past the queue bound is not run at all. (The first failures in
  // the log are those of the freeze: the delivery before it succeeded.)
  int explained = 0;
  for (const auto& line : serve.process().log_lines()) {
    if (line.value("outcome", "") != "temporary_failure") continue;
    if (explained == kFrozenPayments) break;
    const std::string error = line.value("error", "");
    EXPECT_TRUE(
        error.find("no answer from the database within 2 s (socket_timeout)") != std::string::npos ||
        error.find("timeout expired") != std::string::npos || error.starts_with("not run: waited"))
        << "a retry whose log line names no bound: " << line.dump();
    ++explained;
  }
  EXPECT_EQ(explained, kFrozenPayments);

  for (int i = 0; i < kFrozenPayments; ++i)
    EXPECT_TRUE(deliver_until_settled(port, payments[i], 50)) << payments[i].order_code;
  EXPECT_EQ(pg_count(url, "SELECT count(*) FROM payments WHERE status = 'COMPLETED'"),
            kFrozenPayments + 1);
  EXPECT_EQ(pg_count(url, "SELECT count(*) FROM outbox"), kFrozenPayments + 1);
}

// Sending is bounded too: a statement larger than the sockets' buffers, sent to a frozen server,
// would block in the kernel's send forever on a blocking connection.
TEST(DatabaseOutage, AStatementLargerThanTheSocketBuffersStillTimesOutOnAFrozenServer) {
  ThrowawayCluster cluster;
  constexpr pg::Statement kLength{"length_of", "SELECT length($1::text)"};
  // Beyond what loopback's socket buffers hold (tcp_wmem 4 MiB + tcp_rmem up to 32 MiB here).
  const std::string big(64 << 20, 'x');
  {  // A live server takes it whole (with time to spare for sending 64 MiB).
    pg::Pool roomy(cluster.admin_url() + "?socket_timeout=120", 1);
    auto rows = roomy.run(kLength, {big}, pg::Pool::Retry::No);
    ASSERT_TRUE(rows) << rows.error().message;
    EXPECT_EQ(rows->integer(0, 0), 64 << 20);
  }
  pg::Pool pool(cluster.admin_url() + "?socket_timeout=1", 1);
  ASSERT_TRUE(pool.run(kLength, {"warm"}, pg::Pool::Retry::No));  // connected before the freeze

  cluster.freeze();
  auto unanswered = pool.run(kLength, {big}, pg::Pool::Retry::No);
  ASSERT_FALSE(unanswered);
  EXPECT_NE(unanswered.error().message.find("no answer from the database within 1 s"),
            std::string::npos)
      << unanswered.error().message;
}

}  // namespace
}  // namespace tbpay::reliability
