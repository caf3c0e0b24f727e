#include "config/database_url.h"

#include <string_view>

#include "config/whole_number.h"

namespace tbpay::pg {

namespace {

// tbpay's own session settings: timestamps are UTC wall-clock time (docs/database.md), read back
// in ISO form. Last, so that they win over the same settings in the URL's `options`.
constexpr std::string_view kSessionOptions = "-c TimeZone=UTC -c DateStyle=ISO";

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Prisma reads its arguments as a form: %XX escapes, and '+' for a space.
std::optional<std::string> percent_decoded(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i] == '+' ? ' ' : s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = hex_digit(s[i + 1]);
    const int lo = hex_digit(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

Result<long> argument_number(std::string_view key, const std::string& value, long min) {
  if (auto n = whole_number(value, min)) return *n;
  return Error{ErrorKind::Invalid, "DATABASE_URL: " + std::string(key) + " must be a whole number" +
                                       (min > 0 ? " of at least " + std::to_string(min) : "") +
                                       ", got '" + value + "'"};
}

Result<bool> flag(std::string_view key, const std::string& value) {
  if (value == "true" || value == "1") return true;
  if (value == "false" || value == "0") return false;
  return Error{ErrorKind::Invalid,
               "DATABASE_URL: " + std::string(key) + " must be true or false, got '" + value + "'"};
}

// A session option's value: backslash before spaces and backslashes (libpq's `options` syntax);
// the schema name double-quoted, as Prisma takes it verbatim (case and all).
std::string search_path_option(const std::string& schema) {
  std::string quoted = "\"";
  for (char c : schema) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  quoted += '"';
  std::string option = "-c search_path=";
  for (char c : quoted) {
    if (c == ' ' || c == '\\') option += '\\';
    option += c;
  }
  return option;
}

}  // namespace

Result<ConnectionSettings> parse_database_url(const std::string& url,
                                              std::size_t default_pool_size) {
  ConnectionSettings s;
  s.pool_size = default_pool_size;
  const bool uri = url.starts_with("postgresql://") || url.starts_with("postgres://");
  const auto question = url.find('?');
  if (!uri || question == std::string::npos) {  // key=value strings are libpq's alone
    s.url = url;
    s.options = std::string(kSessionOptions);
    return s;
  }

  std::string kept;  // the arguments libpq is given, as they were written
  std::string url_options, schema, sslmode;
  bool strict = false;
  bool lock_given = false;
  std::string_view query(url);
  query.remove_prefix(question + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    auto value = percent_decoded(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!value)
      return Error{ErrorKind::Invalid,
                   "DATABASE_URL: the value of " + std::string(key) + " is not percent-encoded"};
    auto keep = [&] { kept += (kept.empty() ? "" : "&") + std::string(pair); };

    if (key == "schema") {
      schema = *value;
    } else if (key == "connection_limit") {
      auto n = argument_number(key, *value, 1);
      if (!n) return n.error();
      s.pool_size = static_cast<std::size_t>(*n);
    } else if (key == "pool_timeout") {
      auto n = argument_number(key, *value, 0);
      if (!n) return n.error();
      s.pool_timeout = *n == 0 ? std::nullopt : std::optional(std::chrono::seconds(*n));
    } else if (key == "socket_timeout") {
      auto n = argument_number(key, *value, 1);
      if (!n) return n.error();
      s.answer_timeout = std::chrono::seconds(*n);
    } else if (key == "lock_timeout") {
      auto n = argument_number(key, *value, 1);
      if (!n) return n.error();
      s.lock_timeout = std::chrono::seconds(*n);
      lock_given = true;
    } else if (key == "pgbouncer") {
      auto on = flag(key, *value);
      if (!on) return on.error();
      s.pgbouncer = *on;
      if (*on) s.prepared_statements = false;
    } else if (key == "statement_cache_size") {
      auto n = argument_number(key, *value, 0);
      if (!n) return n.error();
      if (*n == 0) s.prepared_statements = false;
    } else if (key == "sslcert") {
      s.sslrootcert = *value;
    } else if (key == "sslaccept") {
      if (*value != "strict" && *value != "accept_invalid_certs")
        return Error{
            ErrorKind::Invalid,
            "DATABASE_URL: sslaccept must be strict or accept_invalid_certs, got '" + *value + "'"};
      strict = *value == "strict";
    } else if (key == "sslidentity" || key == "sslpassword") {
      return Error{ErrorKind::Invalid,
                   "DATABASE_URL: " + std::string(key) +
                       " (a PKCS12 client identity) is not supported: give the client "
                       "certificate and key in PEM files named by PGSSLCERT and PGSSLKEY"};
    } else if (key == "max_connection_lifetime" || key == "max_idle_connection_lifetime") {
      // Prisma's connection recycling: tbpay keeps connections until they break.
    } else if (key == "options") {
      url_options = *value;
    } else {
      if (key == "sslmode") sslmode = *value;
      keep();
    }
  }

  // The default wait for a row lock stays inside a short socket_timeout (a Prisma URL may carry
  // one); one given in the URL that does not is refused.
  if (!lock_given && s.lock_timeout >= s.answer_timeout) s.lock_timeout = s.answer_timeout / 2;
  if (s.lock_timeout >= s.answer_timeout) {
    const auto seconds = [](std::chrono::milliseconds d) {
      return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
    };
    return Error{ErrorKind::Invalid,
                 "DATABASE_URL: lock_timeout (" + seconds(s.lock_timeout) +
                     ") must be shorter than socket_timeout (" + seconds(s.answer_timeout) +
                     "): a callback still waiting for a payment's row lock would be cut off as "
                     "if the server were gone, and its connection dropped"};
  }
  s.url = url.substr(0, question) + (kept.empty() ? "" : "?" + kept);
  if (strict && sslmode == "require") s.sslmode = "verify-full";
  // PgBouncer refuses startup options it does not know ("unsupported startup parameter:
  // options"): behind it only what the URL asks for is sent. tbpay's session settings are
  // the server defaults anyway (its timestamps are written and read without a time zone), and
  // public is on the default search_path.
  const bool pooler = s.pgbouncer;
  if (pooler && schema == "public") schema.clear();
  for (const std::string& part :
       {url_options, schema.empty() ? std::string() : search_path_option(schema),
        pooler ? std::string() : std::string(kSessionOptions)}) {
    if (!part.empty()) s.options += (s.options.empty() ? "" : " ") + part;
  }
  return s;
}

}  // namespace tbpay::pg
