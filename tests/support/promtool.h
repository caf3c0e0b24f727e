#pragma once
// Prometheus's own checker, `promtool` (Debian package `prometheus`), run on text: the
// exposition `tbpay serve` answers on /metrics is parsed and linted by the real parser, and
// the alert rules under deploy/prometheus are loaded by the real rule loader.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tbpay::test {

struct PromtoolRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// `promtool <args>` with `input` on its standard input.
inline PromtoolRun promtool(const std::string& args, std::string_view input = {}) {
  char path[] = "/tmp/tbpay-promtool-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  close(fd);
  std::ofstream(path, std::ios::binary) << input;
  const std::string command = "promtool " + args + " < " + path + " 2>&1";
  FILE* p = popen(command.c_str(), "r");
  if (!p) throw std::runtime_error("cannot run promtool");
  PromtoolRun run;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) run.output.append(buf, n);
  const int status = pclose(p);
  std::remove(path);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (run.exit_code == 127)
    throw std::runtime_error("promtool not found: scripts/deps.sh installs it");
  return run;
}

// `promtool check metrics`: 0 and no output when the exposition parses and lints clean.
inline PromtoolRun check_metrics(std::string_view exposition) {
  return promtool("check metrics", exposition);
}

// The samples of an exposition by series as written ("name{a=\"x\"}" or "name"), comments
// skipped. Throws on a line that has no value.
inline std::map<std::string, double> samples(const std::string& exposition) {
  std::map<std::string, double> out;
  std::istringstream in(exposition);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    if (space == std::string::npos) throw std::runtime_error("no value: " + line);
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

}  // namespace tbpay::test
