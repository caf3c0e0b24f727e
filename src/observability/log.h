#pragma once
// Structured logs: one JSON object per line (CloudWatch and `jq` read them as is), on stdout
// for `serve` and `lambda`, on stderr for the command-line jobs, whose stdout is their result.
// Never pass keys, MACs or signatures as fields; use redact_signature() for the latter.
#include <memory>
#include <string_view>

#include <nlohmann/json.hpp>

namespace spdlog {
class logger;
}

namespace tbpay {

enum class LogLevel { Trace, Debug, Info, Warn, Error };
enum class LogStream { Stdout, Stderr };
LogLevel parse_log_level(std::string_view s);  // unknown -> Info

class Logger {
 public:
  // Writes to stdout (or stderr).
  explicit Logger(LogLevel min_level = LogLevel::Info, LogStream stream = LogStream::Stdout);
  // Writes to a file (tests read it back).
  Logger(LogLevel min_level, const std::string& file_path);

  bool enabled(LogLevel level) const { return level >= min_; }
  void log(LogLevel level, std::string_view message, const nlohmann::json& fields = {}) const;
  void debug(std::string_view m, const nlohmann::json& f = {}) const { log(LogLevel::Debug, m, f); }
  void info(std::string_view m, const nlohmann::json& f = {}) const { log(LogLevel::Info, m, f); }
  void warn(std::string_view m, const nlohmann::json& f = {}) const { log(LogLevel::Warn, m, f); }
  void error(std::string_view m, const nlohmann::json& f = {}) const { log(LogLevel::Error, m, f); }
  void flush() const;
  // Lines below `level` may wait in the stream's buffer (stdout to a file or a pipe) until a
  // line at `level` or above, flush(), or a full buffer; by default every line is flushed.
  // For a process that logs a line per request and flushes on a timer (`serve`).
  void buffer_lines_below(LogLevel level);

 private:
  LogLevel min_;
  std::shared_ptr<spdlog::logger> sink_;
};

}  // namespace tbpay
