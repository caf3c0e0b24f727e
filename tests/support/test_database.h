#pragma once
// Fresh databases for tests, on both engines, and plain SQL against them.
//
//   auto db = tbpay::test::make_test_database(Engine::Postgres);  // CREATE DATABASE tbpay_t_...
//   db->migrate();                                   // as `tbpay migrate` (or
//   core_service_schema()) insert_payment(*db, {.order_code = "TB-1"});     // as the core service
//   inserts it auto store = db->open();                         // open_database(db->config())
//   db->scalar(R"(SELECT status FROM payments WHERE "orderCode" = $1)", {"TB-1"});
//
// PostgreSQL databases live on the server named by TEST_DATABASE_URL (set by `make test`):
// each TestDatabase is its own database there, dropped (WITH (FORCE)) on destruction, so test
// executables can run in parallel. TEST_PGBOUNCER_URL, also set by `make test`, is a PgBouncer
// in front of that server (PgTestDatabase::use_pgbouncer). With TEST_DATABASE_URL unset,
// constructing one throws, and the test fails saying so. SQLite databases are files in a temporary
// folder, removed after.
//
// Helpers throw std::runtime_error on any SQL error: GoogleTest reports it as a failure.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/payment.h"
#include "store/store.h"

namespace tbpay::test {

enum class Engine { Postgres, Sqlite };
std::string to_string(Engine engine);  // "postgres", "sqlite" (usable in test names)
inline const std::vector<Engine>& all_engines() {
  static const std::vector<Engine> engines{Engine::Postgres, Engine::Sqlite};
  return engines;
}
// For INSTANTIATE_TEST_SUITE_P(..., ::testing::ValuesIn(all_engines()), EngineName{}).
struct EngineName {
  template <class Info>
  std::string operator()(const Info& info) const {
    return to_string(info.param);
  }
};

using Value = std::optional<std::string>;  // text; nullopt = NULL
using Row = std::vector<Value>;

class TestDatabase {
 public:
  virtual ~TestDatabase() = default;
  virtual Engine engine() const = 0;
  // The DATABASE_URL of this database ("postgresql://.../tbpay_t_...", "sqlite:/tmp/.../x.db").
  virtual const std::string& url() const = 0;

  // Runs SQL with text parameters written $1, $2, ... on both engines, and returns the rows of
  // its (last) result as text: booleans are "t"/"f" on PostgreSQL and "1"/"0" on SQLite
  // (see is_true()). Without parameters the SQL may hold several statements.
  virtual std::vector<Row> query(std::string_view sql, const std::vector<Value>& params = {}) = 0;
  void exec(std::string_view sql, const std::vector<Value>& params = {}) { query(sql, params); }
  // First column of the first row; throws if there is no row or it is NULL.
  std::string scalar(std::string_view sql, const std::vector<Value>& params = {});
  std::int64_t count(std::string_view sql, const std::vector<Value>& params = {});

  // A Config whose DATABASE_URL is this database (everything else default).
  Config config() const;
  // A store on this database, as the application opens it.
  std::unique_ptr<Database> open() const;
  // The schema as `tbpay migrate` creates it; throws if migrate fails.
  void migrate();
  // PostgreSQL: tests/store/core_service_schema.sql, the core service's tables written by hand
  // from docs/database.md (not by tbpay). SQLite has no core service: same as migrate().
  void create_core_service_schema();
};

// A fresh, empty database on the given engine.
std::unique_ptr<TestDatabase> make_test_database(Engine engine);

class PgTestDatabase final : public TestDatabase {
 public:
  PgTestDatabase();  // throws if TEST_DATABASE_URL is unset or the server refuses
  ~PgTestDatabase() override;
  Engine engine() const override { return Engine::Postgres; }
  const std::string& url() const override { return url_; }
  const std::string& name() const { return name_; }
  std::vector<Row> query(std::string_view sql, const std::vector<Value>& params = {}) override;

  // From here on the database is reached as the core service's Prisma URL names it: its
  // tables in `schema` (created here, empty), and url() carries Prisma's arguments: schema,
  // pgbouncer=true (no prepared statements), connection_limit=4, socket_timeout. query() keeps
  // working: its own session's search_path is that schema too.
  void use_prisma_url(const std::string& schema);

  // From here on url() reaches the database through the PgBouncer of TEST_PGBOUNCER_URL (set
  // by `make test`: transaction pooling, in front of TEST_DATABASE_URL's server), with the
  // arguments a Prisma URL for it carries: pgbouncer=true&schema=public. Throws if unset.
  void use_pgbouncer();

  // Ends every session on this database (pg_terminate_backend), as a server restart would:
  // pools holding connections to it must reconnect. Returns how many were ended.
  int terminate_connections();
  // Runs SQL as the server's admin (on TEST_DATABASE_URL's database).
  std::vector<Row> admin_query(std::string_view sql, const std::vector<Value>& params = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string name_;
  std::string url_;
};

class SqliteTestDatabase final : public TestDatabase {
 public:
  SqliteTestDatabase();
  ~SqliteTestDatabase() override;
  Engine engine() const override { return Engine::Sqlite; }
  const std::string& url() const override { return url_; }
  const std::string& path() const { return path_; }
  const std::string& folder() const { return folder_; }  // removed with the database
  std::vector<Row> query(std::string_view sql, const std::vector<Value>& params = {}) override;

 private:
  std::string folder_;
  std::string path_;
  std::string url_;
};

// "t", "true", "1" (PostgreSQL and SQLite spellings of true).
bool is_true(const Value& v);

// A payment as the core service inserts it: plain SQL INSERT, status given as text.
struct SeedPayment {
  std::string order_code{};
  std::int64_t amount_cents = 150000;
  Provider provider = Provider::ZaloPay;
  // Empty: ZaloPay `yymmdd_<order code>` (today, UTC); PayOS a random 32-hex paymentLinkId.
  std::string provider_transaction_id{};
  std::string status = "PENDING";
  std::string id{};                       // empty: a random UUID
  std::optional<Timestamp> created_at{};  // empty: now
};
// Inserts it and returns the payment's id.
std::string insert_payment(TestDatabase& db, const SeedPayment& payment);

// An outbox row as the core service (or an earlier relay) would have written it.
struct SeedEvent {
  std::string aggregate_id{};  // the payment id
  std::string event_type = "PAYMENT_COMPLETED";
  std::string payload = R"({"order_code":"TB-SEED"})";
  Timestamp created_at{};
  std::string id{};  // empty: a random UUID
  bool published = false;
  std::optional<Timestamp> published_at{};
  int retry_count = 0;
  std::optional<std::string> last_error{};
};
// Inserts it and returns the event's id.
std::string insert_event(TestDatabase& db, const SeedEvent& event);

}  // namespace tbpay::test
