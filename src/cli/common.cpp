// What every command shares: where its output goes and how its errors read (commands.h).
#include <cstdio>
#include <string>

#include "cli/commands.h"
#include "config/whole_number.h"

namespace tbpay::cli {

int fail(std::string_view command, std::string_view message, int code) {
  std::fprintf(stderr, "tbpay %.*s: %.*s\n", static_cast<int>(command.size()), command.data(),
               static_cast<int>(message.size()), message.data());
  return code;
}

std::unique_ptr<Context> job_context() {
  auto config = load_config(process_env());
  if (!config) throw StartupError(config.error());
  auto ctx = make_context(std::move(config).value());
  ctx->log = Logger(parse_log_level(ctx->config.log_level), LogStream::Stderr);
  return ctx;
}

CLI::Validator vnd_amount() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (whole_number(text, 1)) return "";
        return "must be a whole number of VND, 1 or more, got '" + text + "'";
      },
      "VND", "amount");
}

namespace {

// SQLite: "no such table: outbox"; PostgreSQL: relation "outbox" does not exist (42P01).
bool missing_table(const std::string& message) {
  return message.find("no such table") != std::string::npos ||
         (message.find("relation \"") != std::string::npos &&
          message.find("\" does not exist") != std::string::npos);
}

}  // namespace

std::string store_error(const Error& error, const Database& db) {
  const std::string where = db.describe();
  std::string message = error.message;
  if (message.find(where) == std::string::npos) message += " (" + where + ")";
  if (missing_table(error.message))
    message +=
        ": the payments and outbox tables are not there; create them with `tbpay migrate` (on "
        "the core service's database, check DATABASE_URL and its ?schema=)";
  return message;
}

}  // namespace tbpay::cli
