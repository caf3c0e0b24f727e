// The server against requests built to abuse it: smuggled requests, absolute-form targets,
// junk on the ZaloPay route, strings holding NUL, and callbacks piled up behind a locked row.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <thread>
#include <vector>

#include "app/webhook_fixture.h"
#include "http/server.h"
#include "support/http_client.h"

namespace tbpay::test {
namespace {

using nlohmann::json;

class Served {
 public:
  explicit Served(WebhookEnv& env, http::ServerOptions options = defaults())
      : server_(env.ingestion(), env.ctx().log, std::move(options)),
        port_(port_of(server_.address())), thread_([this] { server_.run(); }) {}
  ~Served() {
    server_.stop();
    thread_.join();
  }
  unsigned short port() const { return port_; }

  static http::ServerOptions defaults() {
    http::ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.threads = 2;
    return o;
  }

 private:
  http::Server server_;
  unsigned short port_;
  std::thread thread_;
};

int return_code(const Response& r) { return json::parse(r.body()).at("return_code").get<int>(); }

// A request whose framing is in doubt hides a complete, correctly signed callback in its body.
// Read as the sender of the smuggled bytes wants, the hidden callback would complete the
// payment; the server refuses the outer request with 400, closes, and runs nothing.
TEST(HttpHardening, TransferEncodingThatDoesNotEndInChunkedIsRefusedAndNothingHiddenRuns) {
  WebhookEnv env(Engine::Sqlite);
  Served served(env);
  const std::vector<std::string> framings = {
      "Transfer-Encoding: identity\r\n",
      "Transfer-Encoding: xchunked\r\n",
      "Transfer-Encoding: gzip\r\n",
      "Transfer-Encoding: chunked, identity\r\n",
      "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
      "Transfer-Encoding: xchunked\r\nContent-Length: 0\r\n",
      "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n",
  };
  int n = 0;
  for (const auto& framing : framings) {
    const std::string order = "TB-SMUGGLE-" + std::to_string(++n);
    const Payment p = env.create_zalopay(order, 1000);
    const std::string hidden =
        raw_request("POST", "/webhook/zalopay", zalopay_callback(p.provider_transaction_id, 1000));
    HttpClient c(served.port());
    ASSERT_TRUE(c.send("POST /healthz HTTP/1.1\r\nHost: x\r\n" + framing + "\r\n" + hidden));
    auto first = c.read();
    ASSERT_TRUE(first) << framing;
    EXPECT_EQ(first->result_int(), 400) << framing;
    EXPECT_TRUE(c.closed_by_server()) << framing;
    EXPECT_EQ(env.payment(order).status, PaymentStatus::Pending) << framing;
  }
  EXPECT_EQ(env.outbox_rows(), 0);

  // A chunked body, the one Transfer-Encoding a request may carry, still works.
  const Payment p = env.create_zalopay("TB-CHUNKED-OK", 1000);
  const std::string body = zalopay_callback(p.provider_transaction_id, 1000);
  char size[16];
  std::snprintf(size, sizeof size, "%zx", body.size());
  HttpClient c(served.port());
  ASSERT_TRUE(c.send("POST /webhook/zalopay HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                     std::string(size) + "\r\n" + body + "\r\n0\r\n\r\n"));
  auto ok = c.read();
  ASSERT_TRUE(ok);
  EXPECT_EQ(return_code(*ok), 1);
}

TEST(HttpHardening, AbsoluteFormTargetsAreServed) {
  WebhookEnv env(Engine::Sqlite);
  Served served(env);
  const Payment p = env.create_zalopay("TB-ABSOLUTE", 1000);
  const std::string authority = "http://127.0.0.1:" + std::to_string(served.port());
  HttpClient c(served.port());
  auto health = c.request("GET", authority + "/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->result_int(), 200);
  auto r = c.request("POST", authority + "/webhook/zalopay?via=proxy",
                     zalopay_callback(p.provider_transaction_id, 1000));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200);
  EXPECT_EQ(return_code(*r), 1);
  EXPECT_EQ(env.payment("TB-ABSOLUTE").status, PaymentStatus::Completed);
  auto upper = c.request("GET", "HTTP://LOCALHOST/readyz");
  ASSERT_TRUE(upper);
  EXPECT_EQ(upper->result_int(), 200);
}

// ZaloPay reads a reply only from an HTTP 200: whatever the route refuses is 200, return_code -1.
TEST(HttpHardening, EverythingTheZaloPayRouteRefusesIsHttp200WithReturnCodeMinusOne) {
  WebhookEnv env(Engine::Sqlite);
  Served served(env);
  const Payment p = env.create_zalopay("TB-ZP-JUNK", 1000);
  const auto good = json::parse(zalopay_callback(p.provider_transaction_id, 1000));
  const std::string data = good["data"];
  const std::vector<std::string> bodies = {
      R"({"data":"{}","type":1})",
      "not json",
      "[1,2,3]",
      "",
      json{{"data", data}, {"mac", 12}, {"type", 1}}.dump(),
      json{{"data", json::parse(data)}, {"mac", good["mac"]}, {"type", 1}}.dump(),
      good.dump() + " trailing",
      good.dump() + std::string(1, '\0'),
      std::string(R"({"data":")") + "\xff\xfe" + R"(","mac":"00","type":1})",
  };
  HttpClient c(served.port());
  for (const auto& body : bodies) {
    auto r = c.request("POST", "/webhook/zalopay", body);
    ASSERT_TRUE(r) << body;
    EXPECT_EQ(r->result_int(), 200) << body;
    EXPECT_EQ(return_code(*r), -1) << body;
  }
  EXPECT_EQ(env.payment("TB-ZP-JUNK").status, PaymentStatus::Pending);
}

// Signed strings holding U+0000 would be cut short by the database and the logs: refused.
TEST(HttpHardening, SignedValuesHoldingNulAreRefusedNotCutShort) {
  WebhookEnv env(Engine::Postgres);
  Served served(env);
  const Payment zp = env.create_zalopay("TB-NUL-ZP", 1000);
  env.create_payos("TB-NUL-PO", 2000, "link-nul-po");
  HttpClient c(served.port());

  auto zalopay = c.request("POST", "/webhook/zalopay",
                           zalopay_callback(zp.provider_transaction_id + std::string(1, '\0') + "EVIL",
                                            1000));
  ASSERT_TRUE(zalopay);
  EXPECT_EQ(zalopay->result_int(), 200);
  EXPECT_EQ(return_code(*zalopay), -1);

  auto payos = c.request("POST", "/webhook/payos",
                         payos_webhook("link-nul-po" + std::string(1, '\0') + "junk", 2000));
  ASSERT_TRUE(payos);
  EXPECT_EQ(payos->result_int(), 400);
  auto reason = c.request(
      "POST", "/webhook/payos",
      payos_webhook("link-nul-po", 2000, "07", "expired" + std::string(1, '\0') + "cut"));
  ASSERT_TRUE(reason);
  EXPECT_EQ(reason->result_int(), 400);

  EXPECT_EQ(env.payment("TB-NUL-ZP").status, PaymentStatus::Pending);
  EXPECT_EQ(env.payment("TB-NUL-PO").status, PaymentStatus::Pending);
  EXPECT_EQ(env.outbox_rows(), 0);
}

// Another session holds a payment's row lock (SELECT ... FOR UPDATE) while more callbacks for
// it than the server has workers arrive. They take one worker between them, so /healthz,
// /readyz and a callback for another payment are answered while the lock is still held; each
// waiter is told to retry (one after waiting out lock_timeout, the others at the same moment,
// unrun); after the lock goes, re-delivery completes the payment exactly once.
TEST(HttpHardening, CallbacksStuckBehindALockedPaymentHoldUpNothingElse) {
  constexpr int kWaiters = 6;  // three times the server's 2 workers
  WebhookEnv seed(Engine::Postgres);
  const Payment locked = seed.create_zalopay("TB-LOCKED", 1000);
  const Payment other = seed.create_zalopay("TB-NOT-LOCKED", 2000);
  const std::string url = seed.db().url();
  WebhookEnv env(url + (url.find('?') == std::string::npos ? "?" : "&") + "lock_timeout=2");
  auto options = Served::defaults();
  options.queue_wait = 2s;
  Served served(env, options);

  // The test database's own session holds the lock: another session, as the core service's.
  auto& db = dynamic_cast<PgTestDatabase&>(seed.db());
  db.exec("BEGIN; SELECT 1 FROM payments WHERE id = '" + locked.id + "' FOR UPDATE");

  const std::string body = zalopay_callback(locked.provider_transaction_id, 1000);
  std::vector<std::unique_ptr<HttpClient>> waiters;
  for (int i = 0; i < kWaiters; ++i) {
    waiters.push_back(std::make_unique<HttpClient>(served.port()));
    ASSERT_TRUE(waiters.back()->send(raw_request("POST", "/webhook/zalopay", body)));
  }
  // One of them is in the database, waiting for the row.
  bool waiting = false;
  for (int i = 0; i < 400 && !waiting; ++i) {
    waiting = !db.admin_query("SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND "
                              "wait_event_type = 'Lock'",
                              {db.name()})
                   .empty();
    if (!waiting) std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(waiting);

  HttpClient c(served.port());
  auto health = c.request("GET", "/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->result_int(), 200);
  auto ready = c.request("GET", "/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->result_int(), 200);
  auto unrelated =
      c.request("POST", "/webhook/zalopay", zalopay_callback(other.provider_transaction_id, 2000));
  ASSERT_TRUE(unrelated);
  EXPECT_EQ(return_code(*unrelated), 1);
  EXPECT_EQ(seed.payment("TB-NOT-LOCKED").status, PaymentStatus::Completed);

  // Every waiter hears "retry" while the lock is still held.
  for (auto& w : waiters) {
    auto r = w->read(30s);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->result_int(), 200);
    EXPECT_EQ(return_code(*r), 0) << r->body();
  }
  EXPECT_EQ(seed.payment("TB-LOCKED").status, PaymentStatus::Pending);
  int timed_out_in_database = 0, not_run = 0;
  for (const auto& line : env.log_lines()) {
    const std::string error = line.value("error", "");
    if (error.find("lock_timeout: another session holds the row") != std::string::npos)
      ++timed_out_in_database;
    if (error.starts_with("not run")) ++not_run;
  }
  EXPECT_EQ(timed_out_in_database, 1);
  EXPECT_EQ(not_run, kWaiters - 1);

  db.exec("ROLLBACK");
  std::vector<int> codes;
  for (int i = 0; i < kWaiters; ++i) {
    auto r = c.request("POST", "/webhook/zalopay", body);
    ASSERT_TRUE(r);
    codes.push_back(return_code(*r));
  }
  EXPECT_EQ(std::count(codes.begin(), codes.end(), 1), 1);
  EXPECT_EQ(std::count(codes.begin(), codes.end(), 2), kWaiters - 1);
  EXPECT_EQ(seed.payment("TB-LOCKED").status, PaymentStatus::Completed);
  EXPECT_EQ(seed.events(seed.payment("TB-LOCKED")).size(), 1u);
}

// Two payments' rows held by another session: a callback for each waits alone for its row,
// one on each of serve's two committers (group commit). A callback for another payment is still
// committed, by a committer started beside the two stalled ones: one arriving at once (before
// the two count as stalled, and with no callback after it to notice they are), and one arriving
// later. After the locks go, the two waiting callbacks complete their payments.
TEST(HttpHardening, TwoLockedPaymentsHoldUpNoOtherCallback) {
  WebhookEnv seed(Engine::Postgres);
  const Payment first = seed.create_zalopay("TB-LOCKED-1", 1000);
  const Payment second = seed.create_zalopay("TB-LOCKED-2", 1000);
  const Payment at_once = seed.create_zalopay("TB-NOT-LOCKED-1", 2000);
  const Payment later = seed.create_zalopay("TB-NOT-LOCKED-2", 2000);
  const std::string url = seed.db().url();
  // Both far longer than the test waits: nothing is answered by running out of time.
  WebhookEnv env(url + (url.find('?') == std::string::npos ? "?" : "&") + "lock_timeout=25");
  auto options = Served::defaults();
  options.threads = 4;
  options.committers = 2;
  options.queue_wait = 25s;
  Served served(env, options);

  auto& db = dynamic_cast<PgTestDatabase&>(seed.db());
  db.exec("BEGIN; SELECT 1 FROM payments WHERE id IN ('" + first.id + "', '" + second.id +
          "') FOR UPDATE");
  const auto waiting_for_locks = [&] {
    return db.admin_query("SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND "
                          "wait_event_type = 'Lock'",
                          {db.name()})
        .size();
  };
  const auto wait_until = [](auto done) {
    for (int i = 0; i < 1000 && !done(); ++i) std::this_thread::sleep_for(5ms);
    return done();
  };
  // One after the other, so that each has a committer of its own.
  HttpClient first_client(served.port()), second_client(served.port());
  ASSERT_TRUE(first_client.send(raw_request(
      "POST", "/webhook/zalopay", zalopay_callback(first.provider_transaction_id, 1000))));
  ASSERT_TRUE(wait_until([&] { return waiting_for_locks() >= 1; }));
  ASSERT_TRUE(second_client.send(raw_request(
      "POST", "/webhook/zalopay", zalopay_callback(second.provider_transaction_id, 1000))));
  ASSERT_TRUE(wait_until([&] { return waiting_for_locks() >= 2; }));

  HttpClient c(served.port());
  for (const Payment* unrelated : {&at_once, &later}) {
    auto r = c.request("POST", "/webhook/zalopay",
                       zalopay_callback(unrelated->provider_transaction_id, 2000));
    ASSERT_TRUE(r) << unrelated->order_code << ": no answer while two committers wait for row locks";
    EXPECT_EQ(return_code(*r), 1);
    EXPECT_EQ(seed.payment(unrelated->order_code).status, PaymentStatus::Completed);
    std::this_thread::sleep_for(400ms);  // both committers well past a group's usual time
  }
  EXPECT_EQ(seed.payment("TB-LOCKED-1").status, PaymentStatus::Pending);

  db.exec("ROLLBACK");
  for (HttpClient* waiter : {&first_client, &second_client}) {
    auto r = waiter->read(30s);
    ASSERT_TRUE(r);
    EXPECT_EQ(return_code(*r), 1) << r->body();
  }
  EXPECT_EQ(seed.payment("TB-LOCKED-1").status, PaymentStatus::Completed);
  EXPECT_EQ(seed.payment("TB-LOCKED-2").status, PaymentStatus::Completed);
  EXPECT_EQ(seed.events(seed.payment("TB-LOCKED-1")).size(), 1u);
}

// Junk posted as fast as a client can: the warn lines it causes are bounded, and the lines
// written say how many were left out.
TEST(HttpHardening, RejectedRequestsWriteABoundedNumberOfLogLinesWithACount) {
  WebhookEnv env(Engine::Sqlite);
  env.ingestion().set_log_budget(5, 5);
  constexpr int kJunk = 400;
  const auto began = std::chrono::steady_clock::now();
  for (int i = 0; i < kJunk; ++i) {
    EXPECT_EQ(env.post("/webhook/zalopay", "junk").status, 200);
    EXPECT_EQ(env.post("/webhook", "junk").status, 400);
  }
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::steady_clock::now() - began)
                           .count();
  // One more of each in a later second: its line reports what was left out before it.
  std::this_thread::sleep_for(1100ms);
  env.post("/webhook/zalopay", "junk");
  env.post("/webhook", "junk");

  int lines = 0;
  std::uint64_t suppressed = 0;
  for (const auto& line : env.log_lines()) {
    if (line.value("message", "") != "webhook rejected") continue;
    ++lines;
    suppressed += line.value("suppressed", std::uint64_t{0});
  }
  // For each of the two kinds: a burst of five, then five a second for as long as it took.
  EXPECT_LE(lines, 2 * (5 + 5 * (seconds + 3)));
  // Every rejection is either a line or counted in a later one.
  EXPECT_EQ(lines + static_cast<int>(suppressed), 2 * kJunk + 2);
  EXPECT_GT(suppressed, 0u);
}

}  // namespace
}  // namespace tbpay::test
