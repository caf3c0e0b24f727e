// `tbpay serve` and each Lambda function, started on the core service's schema exactly as its
// migrations leave it: PayOS webhooks can only be matched by paymentLinkId
// ("providerTransactionId"), which no index serves there, so each says so at start-up in one
// alert line naming the column and the command that fixes it; and says nothing once an index
// serves that lookup (tbpay's, or the unique one the core service's schema.prisma declares).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/test_database.h"

namespace tbpay::test {
namespace {

using nlohmann::json;

const char* binary() {
  const char* b = std::getenv("TBPAY_BINARY");
  if (!b) throw std::runtime_error("TBPAY_BINARY is not set (ctest sets it)");
  return b;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

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

// Runs `tbpay args...` with only `env`, stdout and stderr into one file; if `until` is not
// empty, waits for a line containing it (at most 60 s), then SIGTERM. Returns the output.
std::string run(const std::vector<std::string>& args, const std::vector<std::string>& env,
                const std::string& until = "") {
  static int calls = 0;
  const std::string path = ::testing::TempDir() + "tbpay_startup_" + std::to_string(getpid()) +
                           "_" + std::to_string(++calls) + ".out";
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> argv{const_cast<char*>(binary())};
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    execve(binary(), argv.data(), envp.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int status = 0;
  bool exited = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    if (!until.empty() && slurp(path).find(until) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!exited) {
    kill(pid, SIGTERM);
    waitpid(pid, &status, 0);
  }
  std::string out = slurp(path);
  std::remove(path.c_str());
  return out;
}

class StartupAlert : public ::testing::Test {
 protected:
  void SetUp() override { db_.create_core_service_schema(); }

  std::vector<std::string> env() const {
    return {"DATABASE_URL=" + db_.url(), "PATH=/usr/bin:/bin", "LOG_LEVEL=info"};
  }
  std::string serve() { return run({"serve", "--listen", "127.0.0.1:0"}, env(), "\"listening\""); }
  // A Lambda function whose Runtime API refuses connections: it starts, then gives up.
  std::string lambda(const std::string& handler) {
    auto e = env();
    e.push_back("AWS_LAMBDA_RUNTIME_API=127.0.0.1:1");
    return run({"lambda", "--handler", handler}, e);
  }
  std::vector<std::pair<std::string, std::string>> every_process() {
    return {{"serve", serve()},
            {"webhook", lambda("webhook")},
            {"outbox-processor", lambda("outbox-processor")},
            {"outbox-cleanup", lambda("outbox-cleanup")},
            {"reconciler", lambda("reconciler")}};
  }

  PgTestDatabase db_;
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
  const std::string migrate = run({"migrate", "--lookup-index"}, env());
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

}  // namespace
}  // namespace tbpay::test
