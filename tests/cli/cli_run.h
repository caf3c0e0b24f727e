#pragma once
// The built `tbpay` run as a user runs it from a shell: only the environment given, stdout
// and stderr kept apart, the exit code.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace tbpay::test {

struct CliRun {
  int exit = -1;
  std::string out, err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// 'text' for a shell command line.
inline std::string quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// `tbpay ARGS` with PATH and `env` ("NAME=value" each) only, in folder `cwd` (default: the
// test's own).
inline CliRun run_tbpay(const std::string& args, const std::vector<std::string>& env = {},
                        const std::string& cwd = "") {
  const char* binary = std::getenv("TBPAY_BINARY");
  if (!binary) throw std::runtime_error("TBPAY_BINARY is not set (ctest sets it)");
  static int calls = 0;  // ctest runs tests as separate processes, in parallel: unique names
  const std::string out = ::testing::TempDir() + "tbpay_cli_" + std::to_string(::getpid()) + "_" +
                          std::to_string(++calls),
                    err = out + ".err";
  std::string command =
      (cwd.empty() ? "" : "cd " + quoted(cwd) + " && ") + "env -i PATH=/usr/bin:/bin";
  for (const std::string& e : env) command += " " + quoted(e);
  command += " " + std::string(binary) + " " + args + " >" + out + " 2>" + err;
  const int status = std::system(command.c_str());
  CliRun result{WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
  std::remove(out.c_str());
  std::remove(err.c_str());
  return result;
}

// `tbpay ARGS` on the database of `database_url`.
inline CliRun tbpay(const std::string& database_url, const std::string& args) {
  return run_tbpay(args, {"DATABASE_URL=" + database_url});
}

}  // namespace tbpay::test
