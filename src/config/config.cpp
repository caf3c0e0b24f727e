#include "config/config.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <limits>

#include "config/database_url.h"
#include "config/whole_number.h"

namespace tbpay {

bool Config::uses_postgres() const {
  return database_url.starts_with("postgres://") || database_url.starts_with("postgresql://");
}

std::string Config::sqlite_path() const {
  if (database_url.empty()) return "var/tbpay.db";
  std::string_view p = database_url;
  for (std::string_view prefix : {"sqlite://", "sqlite:", "file:"}) {
    if (p.starts_with(prefix)) {
      p.remove_prefix(prefix.size());
      break;
    }
  }
  return std::string(p);
}

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
  };
}

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Reads a positive integer variable into `out`; an error names the variable.
std::optional<std::string> read_int(const EnvLookup& env, const char* name, int min, int& out) {
  auto v = env(name);
  if (!v) return std::nullopt;
  const auto parsed = whole_number(*v, min);
  if (!parsed || *parsed > std::numeric_limits<int>::max())
    return std::string(name) + " must be a whole number >= " + std::to_string(min) + ", got '" +
           *v + "'";
  out = static_cast<int>(*parsed);
  return std::nullopt;
}

// "mysql" for "mysql://x"; nullopt for a plain path ("var/tbpay.db", "/tmp/a:b.db"). A scheme
// is a letter, then letters, digits, '+', '-' or '.', then ':' (RFC 3986).
std::optional<std::string> url_scheme(std::string_view url) {
  const auto colon = url.find(':');
  if (colon == std::string_view::npos || colon == 0 ||
      !std::isalpha(static_cast<unsigned char>(url[0])))
    return std::nullopt;
  for (char ch : url.substr(0, colon))
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '+' && ch != '-' && ch != '.')
      return std::nullopt;
  return std::string(url.substr(0, colon));
}

std::optional<std::string> read_duration(const EnvLookup& env, const char* name,
                                         std::chrono::milliseconds& out) {
  auto v = env(name);
  if (!v) return std::nullopt;
  const auto parsed = parse_duration(*v);
  if (!parsed)
    return std::string(name) + " must be a duration such as 90s, 2m, 72h or 3d, got '" + *v + "'";
  out = *parsed;
  return std::nullopt;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 9) return std::nullopt;
  const auto n = whole_number(text.substr(0, digits), 0);
  if (!n) return std::nullopt;
  const std::string_view unit = text.substr(digits);
  using namespace std::chrono;
  if (unit == "ms") return milliseconds(*n);
  if (unit == "s") return duration_cast<milliseconds>(seconds(*n));
  if (unit == "m") return duration_cast<milliseconds>(minutes(*n));
  if (unit == "h") return duration_cast<milliseconds>(hours(*n));
  if (unit == "d") return duration_cast<milliseconds>(hours(24 * *n));
  return std::nullopt;
}

Result<Config, std::string> load_config(const EnvLookup& env) {
  Config c;
  auto get = [&](const char* name) { return env(name).value_or(""); };

  // The error names the variable the user set: APP_ENV, or NODE_ENV when only that is set.
  const char* env_name = env("APP_ENV") || !env("NODE_ENV") ? "APP_ENV" : "NODE_ENV";
  const std::string app_env = lower(env(env_name).value_or("dev"));
  if (app_env == "dev" || app_env == "development" || app_env == "local" || app_env == "test")
    c.env = AppEnv::Dev;
  else if (app_env == "staging")
    c.env = AppEnv::Staging;
  else if (app_env == "prod" || app_env == "production")
    c.env = AppEnv::Prod;
  else
    return std::string(env_name) + " must be dev, staging or prod, got '" + *env(env_name) + "'";

  c.log_level = lower(env("LOG_LEVEL").value_or("info"));
  if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" &&
      c.log_level != "error" && c.log_level != "trace")
    return std::string("LOG_LEVEL must be trace, debug, info, warn or error, got '" + c.log_level + "'");

  c.database_url = get("DATABASE_URL");
  if (auto scheme = url_scheme(c.database_url); scheme && *scheme != "postgresql" &&
                                                *scheme != "postgres" && *scheme != "sqlite" &&
                                                *scheme != "file")
    return "DATABASE_URL has an unknown scheme '" + *scheme +
           ":': use postgresql://..., sqlite:PATH or a file path (./PATH for one with a colon)";
  if (c.uses_postgres()) {  // Prisma's arguments in it are read now, so that a bad one stops us
    if (auto url = pg::parse_database_url(c.database_url); !url) return url.error().message;
  }
  if (auto f = env("EVENTS_FILE")) c.events_file = *f;
  if (auto l = env("LISTEN_ADDR")) c.listen_addr = *l;

  c.kafka.brokers = get("KAFKA_BROKERS");
  if (auto ssl = env("KAFKA_SSL")) {
    const std::string s = lower(*ssl);
    if (s == "true" || s == "1" || s == "yes")
      c.kafka.ssl = true;
    else if (s == "false" || s == "0" || s == "no")
      c.kafka.ssl = false;
    else
      return std::string("KAFKA_SSL must be true or false, got '" + *ssl + "'");
  }
  c.kafka.username = get("KAFKA_USERNAME");
  c.kafka.password = get("KAFKA_PASSWORD");
  if (auto m = env("KAFKA_SASL_MECHANISM")) {
    const std::string s = lower(*m);
    if (s == "plain")
      c.kafka.sasl = SaslMechanism::Plain;
    else if (s == "scram-sha-256")
      c.kafka.sasl = SaslMechanism::ScramSha256;
    else if (s == "scram-sha-512")
      c.kafka.sasl = SaslMechanism::ScramSha512;
    else
      return std::string(
          "KAFKA_SASL_MECHANISM must be plain, scram-sha-256 or scram-sha-512, got '" + *m + "'");
  } else if (!c.kafka.username.empty()) {
    c.kafka.sasl = SaslMechanism::Plain;
  }
  c.kafka.topic_prefix = get("KAFKA_TOPIC_PREFIX");

  c.zalopay.app_id = get("ZALOPAY_APP_ID");
  c.zalopay.key1 = get("ZALOPAY_KEY1");
  c.zalopay.key2 = get("ZALOPAY_KEY2");
  c.payos.client_id = get("PAYOS_CLIENT_ID");
  c.payos.api_key = get("PAYOS_API_KEY");
  c.payos.checksum_key = get("PAYOS_CHECKSUM_KEY");
  c.zalopay.api_url = env("ZALOPAY_API_URL")
                          .value_or(c.env == AppEnv::Prod ? "https://openapi.zalopay.vn"
                                                          : "https://sb-openapi.zalopay.vn");
  if (auto u = env("PAYOS_API_URL")) c.payos.api_url = *u;
  if (auto e = read_duration(env, "RECONCILE_AFTER", c.reconcile.after)) return *e;
  if (auto e = read_duration(env, "RECONCILE_WITHIN", c.reconcile.within)) return *e;
  if (c.reconcile.within <= c.reconcile.after)
    return std::string("RECONCILE_WITHIN must be longer than RECONCILE_AFTER");
  if (auto e = read_int(env, "RECONCILE_CONCURRENCY", 1, c.reconcile.concurrency)) return *e;
  if (auto e = read_int(env, "RECONCILE_RPS", 1, c.reconcile.rps)) return *e;

  if (auto e = read_int(env, "OUTBOX_BATCH_SIZE", 1, c.outbox_batch_size)) return *e;
  if (auto e = read_int(env, "OUTBOX_MAX_RETRIES", 1, c.outbox_max_retries)) return *e;
  // As the Node.js deployment: published events are kept 30 days in prod, 7 elsewhere.
  c.outbox_retention_days = c.env == AppEnv::Prod ? 30 : 7;
  if (auto e = read_int(env, "OUTBOX_RETENTION_DAYS", 0, c.outbox_retention_days)) return *e;
  return c;
}

}  // namespace tbpay
