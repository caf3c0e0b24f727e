#include "observability/log.h"

#include <algorithm>
#include <iostream>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "core/time.h"

namespace tbpay {

LogLevel parse_log_level(std::string_view s) {
  if (s == "trace") return LogLevel::Trace;
  if (s == "debug") return LogLevel::Debug;
  if (s == "warn" || s == "warning") return LogLevel::Warn;
  if (s == "error") return LogLevel::Error;
  return LogLevel::Info;
}

namespace {
std::string_view level_name(LogLevel l) {
  switch (l) {
    case LogLevel::Trace: return "trace";
    case LogLevel::Debug: return "debug";
    case LogLevel::Info: return "info";
    case LogLevel::Warn: return "warn";
    case LogLevel::Error: return "error";
  }
  return "info";
}

spdlog::level::level_enum spdlog_level(LogLevel l) {
  switch (l) {
    case LogLevel::Trace: return spdlog::level::trace;
    case LogLevel::Debug: return spdlog::level::debug;
    case LogLevel::Info: return spdlog::level::info;
    case LogLevel::Warn: return spdlog::level::warn;
    case LogLevel::Error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

std::shared_ptr<spdlog::logger> configure(std::shared_ptr<spdlog::logger> l) {
  l->set_pattern("%v");
  l->set_level(spdlog::level::trace);
  l->flush_on(spdlog::level::trace);
  return l;
}
}  // namespace

// Not registered with spdlog's global registry: each Logger owns its sink. Stdout goes through
// std::cout (the same stdio buffer as printf) so that a line can wait there for the next
// flush (buffer_lines_below); spdlog's stdout sink flushes every line whatever flush_on says.
Logger::Logger(LogLevel min_level, LogStream stream)
    : min_(min_level),
      sink_(configure(std::make_shared<spdlog::logger>(
          "tbpay", stream == LogStream::Stderr
                       ? spdlog::sink_ptr(std::make_shared<spdlog::sinks::stderr_sink_mt>())
                       : spdlog::sink_ptr(
                             std::make_shared<spdlog::sinks::ostream_sink_mt>(std::cout))))) {}

Logger::Logger(LogLevel min_level, const std::string& file_path)
    : min_(min_level),
      sink_(configure(std::make_shared<spdlog::logger>(
          "tbpay", std::make_shared<spdlog::sinks::basic_file_sink_mt>(file_path)))) {}

namespace {
// Writes JSON text into a line as it goes, with no string of its own per value. Invalid UTF-8
// becomes U+FFFD rather than an exception in a log call. nlohmann's public dump() returns a new
// string each time; its serializer (namespace detail, the one dump() itself uses) writes into
// ours, and finishes each value before returning.
class JsonText {
 public:
  explicit JsonText(std::string& line)
      : line_(line),
        out_(nlohmann::detail::output_adapter<char>(line),
             ' ', nlohmann::json::error_handler_t::replace) {}
  void value(const nlohmann::json& v) { out_.dump(v, false, false, 0); }
  // Keys and messages are nearly always printable ASCII with nothing to escape: copied as
  // they are; anything else goes through the serializer.
  void text(std::string_view s) {
    const bool plain = std::all_of(s.begin(), s.end(), [](char c) {
      return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
    });
    if (!plain) return value(nlohmann::json(std::string(s)));
    line_ += '"';
    line_ += s;
    line_ += '"';
  }

 private:
  std::string& line_;
  nlohmann::detail::serializer<nlohmann::json> out_;
};
}  // namespace

// The line is written field by field rather than built as one nlohmann object, and each value
// straight into it: the webhook logs a line per callback.
// Fields named time, level or message replace those base fields.
void Logger::log(LogLevel level, std::string_view message, const nlohmann::json& fields) const {
  if (!enabled(level)) return;
  const bool has_fields = fields.is_object() && !fields.empty();
  const auto overridden = [&](const char* key) { return has_fields && fields.contains(key); };
  std::string line;
  line.reserve(320);
  JsonText json(line);
  line += '{';
  if (!overridden("time")) {
    line += R"("time":")";
    line += to_iso8601(now_utc());
    line += "\",";
  }
  if (!overridden("level")) {
    line += R"("level":")";
    line += level_name(level);
    line += "\",";
  }
  if (!overridden("message")) {
    line += R"("message":)";
    json.text(message);
    line += ',';
  }
  if (has_fields) {
    for (const auto& [key, value] : fields.items()) {
      json.text(key);
      line += ':';
      json.value(value);
      line += ',';
    }
  }
  line.back() = '}';
  sink_->log(spdlog_level(level), line);
}

void Logger::flush() const { sink_->flush(); }

void Logger::buffer_lines_below(LogLevel level) { sink_->flush_on(spdlog_level(level)); }

}  // namespace tbpay
