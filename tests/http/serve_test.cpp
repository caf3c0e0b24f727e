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
#include "http/http_client.h"

namespace tbpay::test {
namespace {

using nlohmann::json;

// A child process with its stdout and stderr read through pipes.
class ServeProcess {
 public:
  ServeProcess(const std::vector<std::string>& args, const std::vector<std::string>& env) {
    const char* binary = std::getenv("TBPAY_BINARY");
    if (!binary) throw std::runtime_error("TBPAY_BINARY is not set (run through ctest)");
    int out[2], err[2];
    if (pipe(out) != 0 || pipe(err) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      dup2(err[1], 2);
      close(out[0]);
      close(err[0]);
      std::vector<char*> argv{const_cast<char*>(binary)};
      for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      std::vector<char*> envp;
      for (auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
      envp.push_back(nullptr);
      execve(binary, argv.data(), envp.data());
      _exit(127);
    }
    close(out[1]);
    close(err[1]);
    out_ = out[0];
    err_ = err[0];
  }
  ~ServeProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(out_);
    close(err_);
  }

  // The next stdout line, waiting at most 20 s for it.
  std::optional<std::string> line() {
    for (;;) {
      if (auto nl = out_buf_.find('\n'); nl != std::string::npos) {
        std::string l = out_buf_.substr(0, nl);
        out_buf_.erase(0, nl + 1);
        return l;
      }
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, 20000) <= 0) return std::nullopt;
      char buf[4096];
      const ssize_t n = read(out_, buf, sizeof buf);
      if (n <= 0) return std::nullopt;
      out_buf_.append(buf, static_cast<std::size_t>(n));
    }
  }
  // The first stdout line whose message is `message`, parsed.
  std::optional<json> line_with_message(const std::string& message) {
    while (auto l = line()) {
      if (!json::accept(*l)) continue;
      auto j = json::parse(*l);
      if (j.value("message", "") == message) return j;
    }
    return std::nullopt;
  }
  std::string rest_of_stderr() {
    std::string s;
    char buf[4096];
    for (ssize_t n; (n = read(err_, buf, sizeof buf)) > 0;) s.append(buf, static_cast<std::size_t>(n));
    return s;
  }
  void signal(int sig) { kill(pid_, sig); }
  // Exit code, waiting at most ~30 s; -1 if it did not exit or died by a signal.
  int wait() {
    for (int i = 0; i < 300; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      usleep(100000);
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1, err_ = -1;
  bool exited_ = false;
  std::string out_buf_;
};

std::vector<std::string> serve_env(const TestDatabase& db) {
  return {"DATABASE_URL=" + db.url(), std::string("ZALOPAY_APP_ID=") + kZaloPayAppId,
          std::string("ZALOPAY_KEY2=") + kZaloPayKey2, "LOG_LEVEL=info", "PATH=/usr/bin:/bin"};
}

TEST(Serve, SigtermFinishesTheRequestInFlightThenExitsZero) {
  SqliteTestDatabase db;
  db.migrate();
  insert_payment(db, {.order_code = "TB-SERVE-1", .amount_cents = 120000,
                      .provider_transaction_id = "251213_TB-SERVE-1"});
  ServeProcess serve({"serve", "--listen", "127.0.0.1:0"}, serve_env(db));
  auto listening = serve.line_with_message("listening");
  ASSERT_TRUE(listening) << serve.rest_of_stderr();
  const std::string address = (*listening)["address"];
  ASSERT_EQ(address.rfind("127.0.0.1:", 0), 0u) << address;
  ASSERT_NE(port_of(address), 0);

  const std::string body = zalopay_callback("251213_TB-SERVE-1", 120000);
  HttpClient inflight(port_of(address));
  ASSERT_TRUE(inflight.send("POST /webhook/zalopay HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                            "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n"));
  auto interim = inflight.read();
  ASSERT_TRUE(interim);
  ASSERT_EQ(interim->result_int(), 100);

  serve.signal(SIGTERM);
  ASSERT_TRUE(serve.line_with_message("shutting down"));
  ASSERT_TRUE(inflight.send(body));
  auto r = inflight.read();
  ASSERT_TRUE(r) << inflight.last_error().message();
  EXPECT_EQ(json::parse(r->body())["return_code"], 1);
  EXPECT_EQ(serve.wait(), 0);
  EXPECT_EQ(db.scalar(R"(SELECT status FROM payments WHERE "orderCode" = 'TB-SERVE-1')"),
            "COMPLETED");
}

TEST(Serve, ListenAddrFromEnvironmentAndSigintExitsZero) {
  SqliteTestDatabase db;
  db.migrate();
  auto env = serve_env(db);
  env.push_back("LISTEN_ADDR=127.0.0.1:0");
  ServeProcess serve({"serve"}, env);
  auto listening = serve.line_with_message("listening");
  ASSERT_TRUE(listening) << serve.rest_of_stderr();
  HttpClient c(port_of((*listening)["address"]));
  auto r = c.request("GET", "/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->result_int(), 200);
  serve.signal(SIGINT);
  EXPECT_EQ(serve.wait(), 0);
  EXPECT_TRUE(serve.line_with_message("stopped"));
}

TEST(Serve, BadListenAddressFailsAtStartup) {
  SqliteTestDatabase db;
  ServeProcess serve({"serve", "--listen", "127.0.0.1:http-port"}, serve_env(db));
  EXPECT_NE(serve.wait(), 0);
  EXPECT_NE(serve.rest_of_stderr().find("127.0.0.1:http-port"), std::string::npos);
}

}  // namespace
}  // namespace tbpay::test
