// The log line is what operators and CloudWatch read: one JSON object per line, whatever the
// fields hold.
#include "observability/log.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace tbpay {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("tbpay-log-test-" + std::to_string(::getpid()) + ".log"))
                .string();
    std::filesystem::remove(path_);
  }
  void TearDown() override { std::filesystem::remove(path_); }

  std::vector<nlohmann::json> lines() {
    std::ifstream in(path_);
    std::vector<nlohmann::json> out;
    for (std::string line; std::getline(in, line);) {
      EXPECT_TRUE(nlohmann::json::accept(line)) << line;
      out.push_back(nlohmann::json::parse(line, nullptr, false));
    }
    return out;
  }

  std::string path_;
};

TEST_F(LogTest, EachCallWritesOneJsonObjectWithTimeLevelMessageAndFields) {
  {
    Logger log(LogLevel::Info, path_);
    log.info("webhook", {{"provider", "zalopay"}, {"http_status", 200}, {"latency_ms", 1.5},
                         {"alert", true}, {"nested", {{"a", nlohmann::json::array({1, 2})}}}});
    log.warn("no fields");
  }
  const auto got = lines();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0]["level"], "info");
  EXPECT_EQ(got[0]["message"], "webhook");
  EXPECT_EQ(got[0]["provider"], "zalopay");
  EXPECT_EQ(got[0]["http_status"], 200);
  EXPECT_EQ(got[0]["latency_ms"], 1.5);
  EXPECT_EQ(got[0]["alert"], true);
  EXPECT_EQ(got[0]["nested"]["a"][1], 2);
  EXPECT_EQ(got[0]["time"].get<std::string>().size(), 24u);  // 2025-12-13T06:00:00.000Z
  EXPECT_EQ(got[1]["level"], "warn");
  EXPECT_EQ(got[1]["message"], "no fields");
  EXPECT_EQ(got[1].size(), 3u);
}

TEST_F(LogTest, QuotesNewlinesAndInvalidUtf8StayInsideTheirStrings) {
  {
    Logger log(LogLevel::Info, path_);
    log.error("a \"quoted\"\nmessage", {{"error", std::string("bad \xff\xfe utf-8 \"\\")},
                                        {"we\"ird key", "v"},
                                        {"key \xff", "w"}});
    log.info("m\xe9ssage \x7f");
  }
  const auto got = lines();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0]["message"], "a \"quoted\"\nmessage");
  EXPECT_EQ(got[0]["error"], "bad \xEF\xBF\xBD\xEF\xBF\xBD utf-8 \"\\");
  EXPECT_EQ(got[0]["we\"ird key"], "v");
  EXPECT_EQ(got[0]["key \xEF\xBF\xBD"], "w");
  EXPECT_EQ(got[1]["message"], "m\xEF\xBF\xBDssage \x7f");
}

TEST_F(LogTest, FieldsNamedLikeTheBaseFieldsReplaceThemOnce) {
  {
    Logger log(LogLevel::Info, path_);
    log.info("base message", {{"message", "from fields"}, {"level", "custom"}});
  }
  std::ifstream in(path_);
  std::string raw;
  std::getline(in, raw);
  const auto line = nlohmann::json::parse(raw);
  EXPECT_EQ(line["message"], "from fields");
  EXPECT_EQ(line["level"], "custom");
  // No key twice in the text (JSON parsers disagree on which duplicate wins).
  EXPECT_EQ(raw.find("\"message\""), raw.rfind("\"message\"")) << raw;
  EXPECT_EQ(raw.find("\"level\""), raw.rfind("\"level\"")) << raw;
}

TEST_F(LogTest, LinesBelowTheLevelAreNotWritten) {
  {
    Logger log(LogLevel::Warn, path_);
    log.info("quiet");
    log.debug("quieter");
    log.error("loud");
  }
  const auto got = lines();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["message"], "loud");
}

// What a child process wrote to its stdout (a pipe), in order, once it has exited. `body`
// runs in the child with stdout on the pipe; it writes "MARK" to the pipe itself (no stdio),
// so where MARK lands among the log lines shows when each line left the process.
std::vector<std::string> stdout_of(void (*body)()) {
  int fds[2];
  if (pipe(fds) != 0) return {"pipe failed"};
  std::fflush(stdout);  // nothing of the test's own output for the child to repeat
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    body();
    std::fflush(stdout);
    _exit(0);
  }
  close(fds[1]);
  std::string text;
  char chunk[4096];
  for (ssize_t n; (n = read(fds[0], chunk, sizeof chunk)) > 0;) text.append(chunk, n);
  close(fds[0]);
  waitpid(pid, nullptr, 0);
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto parsed = nlohmann::json::parse(line, nullptr, false);
    out.push_back(parsed.is_object() ? parsed.value("message", "?") : line);
  }
  return out;
}

void mark() { (void)!write(1, "MARK\n", 5); }

TEST(LogStdout, EveryLineLeavesAtOnceByDefault) {
  const auto got = stdout_of([] {
    Logger log(LogLevel::Info, LogStream::Stdout);
    log.info("one");
    mark();
    log.warn("two");
    mark();
  });
  EXPECT_EQ(got, (std::vector<std::string>{"one", "MARK", "two", "MARK"}));
}

// `serve` writes a line per callback and flushes on a timer; a warning or an error still leaves
// at once, and takes every line before it along, in order.
TEST(LogStdout, BufferedLinesWaitForALineAtTheLevelOrAFlush) {
  const auto got = stdout_of([] {
    Logger log(LogLevel::Info, LogStream::Stdout);
    log.buffer_lines_below(LogLevel::Warn);
    log.info("one");
    log.info("two");
    mark();
    log.error("three");
    mark();
    log.info("four");
    mark();
    log.flush();
    mark();
  });
  EXPECT_EQ(got, (std::vector<std::string>{"MARK", "one", "two", "three", "MARK", "MARK", "four",
                                           "MARK"}));
}

}  // namespace
}  // namespace tbpay
