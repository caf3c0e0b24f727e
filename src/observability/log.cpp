#include "observability/log.h"

#include <spdlog/sinks/basic_file_sink.h>
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

std::shared_ptr<spdlog::logger> configure(std::shared_ptr<spdlog::logger> l) {
  l->set_pattern("%v");
  l->set_level(spdlog::level::trace);
  l->flush_on(spdlog::level::trace);
  return l;
}
}  // namespace

// Not registered with spdlog's global registry: each Logger owns its sink.
Logger::Logger(LogLevel min_level)
    : min_(min_level),
      sink_(configure(std::make_shared<spdlog::logger>(
          "tbpay", std::make_shared<spdlog::sinks::stdout_sink_mt>()))) {}

Logger::Logger(LogLevel min_level, const std::string& file_path)
    : min_(min_level),
      sink_(configure(std::make_shared<spdlog::logger>(
          "tbpay", std::make_shared<spdlog::sinks::basic_file_sink_mt>(file_path)))) {}

void Logger::log(LogLevel level, std::string_view message, const nlohmann::json& fields) const {
  if (!enabled(level)) return;
  nlohmann::json line = {{"time", to_iso8601(now_utc())},
                         {"level", level_name(level)},
                         {"message", message}};
  if (fields.is_object()) line.update(fields);
  sink_->info(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void Logger::flush() const { sink_->flush(); }

}  // namespace tbpay
