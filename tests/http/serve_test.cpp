// `tbpay serve` as a process: it says where it listens, and SIGTERM/SIGINT end it cleanly
// after the request in flight has been answered.
#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/webhook_fixture.h"
#include "reliability/support/child_process.h"
#include "support/http_client.h"

namespace tbpay::test {
namespace {

using nlohmann::json;

std::vector<std::string> serve_env(const TestDatabase& db) {
  return {"DATABASE_URL=" + db.url(), std::string("ZALOPAY_APP_ID=") + kZaloPayAppId,
          std::string("ZALOPAY_KEY2=") + kZaloPayKey2, "LOG_LEVEL=info", "PATH=/usr/bin:/bin"};
}

TEST(Serve, SigtermFinishesTheRequestInFlightThenExitsZero) {
  SqliteTestDatabase db;
  db.migrate();
  insert_payment(db, {.order_code = "TB-SERVE-1",
                      .amount_cents = 120000,
                      .provider_transaction_id = "251213_TB-SERVE-1"});
  reliability::TempFolder folder;
  reliability::ChildProcess serve({"serve", "--listen", "127.0.0.1:0"}, serve_env(db),
                                  folder.path(), "serve");
  auto listening = serve.wait_for_log("listening");
  ASSERT_TRUE(listening) << serve.stderr_text();
  const std::string address = (*listening)["address"];
  ASSERT_EQ(address.rfind("127.0.0.1:", 0), 0u) << address;
  ASSERT_NE(port_of(address), 0);

  const std::string body = zalopay_callback("251213_TB-SERVE-1", 120000);
  HttpClient inflight(port_of(address));
  ASSERT_TRUE(
      inflight.send("POST /webhook/zalopay HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                    "Content-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n"));
  auto interim = inflight.read();
  ASSERT_TRUE(interim);
  ASSERT_EQ(interim->result_int(), 100);

  serve.signal(SIGTERM);
  ASSERT_TRUE(serve.wait_for_log("shutting down"));
  ASSERT_TRUE(inflight.send(body));
  auto r = inflight.read();
  ASSERT_TRUE(r) << inflight.last_error();
  EXPECT_EQ(json::parse(r->body())["return_code"], 1);
  EXPECT_EQ(serve.wait_exit().value_or(-1), 0);
  EXPECT_EQ(db.scalar(R"(SELECT status FROM payments WHERE "orderCode" = 'TB-SERVE-1')"),
            "COMPLETED");
}

TEST(Serve, ListenAddrFromEnvironmentAndSigintExitsZero) {
  SqliteTestDatabase db;
  db.migrate();
  auto env = serve_env(db);
  env.push_back("LISTEN_ADDR=127.0.0.1:0");
  reliability::TempFolder folder;
  reliability::ChildProcess serve({"serve"}, env, folder.path(), "serve");
  auto listening = serve.wait_for_log("listening");
  ASSERT_TRUE(listening) << serve.stderr_text();
  HttpClient c(port_of((*listening)["address"]));
  auto r = c.request("GET", "/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200);
  serve.signal(SIGINT);
  EXPECT_EQ(serve.wait_exit().value_or(-1), 0);
  EXPECT_TRUE(serve.wait_for_log("stopped"));
}

TEST(Serve, BadListenAddressFailsAtStartup) {
  SqliteTestDatabase db;
  reliability::TempFolder folder;
  reliability::ChildProcess serve({"serve", "--listen", "127.0.0.1:http-port"}, serve_env(db),
                                  folder.path(), "serve");
  EXPECT_NE(serve.wait_exit().value_or(-1), 0);
  EXPECT_NE(serve.stderr_text().find("127.0.0.1:http-port"), std::string::npos);
}

}  // namespace
}  // namespace tbpay::test
