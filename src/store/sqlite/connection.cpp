#include "store/sqlite/connection.h"

#include <filesystem>

namespace tbpay::lite {

namespace {
constexpr int kBusyTimeoutMs = 5000;
}

Error error_from(sqlite3* db, int code, std::string_view what) {
  std::string message = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(code));
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
      return {ErrorKind::Unavailable, message};
    case SQLITE_CONSTRAINT:
      if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY)
        return {ErrorKind::Conflict, message};
      return {ErrorKind::Invalid, message};
    default:
      return {ErrorKind::Internal, message};
  }
}

Query::Query(sqlite3* db, std::string_view sql) : db_(db) {
  sqlite3_stmt* stmt = nullptr;
  prepare_code_ = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  stmt_.reset(stmt);
  const auto start = sql.find_first_not_of(" \n");
  sql_head_ = std::string(sql.substr(start == sql.npos ? 0 : start, 40));
  if (const auto nl = sql_head_.find('\n'); nl != std::string::npos) sql_head_.resize(nl);
}

Query& Query::bind(int index, std::string_view text) {
  if (stmt_)
    sqlite3_bind_text(stmt_.get(), index, text.data(), static_cast<int>(text.size()),
                      SQLITE_TRANSIENT);
  return *this;
}

Query& Query::bind(int index, std::int64_t number) {
  if (stmt_) sqlite3_bind_int64(stmt_.get(), index, number);
  return *this;
}

Query& Query::bind(int index, const std::optional<std::string>& text) {
  if (!text) {
    if (stmt_) sqlite3_bind_null(stmt_.get(), index);
    return *this;
  }
  return bind(index, std::string_view(*text));
}

Result<bool> Query::step() {
  if (prepare_code_ != SQLITE_OK || !stmt_) return error_from(db_, prepare_code_, sql_head_);
  const int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return error_from(db_, sqlite3_extended_errcode(db_), sql_head_);
}

Result<std::size_t> Query::run() {
  for (;;) {
    auto row = step();
    if (!row) return row.error();
    if (!*row) break;
  }
  return static_cast<std::size_t>(sqlite3_changes(db_));
}

void Query::reset() {
  if (!stmt_) return;
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
}

std::string Query::text(int col) const {
  const auto* p = sqlite3_column_text(stmt_.get(), col);
  const int n = sqlite3_column_bytes(stmt_.get(), col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)) : "";
}

std::optional<std::string> Query::optional_text(int col) const {
  if (null(col)) return std::nullopt;
  return text(col);
}

Status<> exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (err) sqlite3_free(err);
  if (rc != SQLITE_OK) return error_from(db, sqlite3_extended_errcode(db), "exec");
  return Ok{};
}

Result<Transaction> Transaction::begin(sqlite3* db) {
  if (auto s = exec(db, "BEGIN IMMEDIATE"); !s) return s.error();
  return Transaction(db);
}

Transaction::~Transaction() {
  if (db_) exec(db_, "ROLLBACK");
}

Status<> Transaction::commit() {
  auto s = exec(db_, "COMMIT");
  if (s) db_ = nullptr;
  return s;
}

Pool::Lease::~Lease() {
  if (!db_) return;
  // A connection left inside a transaction (should not happen) is not reused.
  if (!sqlite3_get_autocommit(db_.get())) return;
  std::lock_guard lock(pool_->mutex_);
  pool_->idle_.push_back(std::move(db_));
}

Result<Pool::Lease> Pool::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      DbPtr db = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(db));
    }
  }
  const std::filesystem::path file(path_);
  std::error_code ignored;
  const bool create = may_create_;
  if (!create && !std::filesystem::exists(file, ignored))
    return Error{ErrorKind::Unavailable, "no SQLite database at " + path_ +
                                             ": create it with `tbpay migrate` (or set "
                                             "DATABASE_URL to the one to use)"};
  if (create && file.has_parent_path())
    std::filesystem::create_directories(file.parent_path(), ignored);
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(
      path_.c_str(), &raw,
      SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) return error_from(raw, rc, "open " + path_);
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  // WAL: readers never block the writer; NORMAL sync is durable across process crashes.
  if (auto s = exec(raw, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"); !s)
    return s.error();
  return Lease(this, std::move(db));
}

}  // namespace tbpay::lite
