// `make run` as a new user meets it (scripts/run-dev.sh, what the Makefile runs): their own
// LISTEN_ADDR wins over config/dev.env, the banner shows where the server really listens, and
// the hand flow it prints works as printed, with the server publishing the event itself.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cli/cli_run.h"

namespace tbpay::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A port nothing listens on right now.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("no free port");
  ::close(fd);
  return ntohs(a.sin_port);
}

// Waits (at most `wait`) for `done` to say yes, checking every 100 ms.
template <class F>
bool eventually(F done, std::chrono::seconds wait) {
  for (auto until = std::chrono::steady_clock::now() + wait;
       std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(100ms))
    if (done()) return true;
  return done();
}

class MakeRun : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "tbpay_make_run_XXXXXX";
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp");
    folder_ = pattern;
    // The folder stands for the checkout: config/ as there, var/ created by the script.
    fs::create_directory_symlink(fs::path(std::getenv("TBPAY_SOURCE_DIR")) / "config",
                                 folder_ + "/config");
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    fs::remove_all(folder_);
  }

  // scripts/run-dev.sh BUILD_DIR in the folder, with PATH and `env` only.
  void start(const std::vector<std::string>& env) {
    const std::string script = std::string(std::getenv("TBPAY_SOURCE_DIR")) + "/scripts/run-dev.sh";
    const std::string build = fs::path(std::getenv("TBPAY_BINARY")).parent_path();
    pid_ = ::fork();
    if (pid_ == 0) {
      if (::chdir(folder_.c_str()) != 0 || !std::freopen("run.out", "w", stdout) ||
          !std::freopen("run.err", "w", stderr))
        ::_exit(127);
      std::vector<std::string> vars{"PATH=/usr/bin:/bin"};
      vars.insert(vars.end(), env.begin(), env.end());
      std::vector<char*> envp;
      for (auto& v : vars) envp.push_back(v.data());
      envp.push_back(nullptr);
      const char* argv[] = {script.c_str(), build.c_str(), nullptr};
      ::execve(script.c_str(), const_cast<char**>(argv), envp.data());
      ::_exit(127);
    }
  }
  bool running() {
    if (pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == pid_) pid_ = -1;
    return pid_ > 0;
  }
  std::string out() const { return slurp(folder_ + "/run.out"); }
  std::string err() const { return slurp(folder_ + "/run.err"); }

  // The banner's "In another terminal:" commands, one per line.
  std::vector<std::string> hand_flow() const {
    std::istringstream in(out());
    std::vector<std::string> commands;
    bool in_flow = false;
    for (std::string line; std::getline(in, line);) {
      if (line == "In another terminal:") {
        in_flow = true;
      } else if (in_flow && line.starts_with("  ")) {
        commands.push_back(line.substr(2));
      } else if (in_flow && !commands.empty()) {
        break;
      }
    }
    return commands;
  }

  // One command line of the flow, run by bash in the folder after the ones before it.
  CliRun shell(const std::string& script) const {
    const std::string out = folder_ + "/flow.out", err = folder_ + "/flow.err";
    const std::string command = "cd " + quoted(folder_) + " && env -i PATH=/usr/bin:/bin bash -c " +
                                quoted("set -eo pipefail\n" + script) + " >" + out + " 2>" + err;
    const int status = std::system(command.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
  }

  std::string folder_;
  pid_t pid_ = -1;
};

TEST_F(MakeRun, TheUsersListenAddrWinsAndTheHandFlowWorksAsPrinted) {
  const std::string address = "127.0.0.1:" + std::to_string(free_port());

  start({"LISTEN_ADDR=" + address});

  ASSERT_TRUE(eventually([&] { return has(out(), R"("message":"listening")") || !running(); }, 60s))
      << out() << err();
  ASSERT_TRUE(has(out(), R"("address":")" + address + "\"")) << out() << err();
  EXPECT_TRUE(has(out(), "tbpay is starting on http://" + address + " ")) << out();
  EXPECT_TRUE(fs::exists(folder_ + "/var/tbpay.db"));

  const auto flow = hand_flow();
  ASSERT_GE(flow.size(), 5u) << out();
  std::string script;
  for (const std::string& command : flow) {
    EXPECT_FALSE(has(command, "tbpay relay")) << "relay beside serve on SQLite: " << command;
    if (!command.starts_with("tail ")) script += command + "\n";
  }
  EXPECT_TRUE(has(script, "http://" + address + "/webhook/zalopay")) << script;

  const CliRun ran = shell(script);

  ASSERT_EQ(ran.exit, 0) << ran.out << ran.err;
  EXPECT_TRUE(has(ran.out, R"("return_code":1)")) << ran.out;
  EXPECT_TRUE(has(ran.out, R"("status": "COMPLETED")")) << ran.out;
  // The server's own relay publishes the event; the banner's last line shows it.
  const std::string events = folder_ + "/var/events.jsonl";
  EXPECT_TRUE(eventually([&] { return has(slurp(events), "payment.completed"); }, 30s))
      << slurp(events) << err();
  const CliRun tail = shell(flow.back());
  EXPECT_TRUE(flow.back().starts_with("tail ")) << flow.back();
  EXPECT_TRUE(has(tail.out, "payment.completed")) << tail.out << tail.err;

  ::kill(pid_, SIGTERM);
  int status = 0;
  ASSERT_TRUE(eventually([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, 30s));
  pid_ = -1;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

// `make run` compiles the binary it runs, not the tests and benchmarks; `make test` all.
TEST(MakeTargets, RunBuildsOnlyTbpayAndTestBuildsEverything) {
  const std::string source = std::getenv("TBPAY_SOURCE_DIR");
  const std::string build = fs::path(std::getenv("TBPAY_BINARY")).parent_path();
  auto dry_run = [&](const std::string& target) {  // make -n: prints the commands, runs none
    const std::string out = ::testing::TempDir() + "tbpay_make_n_" + std::to_string(::getpid());
    const std::string command = "make -n -C " + quoted(source) + " " + target +
                                " BUILD_DIR=" + quoted(build) + " >" + out + " 2>&1";
    EXPECT_EQ(std::system(command.c_str()), 0);
    std::vector<std::string> builds;
    std::istringstream in(slurp(out));
    for (std::string line; std::getline(in, line);)
      if (has(line, "cmake --build")) builds.push_back(line);
    std::remove(out.c_str());
    return builds;
  };

  const auto run = dry_run("run");
  const auto test = dry_run("test");

  ASSERT_EQ(run.size(), 1u);
  EXPECT_TRUE(run[0].ends_with(" --target tbpay")) << run[0];
  ASSERT_EQ(test.size(), 1u);
  EXPECT_FALSE(has(test[0], "--target")) << test[0];
}

}  // namespace
}  // namespace tbpay::test
