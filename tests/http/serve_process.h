#pragma once
// `tbpay serve` (or any tbpay command) as a child process, its stdout and stderr read through
// pipes. The binary is $TBPAY_BINARY (set by test_main.cpp).
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tbpay::test {

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
  std::optional<nlohmann::json> line_with_message(const std::string& message) {
    while (auto l = line()) {
      if (!nlohmann::json::accept(*l)) continue;
      auto j = nlohmann::json::parse(*l);
      if (j.value("message", "") == message) return j;
    }
    return std::nullopt;
  }
  std::string rest_of_stderr() {
    std::string s;
    char buf[4096];
    for (ssize_t n; (n = read(err_, buf, sizeof buf)) > 0;)
      s.append(buf, static_cast<std::size_t>(n));
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

}  // namespace tbpay::test
