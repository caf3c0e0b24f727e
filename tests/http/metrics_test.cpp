// `tbpay serve`'s GET /metrics, scraped as Prometheus would: Prometheus's own parser reads
// it, and its counters move as callbacks come in and the relay publishes.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "app/webhook_fixture.h"
#include "reliability/support/child_process.h"
#include "support/http_client.h"
#include "support/promtool.h"

namespace tbpay::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

using nlohmann::json;
using Samples = std::map<std::string, double>;

class ServeMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = std::filesystem::temp_directory_path() /
              ("tbpay-metrics-" + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(folder_);
  }
  void TearDown() override { std::filesystem::remove_all(folder_); }

  std::vector<std::string> env(const TestDatabase& db) const {
    return {"DATABASE_URL=" + db.url(),
            std::string("ZALOPAY_APP_ID=") + kZaloPayAppId,
            std::string("ZALOPAY_KEY2=") + kZaloPayKey2,
            "EVENTS_FILE=" + (folder_ / "events.jsonl").string(),
            "LOG_LEVEL=info",
            "PATH=/usr/bin:/bin"};
  }

  // GET /metrics, checked by promtool, as samples.
  static Samples scrape(unsigned short port) {
    HttpClient c(port);
    auto r = c.request("GET", "/metrics");
    if (!r) ADD_FAILURE() << "no reply to GET /metrics";
    if (!r) return {};
    EXPECT_EQ(r->result_int(), 200) << r->body();
    EXPECT_EQ(std::string((*r)[bhttp::field::content_type]),
              "text/plain; version=0.0.4; charset=utf-8");
    const auto check = check_metrics(r->body());
    EXPECT_EQ(check.exit_code, 0) << check.output << "\n" << r->body();
    EXPECT_EQ(check.output, "") << r->body();
    return samples(r->body());
  }

  // Scrapes until `done` holds (at most 20 s); the last scrape.
  template <class F>
  static Samples scrape_until(unsigned short port, F done) {
    Samples s;
    for (int i = 0; i < 200; ++i) {
      s = scrape(port);
      if (done(s)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return s;
  }

  std::filesystem::path folder_;
};

// HEAD: a response with the headers of GET and no body (the parser must be told so).
std::optional<Response> head(unsigned short port, const std::string& target) {
  asio::io_context ioc;
  asio::ip::tcp::socket socket(ioc);
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  const std::string request = "HEAD " + target + " HTTP/1.1\r\nHost: x\r\n\r\n";
  asio::write(socket, asio::buffer(request));
  bhttp::response_parser<bhttp::string_body> parser;
  parser.skip(true);
  beast::flat_buffer buffer;
  beast::error_code ec;
  bhttp::read(socket, buffer, parser, ec);
  if (ec) return std::nullopt;
  return parser.release();
}

double value(const Samples& s, const std::string& series) {
  auto it = s.find(series);
  return it == s.end() ? -1 : it->second;
}

TEST_F(ServeMetricsTest, CountersMoveAsCallbacksComeInAndTheRelayPublishes) {
  PgTestDatabase db;
  db.migrate();
  insert_payment(db, {.order_code = "TB-MET-1",
                      .amount_cents = 120000,
                      .provider_transaction_id = "251213_TB-MET-1"});
  // Before serve starts: an event the relay gave up on, and one waiting for 10 minutes.
  SeedEvent dead;
  dead.aggregate_id = "p-dead";
  dead.created_at = now_utc() - std::chrono::hours(1);
  dead.retry_count = 3;
  dead.last_error = "broker refused";
  insert_event(db, dead);
  SeedEvent waiting;
  waiting.aggregate_id = "p-waiting";
  waiting.created_at = now_utc() - std::chrono::minutes(10);
  insert_event(db, waiting);

  reliability::ChildProcess serve({"serve", "--listen", "127.0.0.1:0"}, env(db), folder_.string(),
                                  "serve");
  auto listening = serve.wait_for_log("listening");
  ASSERT_TRUE(listening) << serve.stderr_text();
  const auto port = port_of((*listening)["address"]);
  EXPECT_EQ((*listening)["metrics_address"], (*listening)["address"]);

  // The outbox as the background read it at start, before the relay's first run.
  Samples s = scrape_until(port, [](const Samples& x) {
    return x.count("tbpay_outbox_pending_events") &&
           x.count("tbpay_relay_events_total{outcome=\"published\"}") &&
           x.at("tbpay_relay_events_total{outcome=\"published\"}") >= 1;
  });
  EXPECT_EQ(value(s, "tbpay_outbox_pending_events"), 1);
  EXPECT_EQ(value(s, "tbpay_outbox_dead_events"), 1);
  EXPECT_GE(value(s, "tbpay_outbox_oldest_pending_age_seconds"), 600);
  EXPECT_LT(value(s, "tbpay_outbox_oldest_pending_age_seconds"), 3600);
  EXPECT_EQ(value(s, "tbpay_relay_events_total{outcome=\"published\"}"), 1);
  EXPECT_GE(value(s, "tbpay_relay_runs_total"), 1);
  EXPECT_EQ(value(s, "tbpay_relay_run_failures_total"), 0);
  EXPECT_EQ(value(s, "tbpay_build_info{version=\"0.1.0\"}"), 1);
  EXPECT_EQ(value(s, "tbpay_db_pool_max_connections"), 16);
  EXPECT_GE(value(s, "tbpay_db_pool_connections_in_use"), 0);
  EXPECT_EQ(value(s, "tbpay_db_pool_waiting"), 0);
  EXPECT_EQ(value(s, R"(tbpay_webhook_callbacks_total{provider="zalopay",outcome="processed"})"),
            0);

  // A callback, its repeat, and a forgery.
  HttpClient c(port);
  const std::string body = zalopay_callback("251213_TB-MET-1", 120000);
  for (int i = 0; i < 2; ++i) {
    auto r = c.request("POST", "/webhook/zalopay", body);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->result_int(), 200);
  }
  ZaloPayKeys wrong = zalopay_keys();
  wrong.key2 = "not-the-key";
  ASSERT_TRUE(
      c.request("POST", "/webhook/zalopay", zalopay_callback("251213_TB-MET-1", 120000, wrong)));
  ASSERT_TRUE(c.request("POST", "/webhook", R"({"hello":"world"})"));

  // The callback's event reaches the events file through the relay: a second published one.
  s = scrape_until(port, [](const Samples& x) {
    return x.at("tbpay_relay_events_total{outcome=\"published\"}") >= 2;
  });
  const std::string zp = R"(provider="zalopay")";
  EXPECT_EQ(value(s, "tbpay_webhook_callbacks_total{" + zp + ",outcome=\"processed\"}"), 1);
  EXPECT_EQ(value(s, "tbpay_webhook_callbacks_total{" + zp + ",outcome=\"duplicate\"}"), 1);
  EXPECT_EQ(value(s, "tbpay_webhook_callbacks_total{" + zp + ",outcome=\"rejected\"}"), 1);
  EXPECT_EQ(value(s, "tbpay_webhook_rejections_total{" + zp + ",reason=\"bad_signature\"}"), 1);
  EXPECT_EQ(value(s, R"(tbpay_webhook_callbacks_total{provider="payos",outcome="processed"})"), 0);
  EXPECT_EQ(value(s, "tbpay_webhook_unrecognised_total"), 1);
  EXPECT_EQ(value(s, "tbpay_webhook_duration_seconds_count{" + zp + "}"), 3);
  EXPECT_EQ(value(s, "tbpay_webhook_duration_seconds_bucket{" + zp + ",le=\"+Inf\"}"), 3);
  EXPECT_GT(value(s, "tbpay_webhook_duration_seconds_sum{" + zp + "}"), 0);
  // Buckets resolving 1 to 50 ms.
  for (const char* le : {"0.001", "0.002", "0.005", "0.01", "0.02", "0.05"})
    EXPECT_TRUE(s.count("tbpay_webhook_duration_seconds_bucket{" + zp + ",le=\"" + le + "\"}"))
        << le;
  EXPECT_EQ(value(s, "tbpay_relay_events_total{outcome=\"published\"}"), 2);
  EXPECT_EQ(db.count("SELECT count(*) FROM outbox WHERE published"), 2);

  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait_exit().value_or(-1), 0);
}

TEST_F(ServeMetricsTest, MetricsAnswersGetAndHeadOnlyAndIsNoWebhookRoute) {
  SqliteTestDatabase db;
  db.migrate();
  reliability::ChildProcess serve({"serve", "--listen", "127.0.0.1:0"}, env(db), folder_.string(),
                                  "serve");
  auto listening = serve.wait_for_log("listening");
  ASSERT_TRUE(listening) << serve.stderr_text();
  HttpClient c(port_of((*listening)["address"]));

  auto headers = head(port_of((*listening)["address"]), "/metrics");
  ASSERT_TRUE(headers);
  EXPECT_EQ(headers->result_int(), 200);
  EXPECT_EQ(std::string((*headers)[bhttp::field::content_type]),
            "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(headers->body(), "");
  auto post = c.request("POST", "/metrics", "{}");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->result_int(), 405);
  EXPECT_EQ(std::string((*post)[bhttp::field::allow]), "GET, HEAD");
  // Without a pool (SQLite), no pool gauges, and still an exposition promtool accepts.
  const Samples s = scrape(port_of((*listening)["address"]));
  EXPECT_FALSE(s.count("tbpay_db_pool_max_connections"));
  EXPECT_EQ(value(s, "tbpay_webhook_unrecognised_total"), 0);
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait_exit().value_or(-1), 0);
}

TEST_F(ServeMetricsTest, MetricsListenKeepsMetricsOffTheWebhookListener) {
  SqliteTestDatabase db;
  db.migrate();
  reliability::ChildProcess serve(
      {"serve", "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"}, env(db),
      folder_.string(), "serve");
  auto listening = serve.wait_for_log("listening");
  ASSERT_TRUE(listening) << serve.stderr_text();
  const auto port = port_of((*listening)["address"]);
  const auto metrics_port = port_of((*listening)["metrics_address"]);
  ASSERT_NE(port, metrics_port);

  // The public listener: webhooks and health, no /metrics.
  HttpClient pub(port);
  auto r = pub.request("GET", "/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 404);
  r = pub.request("POST", "/webhook", R"({"hello":"world"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 400);

  // The metrics listener: /metrics only, and it counted the request above.
  const Samples s = scrape(metrics_port);
  EXPECT_EQ(value(s, "tbpay_webhook_unrecognised_total"), 1);
  HttpClient priv(metrics_port);
  r = priv.request("POST", "/webhook/zalopay", zalopay_callback("251213_TB-NONE", 1000));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 404);
  r = priv.request("GET", "/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 404);

  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait_exit().value_or(-1), 0);
  EXPECT_TRUE(serve.wait_for_log("stopped"));
}

TEST(ServeMetrics, TheMetricsListenerMustBeAnAddress) {
  SqliteTestDatabase db;
  reliability::TempFolder folder;
  reliability::ChildProcess serve(
      {"serve", "--listen", "127.0.0.1:0", "--metrics-listen", "nowhere"},
      {"DATABASE_URL=" + db.url(), "PATH=/usr/bin:/bin"}, folder.path(), "serve");
  EXPECT_NE(serve.wait_exit().value_or(-1), 0);
  EXPECT_NE(serve.stderr_text().find("nowhere"), std::string::npos);
}

}  // namespace
}  // namespace tbpay::test
