// The HTTP server over real sockets: routing, limits, timeouts, keep-alive and graceful
// shutdown, with webhook ingestion on a real database behind it.
#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>

#include "app/webhook_fixture.h"
#include "http/server.h"
#include "support/http_client.h"

namespace tbpay::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

using nlohmann::json;

http::ServerOptions test_options() {
  http::ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.threads = 4;
  return o;
}

// The server running on its own thread; stopped and joined on destruction.
class LiveServer {
 public:
  LiveServer(WebhookEnv& env, http::ServerOptions options = test_options())
      : server_(env.ingestion(), env.ctx().log, std::move(options)),
        port_(port_of(server_.address())), thread_([this] { server_.run(); }) {}
  ~LiveServer() { stop(); }
  unsigned short port() const { return port_; }
  void request_stop() { server_.stop(); }
  // Stops and waits until run() has returned.
  void stop() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  bool running() const { return thread_.joinable(); }

 private:
  http::Server server_;
  unsigned short port_;
  std::thread thread_;
};

class HttpServer : public ::testing::Test {
 protected:
  WebhookEnv env{Engine::Sqlite};
};

TEST_F(HttpServer, HealthzAnswersOk) {
  LiveServer server(env);
  HttpClient c(server.port());
  auto r = c.request("GET", "/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200);
  EXPECT_EQ((*r)[bhttp::field::content_type], "application/json");
  EXPECT_EQ(json::parse(r->body()), json::parse(R"({"status":"ok"})"));
}

TEST_F(HttpServer, ReadyzAnswersWhenTheDatabaseIsReachable) {
  LiveServer server(env);
  HttpClient c(server.port());
  auto r = c.request("GET", "/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200);
}

TEST(HttpServerDatabaseDown, ReadyzIs503AndCallbacksAskForRetry) {
  WebhookEnv env("postgresql://postgres@127.0.0.1:1/tbpay");
  LiveServer server(env);
  HttpClient c(server.port());
  auto ready = c.request("GET", "/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->result_int(), 503);
  auto health = c.request("GET", "/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->result_int(), 200);
  auto payos = c.request("POST", "/webhook/payos", payos_webhook("link-down", 1000));
  ASSERT_TRUE(payos);
  EXPECT_EQ(payos->result_int(), 503);
}

TEST_F(HttpServer, RoutesAliasesAndQueryStrings) {
  LiveServer server(env);
  const Payment a = env.create_zalopay("TB-HTTP-A", 1000);
  env.create_payos("TB-HTTP-B", 2000, "link-http-b");
  const Payment c3 = env.create_zalopay("TB-HTTP-C", 3000);
  HttpClient c(server.port());

  auto r1 = c.request("POST", "/webhook/zalo-pay?source=zalopay",
                      zalopay_callback(a.provider_transaction_id, 1000));
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->result_int(), 200);
  EXPECT_EQ(json::parse(r1->body())["return_code"], 1);
  auto r2 = c.request("POST", "/webhook/pay-os", payos_webhook("link-http-b", 2000));
  ASSERT_TRUE(r2);
  EXPECT_EQ(json::parse(r2->body())["error"], 0);
  auto r3 = c.request("POST", "/webhook", zalopay_callback(c3.provider_transaction_id, 3000));
  ASSERT_TRUE(r3);
  EXPECT_EQ(json::parse(r3->body())["return_code"], 1);

  EXPECT_EQ(env.payment("TB-HTTP-A").status, PaymentStatus::Completed);
  EXPECT_EQ(env.payment("TB-HTTP-B").status, PaymentStatus::Completed);
  EXPECT_EQ(env.payment("TB-HTTP-C").status, PaymentStatus::Completed);
}

TEST_F(HttpServer, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  LiveServer server(env);
  HttpClient c(server.port());
  auto missing = c.request("GET", "/nope");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->result_int(), 404);
  EXPECT_TRUE(json::accept(missing->body()));

  auto get = c.request("GET", "/webhook/payos");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->result_int(), 405);
  EXPECT_EQ((*get)[bhttp::field::allow], "POST");
  auto del = c.request("DELETE", "/healthz");
  ASSERT_TRUE(del);
  EXPECT_EQ(del->result_int(), 405);
  EXPECT_EQ((*del)[bhttp::field::allow], "GET, HEAD");
}

TEST_F(HttpServer, MalformedJsonIs400WithJsonBodyExceptOnTheZaloPayRoute) {
  LiveServer server(env);
  HttpClient c(server.port());
  for (const char* path : {"/webhook", "/webhook/zalopay", "/webhook/payos"}) {
    auto r = c.request("POST", path, "{\"data\": [1, 2");
    ASSERT_TRUE(r) << path;
    // ZaloPay reads return_code only from an HTTP 200.
    EXPECT_EQ(r->result_int(), std::string_view(path) == "/webhook/zalopay" ? 200 : 400) << path;
    EXPECT_EQ((*r)[bhttp::field::content_type], "application/json");
    EXPECT_TRUE(json::accept(r->body())) << r->body();
  }
}

TEST_F(HttpServer, BrokenHttpIs400AndTheServerKeepsServing) {
  LiveServer server(env);
  HttpClient bad(server.port());
  ASSERT_TRUE(bad.send("THIS IS NOT HTTP\r\n\r\n"));
  auto r = bad.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 400);
  EXPECT_TRUE(json::accept(r->body()));

  HttpClient good(server.port());
  auto ok = good.request("GET", "/healthz");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->result_int(), 200);
}

TEST_F(HttpServer, OversizedHeaderIs431) {
  LiveServer server(env);
  HttpClient c(server.port());
  ASSERT_TRUE(c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') +
                     "\r\n\r\n"));
  auto r = c.read();
  ASSERT_TRUE(r) << c.last_error();
  EXPECT_EQ(r->result_int(), 431);
  HttpClient next(server.port());
  EXPECT_TRUE(next.request("GET", "/healthz"));
}

TEST_F(HttpServer, DeclaredBodyOver64KiBIs413WithoutSendingIt) {
  LiveServer server(env);
  HttpClient c(server.port());
  // Only the header: the server must answer without waiting for 70,000 bytes.
  ASSERT_TRUE(c.send("POST /webhook/zalopay HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Content-Length: 70000\r\n\r\n"));
  auto r = c.read();
  ASSERT_TRUE(r) << c.last_error();
  EXPECT_EQ(r->result_int(), 413);
  EXPECT_TRUE(json::accept(r->body()));
  EXPECT_FALSE(r->keep_alive());
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(HttpServer, ChunkedBodyOver64KiBIs413) {
  LiveServer server(env);
  HttpClient c(server.port());
  std::string raw = "POST /webhook/payos HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string chunk(8192, 'x');
  for (int i = 0; i < 9; ++i) raw += "2000\r\n" + chunk + "\r\n";
  raw += "0\r\n\r\n";
  c.send(raw);
  auto r = c.read();
  ASSERT_TRUE(r) << c.last_error();
  EXPECT_EQ(r->result_int(), 413);

  // Just under the limit, chunked: read whole and handed to the provider (not a callback).
  HttpClient small(server.port());
  std::string ok = "POST /webhook/payos HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 7; ++i) ok += "2000\r\n" + chunk + "\r\n";
  ok += "0\r\n\r\n";
  small.send(ok);
  auto r2 = small.read();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->result_int(), 400);
}

TEST_F(HttpServer, BodyOfExactly64KiBIsRead) {
  LiveServer server(env);
  HttpClient c(server.port());
  auto r = c.request("POST", "/webhook/payos", std::string(64 * 1024, ' '));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 400);  // read whole, then refused as not a webhook
}

TEST_F(HttpServer, KeepAliveAndPipelinedRequestsOnOneConnection) {
  LiveServer server(env);
  const Payment p = env.create_zalopay("TB-KEEP", 1000);
  HttpClient c(server.port());
  for (int i = 0; i < 3; ++i) {
    auto r = c.request("GET", "/healthz");
    ASSERT_TRUE(r) << i;
    EXPECT_TRUE(r->keep_alive());
  }
  // Two requests in one write: two answers, in order.
  ASSERT_TRUE(c.send(raw_request("POST", "/webhook/zalopay",
                                 zalopay_callback(p.provider_transaction_id, 1000)) +
                     raw_request("GET", "/nope")));
  auto first = c.read();
  auto second = c.read();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(json::parse(first->body())["return_code"], 1);
  EXPECT_EQ(second->result_int(), 404);
}

TEST_F(HttpServer, ExpectContinueIsHonoured) {
  LiveServer server(env);
  const Payment p = env.create_zalopay("TB-CONTINUE", 1000);
  const std::string body = zalopay_callback(p.provider_transaction_id, 1000);
  HttpClient c(server.port());
  ASSERT_TRUE(c.send("POST /webhook/zalopay HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                     "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n"));
  auto interim = c.read();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->result_int(), 100);
  ASSERT_TRUE(c.send(body));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->body())["return_code"], 1);
}

TEST_F(HttpServer, SlowAndIdleClientsAreCutOffWhileOthersAreServed) {
  auto options = test_options();
  options.first_request_timeout = 300ms;
  options.request_timeout = 300ms;
  options.idle_timeout = 500ms;
  LiveServer server(env, options);

  HttpClient silent(server.port());  // connects, says nothing
  HttpClient slow(server.port());    // starts a request, never finishes it
  ASSERT_TRUE(slow.send("POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Len"));
  HttpClient drip(server.port());    // one byte at a time
  HttpClient idle(server.port());    // one request, then nothing
  ASSERT_TRUE(idle.request("GET", "/healthz"));

  // Meanwhile a normal client is served.
  HttpClient normal(server.port());
  auto r = normal.request("GET", "/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200);

  const std::string header = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ";
  bool drip_cut = false;
  for (int i = 0; i < 100 && !drip_cut; ++i) {
    drip_cut = !drip.send(std::string(1, header[i % header.size()]));
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(drip_cut || drip.closed_by_server());
  EXPECT_TRUE(silent.closed_by_server());
  EXPECT_TRUE(slow.closed_by_server());
  EXPECT_TRUE(idle.closed_by_server());

  HttpClient after(server.port());
  ASSERT_TRUE(after.request("GET", "/healthz"));
}

TEST_F(HttpServer, ManyIdleConnectionsDoNotStallOthers) {
  LiveServer server(env);
  const Payment p = env.create_zalopay("TB-MANY", 1000);
  std::vector<std::unique_ptr<HttpClient>> idle;
  for (int i = 0; i < 300; ++i) idle.push_back(std::make_unique<HttpClient>(server.port()));
  for (int i = 0; i < 300; i += 3) idle[i]->send("POST /webhook HTTP/1.1\r\nHost: x\r\n");

  HttpClient c(server.port());
  auto r = c.request("POST", "/webhook/zalopay", zalopay_callback(p.provider_transaction_id, 1000));
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->body())["return_code"], 1);
}

TEST_F(HttpServer, GracefulShutdownFinishesTheRequestInFlight) {
  auto server = std::make_unique<LiveServer>(env);
  const Payment p = env.create_zalopay("TB-GRACE", 1000);
  const std::string body = zalopay_callback(p.provider_transaction_id, 1000);

  HttpClient idle(server->port());
  ASSERT_TRUE(idle.request("GET", "/healthz"));
  // 100-continue tells us the server holds our request when we ask it to stop.
  HttpClient inflight(server->port());
  ASSERT_TRUE(inflight.send("POST /webhook/zalopay HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                            "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n"));
  auto interim = inflight.read();
  ASSERT_TRUE(interim);
  ASSERT_EQ(interim->result_int(), 100);

  server->request_stop();
  EXPECT_TRUE(idle.closed_by_server());  // nothing in flight there: closed at once
  ASSERT_TRUE(inflight.send(body));
  auto r = inflight.read();
  ASSERT_TRUE(r) << inflight.last_error();
  EXPECT_EQ(json::parse(r->body())["return_code"], 1);
  EXPECT_FALSE(r->keep_alive());
  server->stop();  // run() returns once that response is out
  EXPECT_EQ(env.payment("TB-GRACE").status, PaymentStatus::Completed);

  asio::io_context ioc;
  asio::ip::tcp::socket s(ioc);
  beast::error_code ec;
  s.connect({asio::ip::make_address("127.0.0.1"), server->port()}, ec);
  EXPECT_TRUE(ec) << "no longer accepting";
}

TEST_F(HttpServer, ServerThatNeverRanStopsCleanly) {
  http::Server server(env.ingestion(), env.ctx().log, test_options());
  EXPECT_NE(port_of(server.address()), 0);
  server.stop();
  server.run();  // returns at once: stop() came first
}

class HttpServerEngines : public ::testing::TestWithParam<Engine> {
 protected:
  WebhookEnv env{GetParam()};
};

TEST_P(HttpServerEngines, ConcurrentIdenticalCallbacksOverHttpMakeOneTransition) {
  LiveServer server(env);
  const Payment p = env.create_zalopay("TB-HTTP-STORM", 42000);
  const std::string body = zalopay_callback(p.provider_transaction_id, 42000);
  std::vector<int> codes(20, 99);
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < 20; ++i)
      threads.emplace_back([&, i] {
        HttpClient c(server.port());
        if (auto r = c.request("POST", "/webhook/zalopay", body))
          codes[i] = json::parse(r->body())["return_code"];
      });
  }
  EXPECT_EQ(std::count(codes.begin(), codes.end(), 1), 1);
  EXPECT_EQ(std::count(codes.begin(), codes.end(), 2), 19);
  EXPECT_EQ(env.events(env.payment("TB-HTTP-STORM")).size(), 1u);
}

TEST_P(HttpServerEngines, PayOsFailureThenSuccessOverHttp) {
  LiveServer server(env);
  env.create_payos("TB-HTTP-PO", 5000, "link-http-po");
  HttpClient c(server.port());
  auto failed = c.request("POST", "/webhook/payos", payos_webhook("link-http-po", 5000, "07", "expired"));
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->result_int(), 200);
  EXPECT_EQ(env.payment("TB-HTTP-PO").status, PaymentStatus::Failed);
  auto bad = c.request("POST", "/webhook/payos", payos_webhook("link-http-po", 5001));
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->result_int(), 409);
  auto paid = c.request("POST", "/webhook/payos", payos_webhook("link-http-po", 5000));
  ASSERT_TRUE(paid);
  EXPECT_EQ(paid->result_int(), 200);
  EXPECT_EQ(env.payment("TB-HTTP-PO").status, PaymentStatus::Completed);
  EXPECT_EQ(env.events(env.payment("TB-HTTP-PO")).size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Engines, HttpServerEngines, ::testing::ValuesIn(all_engines()),
                         EngineName{});

}  // namespace
}  // namespace tbpay::test
