// `tbpay serve` and each Lambda function, started on the core service's schema exactly as its
// migrations leave it: PayOS webhooks can only be matched by paymentLinkId
// ("providerTransactionId"), which no index serves there, so each says so in one alert line
// naming the column and the command that fixes it (`serve` at start-up, a function once its
// first invocation is answered); and says nothing once an index serves that lookup (tbpay's,
// or the unique one the core service's schema.prisma declares).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lambda/fake_runtime_api.h"
#include "reliability/support/child_process.h"
#include "support/test_database.h"

namespace tbpay::test {
namespace {

using nlohmann::json;

// Every JSON line of a process's stdout and stderr together (wherever logs go).
std::vector<json> json_lines(const std::string& text) {
  std::vector<json> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (json::accept(line)) lines.push_back(json::parse(line));
  return lines;
}

std::vector<json> alerts(const std::vector<json>& lines) {
  std::vector<json> found;
  for (const auto& l : lines)
    if (l.value("alert", false)) found.push_back(l);
  return found;
}

using reliability::ChildProcess;
using reliability::TempFolder;

// Its stdout and stderr together (logs go to either).
std::string output_of(const ChildProcess& p) { return p.stdout_text() + p.stderr_text(); }

// What each function is invoked with: an API Gateway request for the webhook (a path no
// provider uses: answered 404), a scheduled event for the others.
std::string event_for(const std::string& handler) {
  if (handler != "webhook") return R"({"source":"aws.events","detail-type":"Scheduled Event"})";
  return json{{"version", "2.0"},
              {"rawPath", "/dev/webhook/nowhere"},
              {"requestContext", {{"http", {{"method", "POST"}, {"path", "/dev/webhook/nowhere"}}},
                                  {"stage", "dev"},
                                  {"requestId", "startup-alert"}}},
              {"body", "{}"},
              {"isBase64Encoded", false}}
      .dump();
}

class StartupAlert : public ::testing::Test {
 protected:
  void SetUp() override { db_.create_core_service_schema(); }

  std::vector<std::string> env() const {
    return {"DATABASE_URL=" + db_.url(), "PATH=/usr/bin:/bin", "LOG_LEVEL=info"};
  }
  std::string serve() {
    ChildProcess p({"serve", "--listen", "127.0.0.1:0"}, env(), folder_.path(), next_name());
    EXPECT_TRUE(p.wait_for_log("listening"));
    p.signal(SIGTERM);
    p.wait_exit();
    return output_of(p);
  }
  // A Lambda function that gets one invocation: its output once it asks for the next.
  std::string lambda(const std::string& handler) {
    testing::FakeRuntimeApi api;
    api.enqueue(event_for(handler));
    auto e = env();
    e.push_back("AWS_LAMBDA_RUNTIME_API=" + api.address());
    ChildProcess p({"lambda", "--handler", handler}, e, folder_.path(), next_name());
    EXPECT_EQ(api.wait_for_posts(1).size(), 1u) << handler;
    EXPECT_TRUE(api.wait_for_idle_poll()) << handler;
    api.close();  // the runtime's next request fails: it exits
    p.wait_exit();
    return output_of(p);
  }
  std::string run(const std::vector<std::string>& args) {
    const auto done = reliability::run_tbpay(args, env(), folder_.path(), next_name());
    return done.out + done.err;
  }
  std::string next_name() { return "tbpay-" + std::to_string(++started_); }
  std::vector<std::pair<std::string, std::string>> every_process() {
    return {{"serve", serve()},
            {"webhook", lambda("webhook")},
            {"outbox-processor", lambda("outbox-processor")},
            {"outbox-cleanup", lambda("outbox-cleanup")},
            {"reconciler", lambda("reconciler")}};
  }

  PgTestDatabase db_;
  TempFolder folder_;
  int started_ = 0;
};

TEST_F(StartupAlert, WithoutAnIndexOnProviderTransactionIdServeAndEachFunctionRaiseOneAlert) {
  for (const auto& [name, out] : every_process()) {
    const auto found = alerts(json_lines(out));
    ASSERT_EQ(found.size(), 1u) << name << ":\n" << out;
    const json& a = found[0];
    EXPECT_EQ(a["level"], "error") << name;
    const std::string message = a["message"];
    EXPECT_NE(message.find("providerTransactionId"), std::string::npos) << name << ": " << message;
    EXPECT_NE(message.find("tbpay migrate --lookup-index"), std::string::npos) << name;
    EXPECT_EQ(a["fix"], "tbpay migrate --lookup-index") << name;
  }
}

TEST_F(StartupAlert, TheLookupIndexSilencesIt) {
  const std::string migrate = run({"migrate", "--lookup-index"});
  ASSERT_NE(migrate.find("payments_provider_providerTransactionId_idx"), std::string::npos)
      << migrate;
  for (const auto& [name, out] : every_process())
    EXPECT_TRUE(alerts(json_lines(out)).empty()) << name << ":\n" << out;
}

TEST_F(StartupAlert, ThePrismaUniqueIndexSilencesIt) {
  db_.exec(R"(CREATE UNIQUE INDEX "payments_providerTransactionId_key"
                ON payments ("providerTransactionId"))");
  for (const auto& [name, out] : every_process())
    EXPECT_TRUE(alerts(json_lines(out)).empty()) << name << ":\n" << out;
}

TEST_F(StartupAlert, AnIndexOnAnotherColumnDoesNotCount) {
  db_.exec(R"(CREATE INDEX ON payments (provider, status))");
  const auto found = alerts(json_lines(serve()));
  EXPECT_EQ(found.size(), 1u);
}

// The check is not on a cold start's path: the function asks for its first invocation before
// it opens any connection to the database. Here the database's address accepts connections and
// never answers; a function that connected during its init would sit in that connection (5 s,
// then a warning) before asking, with the connection waiting in the listener's queue.
TEST(StartupAlertLambda, AFunctionAsksForItsFirstInvocationBeforeItConnectsToTheDatabase) {
  const int silent = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(silent, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(silent, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(silent, 16), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(getsockname(silent, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string url =
      "postgresql://tbpay@127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/tbpay";

  TempFolder folder;
  for (const std::string handler : {"webhook", "outbox-processor"}) {
    testing::FakeRuntimeApi api;
    ChildProcess p({"lambda", "--handler", handler},
                   {"DATABASE_URL=" + url, "PATH=/usr/bin:/bin", "LOG_LEVEL=info",
                    "AWS_LAMBDA_RUNTIME_API=" + api.address()},
                   folder.path(), handler);
    EXPECT_TRUE(api.wait_for_idle_poll()) << handler << ": never asked for an invocation";
    pollfd pending{silent, POLLIN, 0};
    EXPECT_EQ(poll(&pending, 1, 0), 0) << handler << ": connected to the database first";
    api.close();
    p.wait_exit();
    const std::string out = output_of(p);
    EXPECT_NE(out.find("lambda runtime ready"), std::string::npos) << handler << ":\n" << out;
  }
  close(silent);
}

}  // namespace
}  // namespace tbpay::test
