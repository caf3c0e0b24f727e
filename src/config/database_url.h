#pragma once
// DATABASE_URL as the core service writes it for Prisma (checked by load_config, applied by the
// PostgreSQL pool). libpq rejects Prisma's own query arguments ("invalid URI query parameter"),
// and most Prisma URLs carry at least `schema=public`, so they are taken out of the URL here and
// applied by tbpay instead:
//
//   schema                 the tables' schema: search_path for every session
//   connection_limit       the pool's size
//   pool_timeout           seconds to wait for a free pooled connection (0: no limit)
//   socket_timeout         seconds to wait for the server's answer to one exchange
//   lock_timeout           (tbpay's own) seconds a callback waits for its payment's row lock
//                          (another session holding it) before it is answered "retry";
//                          shorter than socket_timeout, else refused (by default 5 s, or
//                          half a shorter socket_timeout)
//   pgbouncer=true,        no named prepared statements (a transaction-mode pooler such as
//   statement_cache_size=0 PgBouncer hands each transaction to another server session)
//   sslcert                Prisma's meaning: the server's CA certificate (libpq's sslrootcert)
//   sslaccept=strict       with sslmode=require: verify the certificate and host (verify-full)
//   max_connection_lifetime, max_idle_connection_lifetime: accepted, without effect here
//
// `options` is kept, with tbpay's own session settings after it (UTC, ISO dates; not behind
// PgBouncer, which refuses startup options), and any other argument goes to libpq unchanged.
// Prisma's PKCS12 `sslidentity` is refused with a way out (libpq reads PEM client certificates
// from PGSSLCERT and PGSSLKEY).
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "core/result.h"

namespace tbpay::pg {

struct ConnectionSettings {
  std::string url;      // for libpq: the URL without the arguments above
  std::string options;  // the session options to connect with (libpq's `options`)
  std::optional<std::string> sslrootcert;
  std::optional<std::string> sslmode;  // set when sslaccept=strict turned require into verify-full
  std::size_t pool_size = 16;
  std::optional<std::chrono::seconds> pool_timeout = std::chrono::seconds(10);  // nullopt: none
  std::chrono::milliseconds answer_timeout = std::chrono::seconds(30);
  std::chrono::milliseconds lock_timeout = std::chrono::seconds(5);
  bool prepared_statements = true;
  bool pgbouncer = false;  // pgbouncer=true: and no startup options the URL does not ask for
};

// `default_pool_size` is used without connection_limit. A bad value is an error naming the
// argument; nothing else is checked here (libpq reports what it does not understand).
Result<ConnectionSettings> parse_database_url(const std::string& url,
                                              std::size_t default_pool_size = 16);

}  // namespace tbpay::pg
