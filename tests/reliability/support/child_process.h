#pragma once
// `tbpay` as a child process, the way production runs it: its stdout and stderr go to files
// (never a pipe that could fill up and stall it), read back as JSON log lines.
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tbpay::reliability {

using namespace std::chrono_literals;

class ChildProcess {
 public:
  // Starts $TBPAY_BINARY (set by ctest) with `args` and exactly `env`; output goes to
  // <folder>/<name>.out and <name>.err. Throws when it cannot start.
  ChildProcess(const std::vector<std::string>& args, const std::vector<std::string>& env,
               const std::string& folder, const std::string& name);
  ~ChildProcess();  // SIGKILL if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Exit status within `wait`: the exit code, or -N when killed by signal N; nullopt when
  // it is still running.
  std::optional<int> wait_exit(std::chrono::milliseconds wait = 30s);

  std::string stdout_text() const;
  std::string stderr_text() const;
  // stdout lines that are JSON objects (the structured log).
  std::vector<nlohmann::json> log_lines() const;
  // Waits (at most `wait`) for a log line with this "message"; nullopt if none came or the
  // process ended first.
  std::optional<nlohmann::json> wait_for_log(const std::string& message,
                                             std::chrono::milliseconds wait = 20s);
  // Resident set size in KiB (/proc/PID/status VmRSS); 0 when unknown.
  long rss_kib() const;

  const std::string& stdout_path() const { return out_path_; }
  const std::string& stderr_path() const { return err_path_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string out_path_, err_path_;
};

// Runs `tbpay args...` to its end (at most `wait`) and returns its exit code; stdout and
// stderr are kept in `folder`.
struct Finished {
  int exit_code = -1;
  std::string out, err;
};
Finished run_tbpay(const std::vector<std::string>& args, const std::vector<std::string>& env,
                   const std::string& folder, const std::string& name,
                   std::chrono::milliseconds wait = 60s);

// A fresh folder under the temporary directory, removed on destruction.
class TempFolder {
 public:
  TempFolder();
  ~TempFolder();
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace tbpay::reliability
