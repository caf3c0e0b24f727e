#include "support/test_database.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>

#include "crypto/crypto.h"
#include "store/open.h"

#ifndef TBPAY_TEST_SOURCE_DIR
#error "TBPAY_TEST_SOURCE_DIR must name the source tree"
#endif

namespace tbpay::test {

std::string to_string(Engine engine) { return engine == Engine::Postgres ? "postgres" : "sqlite"; }

bool is_true(const Value& v) { return v && (*v == "t" || *v == "true" || *v == "1"); }

std::string TestDatabase::scalar(std::string_view sql, const std::vector<Value>& params) {
  auto rows = query(sql, params);
  if (rows.empty() || rows[0].empty() || !rows[0][0])
    throw std::runtime_error("expected a value from: " + std::string(sql));
  return *rows[0][0];
}

std::int64_t TestDatabase::count(std::string_view sql, const std::vector<Value>& params) {
  return std::stoll(scalar(sql, params));
}

Config TestDatabase::config() const {
  Config c;
  c.database_url = url();
  return c;
}

std::unique_ptr<Database> TestDatabase::open() const { return open_database(config()); }

void TestDatabase::migrate() {
  auto db = open();
  auto report = db->schema().migrate();
  if (!report) throw std::runtime_error("migrate failed: " + report.error().message);
}

void TestDatabase::create_core_service_schema() {
  if (engine() == Engine::Sqlite) return migrate();
  const std::string file =
      std::string(TBPAY_TEST_SOURCE_DIR) + "/tests/store/core_service_schema.sql";
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read " + file);
  std::stringstream sql;
  sql << in.rdbuf();
  exec(sql.str());
}

std::unique_ptr<TestDatabase> make_test_database(Engine engine) {
  if (engine == Engine::Postgres) return std::make_unique<PgTestDatabase>();
  return std::make_unique<SqliteTestDatabase>();
}

// --- PostgreSQL -------------------------------------------------------------------------

namespace {

struct PgFree {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using PgPtr = std::unique_ptr<PGconn, PgFree>;

void ignore_notice(void*, const char*) {}

PgPtr pg_connect(const std::string& url) {
  PgPtr conn(PQconnectdb(url.c_str()));
  if (PQstatus(conn.get()) != CONNECTION_OK)
    throw std::runtime_error("cannot connect to " + url + ": " + PQerrorMessage(conn.get()));
  PQsetNoticeProcessor(conn.get(), ignore_notice, nullptr);
  PQclear(PQexec(conn.get(), "SET TIME ZONE 'UTC'"));
  return conn;
}

std::vector<Row> pg_query(PGconn* conn, std::string_view sql, const std::vector<Value>& params) {
  const std::string text(sql);
  PGresult* raw = nullptr;
  if (params.empty()) {
    raw = PQexec(conn, text.c_str());
  } else {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    raw = PQexecParams(conn, text.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                       nullptr, nullptr, 0);
  }
  std::unique_ptr<PGresult, void (*)(PGresult*)> result(raw, PQclear);
  const auto status = PQresultStatus(raw);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK)
    throw std::runtime_error("SQL failed: " + std::string(PQresultErrorMessage(raw)) +
                             "in: " + text);
  std::vector<Row> rows;
  for (int r = 0; r < PQntuples(raw); ++r) {
    Row row;
    for (int c = 0; c < PQnfields(raw); ++c)
      row.push_back(PQgetisnull(raw, r, c) ? Value() : Value(PQgetvalue(raw, r, c)));
    rows.push_back(std::move(row));
  }
  return rows;
}

// postgresql://user@host:port/postgres?x=y -> same with /<database>
std::string with_database(const std::string& url, const std::string& database) {
  const auto scheme = url.find("://");
  const auto path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  const auto query = url.find('?');
  if (path == std::string::npos || (query != std::string::npos && path > query)) {
    const std::string base = url.substr(0, query);
    return base + "/" + database + (query == std::string::npos ? "" : url.substr(query));
  }
  const auto end = query == std::string::npos ? url.size() : query;
  return url.substr(0, path + 1) + database + url.substr(end);
}

std::string unique_name(std::string_view prefix) {
  static std::atomic<int> counter{0};
  std::random_device rd;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%06x", rd() & 0xffffff);
  return std::string(prefix) + std::to_string(::getpid()) + "_" + std::to_string(++counter) + "_" +
         suffix;
}

}  // namespace

struct PgTestDatabase::Impl {
  std::string admin_url;
  PgPtr admin;
  std::mutex mutex;  // guards `conn` (tests may query from several threads)
  PgPtr conn;
  std::string direct_url;  // the database on TEST_DATABASE_URL's server
  std::string schema;      // use_prisma_url's: query()'s session works there too
};

PgTestDatabase::PgTestDatabase() : impl_(std::make_unique<Impl>()) {
  const char* server = std::getenv("TEST_DATABASE_URL");
  if (!server || !*server)
    throw std::runtime_error(
        "TEST_DATABASE_URL is not set: PostgreSQL tests need a server. `make test` starts a "
        "throwaway one; or run scripts/pg-throwaway.sh start DIR and export its URL.");
  impl_->admin_url = server;
  impl_->admin = pg_connect(impl_->admin_url);
  name_ = unique_name("tbpay_t_");
  pg_query(impl_->admin.get(), "CREATE DATABASE \"" + name_ + "\"", {});
  url_ = impl_->direct_url = with_database(impl_->admin_url, name_);
}

void PgTestDatabase::use_pgbouncer() {
  const char* bouncer = std::getenv("TEST_PGBOUNCER_URL");
  if (!bouncer || !*bouncer)
    throw std::runtime_error(
        "TEST_PGBOUNCER_URL is not set: these tests go through PgBouncer. `make test` starts a "
        "throwaway one; or run scripts/pgbouncer-throwaway.sh start DIR PG_PORT and export its "
        "URL.");
  url_ = with_database(bouncer, name_) + "?pgbouncer=true&schema=public&connection_limit=4";
}

void PgTestDatabase::use_prisma_url(const std::string& schema) {
  exec("CREATE SCHEMA \"" + schema + "\"");
  std::lock_guard lock(impl_->mutex);
  impl_->conn.reset();
  impl_->schema = schema;
  url_ += std::string(url_.find('?') == std::string::npos ? "?" : "&") + "schema=" + schema +
          "&pgbouncer=true&connection_limit=4&socket_timeout=30";
}

PgTestDatabase::~PgTestDatabase() {
  impl_->conn.reset();
  PGresult* r = PQexec(impl_->admin.get(),
                       ("DROP DATABASE IF EXISTS \"" + name_ + "\" WITH (FORCE)").c_str());
  PQclear(r);
}

std::vector<Row> PgTestDatabase::query(std::string_view sql, const std::vector<Value>& params) {
  std::lock_guard lock(impl_->mutex);
  if (!impl_->conn || PQstatus(impl_->conn.get()) != CONNECTION_OK) {
    impl_->conn = pg_connect(impl_->direct_url);
    if (!impl_->schema.empty())
      pg_query(impl_->conn.get(), "SET search_path = \"" + impl_->schema + "\"", {});
  }
  if (impl_->schema.empty()) return pg_query(impl_->conn.get(), sql, params);
  // Prisma names its schema in every statement ("public"."payments"): the helpers that write
  // as the core service does (insert_payment) follow the schema too.
  std::string text(sql);
  const std::string from = "\"public\".", to = "\"" + impl_->schema + "\".";
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return pg_query(impl_->conn.get(), text, params);
}

std::vector<Row> PgTestDatabase::admin_query(std::string_view sql,
                                             const std::vector<Value>& params) {
  return pg_query(impl_->admin.get(), sql, params);
}

int PgTestDatabase::terminate_connections() {
  auto rows = admin_query(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
      "WHERE datname = $1 AND pid <> pg_backend_pid()",
      {name_});
  {
    std::lock_guard lock(impl_->mutex);
    impl_->conn.reset();  // ours was among them
  }
  // pg_terminate_backend only signals: wait until the sessions are really gone.
  for (int i = 0; i < 500; ++i) {
    auto left = admin_query("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", {name_});
    if (left[0][0] == "0") break;
    ::usleep(10'000);
  }
  return std::stoi(*rows[0][0]);
}

// --- SQLite -----------------------------------------------------------------------------

SqliteTestDatabase::SqliteTestDatabase() {
  std::string pattern = (std::filesystem::temp_directory_path() / "tbpay-test-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  folder_ = pattern;
  path_ = folder_ + "/tbpay.db";
  url_ = "sqlite:" + path_;
}

SqliteTestDatabase::~SqliteTestDatabase() {
  std::error_code ignored;
  std::filesystem::remove_all(folder_, ignored);
}

std::vector<Row> SqliteTestDatabase::query(std::string_view sql, const std::vector<Value>& params) {
  sqlite3* raw = nullptr;
  if (sqlite3_open(path_.c_str(), &raw) != SQLITE_OK) {
    sqlite3_close(raw);
    throw std::runtime_error("cannot open " + path_);
  }
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close);
  sqlite3_busy_timeout(raw, 10'000);
  std::vector<Row> rows;
  const std::string text(sql);
  const char* tail = text.c_str();
  while (tail && *tail) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(raw, tail, -1, &stmt, &tail) != SQLITE_OK)
      throw std::runtime_error(std::string("SQL failed: ") + sqlite3_errmsg(raw) + " in: " + text);
    if (!stmt) continue;  // whitespace or a comment
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard(stmt, sqlite3_finalize);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int index = sqlite3_bind_parameter_index(stmt, ("$" + std::to_string(i + 1)).c_str());
      if (index == 0) continue;
      if (params[i])
        sqlite3_bind_text(stmt, index, params[i]->c_str(), -1, SQLITE_TRANSIENT);
      else
        sqlite3_bind_null(stmt, index);
    }
    std::vector<Row> these;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      Row row;
      for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
        const auto* v = sqlite3_column_text(stmt, c);
        row.push_back(v ? Value(reinterpret_cast<const char*>(v)) : Value());
      }
      these.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE)
      throw std::runtime_error(std::string("SQL failed: ") + sqlite3_errmsg(raw) + " in: " + text);
    if (sqlite3_column_count(stmt) > 0) rows = std::move(these);
  }
  return rows;
}

// --- Seeds ------------------------------------------------------------------------------

namespace {
std::string random_hex(std::size_t n) {
  std::string uuid;
  while (uuid.size() < n)
    for (char c : uuid_v4())
      if (c != '-') uuid += c;
  return uuid.substr(0, n);
}

std::string yymmdd(Timestamp t) {
  const std::string iso = to_iso8601(t);  // 2025-12-13T...
  return iso.substr(2, 2) + iso.substr(5, 2) + iso.substr(8, 2);
}
}  // namespace

std::string insert_payment(TestDatabase& db, const SeedPayment& p) {
  const std::string id = p.id.empty() ? uuid_v4() : p.id;
  const Timestamp at = p.created_at.value_or(now_utc());
  std::string transaction = p.provider_transaction_id;
  if (transaction.empty())
    transaction =
        p.provider == Provider::ZaloPay ? yymmdd(at) + "_" + p.order_code : random_hex(32);
  // As Prisma sends it: every column explicit, enums cast from text, timestamps in UTC.
  const char* pg = R"sql(
INSERT INTO "public"."payments" ("id", "orderCode", "amountCents", "currency", "provider",
    "providerTransactionId", "idempotencyKey", "redirectUrl", "paymentUrl", "status",
    "metadata", "createdAt", "updatedAt")
VALUES ($1, $2, CAST($3 AS INTEGER), CAST($4::text AS "public"."Currency"), $5, $6, $7, $8, $9,
    CAST($10::text AS "public"."PaymentStatus"), CAST($11 AS JSONB), CAST($12 AS TIMESTAMP(3)),
    CAST($12 AS TIMESTAMP(3))))sql";
  const char* lite = R"sql(
INSERT INTO "payments" ("id", "orderCode", "amountCents", "currency", "provider",
    "providerTransactionId", "idempotencyKey", "redirectUrl", "paymentUrl", "status",
    "metadata", "createdAt", "updatedAt")
VALUES ($1, $2, CAST($3 AS INTEGER), $4, $5, $6, $7, $8, $9, $10, $11, $12, $12))sql";
  db.exec(
      db.engine() == Engine::Postgres ? pg : lite,
      {id, p.order_code, std::to_string(p.amount_cents), "VND", std::string(to_string(p.provider)),
       transaction, uuid_v4(), "https://ticketbottle.example/orders/" + p.order_code + "/result",
       "https://pay.example/" + transaction, p.status, R"({"source":"core"})",
       to_sql_timestamp(at)});
  return id;
}

std::string insert_event(TestDatabase& db, const SeedEvent& e) {
  const std::string id = e.id.empty() ? uuid_v4() : e.id;
  const bool pg = db.engine() == Engine::Postgres;
  const std::string sql = std::string(R"sql(
INSERT INTO outbox ("id", "aggregateId", "aggregateType", "eventType", "payload", "published",
    "publishedAt", "createdAt", "retryCount", "lastError")
VALUES ($1, $2, 'Payment', $3, )sql") +
                          (pg ? "CAST($4 AS JSONB), CAST($5 AS BOOLEAN), CAST($6 AS TIMESTAMP(3)), "
                                "CAST($7 AS TIMESTAMP(3)), "
                              : "$4, CAST($5 AS INTEGER), $6, $7, ") +
                          "CAST($8 AS INTEGER), $9)";
  db.exec(sql, {id, e.aggregate_id, e.event_type, e.payload,
                pg ? (e.published ? "true" : "false") : (e.published ? "1" : "0"),
                e.published_at ? Value(to_sql_timestamp(*e.published_at)) : Value(),
                to_sql_timestamp(e.created_at), std::to_string(e.retry_count), e.last_error});
  return id;
}

}  // namespace tbpay::test
