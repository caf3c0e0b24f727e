#pragma once
// SQLite connections (one per thread at a time, from a small pool) and prepared queries.
#include <sqlite3.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace tbpay::lite {

struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbClose>;

Error error_from(sqlite3* db, int code, std::string_view what);

// One prepared statement. Parameters are numbered ?1, ?2, ... in the SQL.
class Query {
 public:
  Query(sqlite3* db, std::string_view sql);
  Query& bind(int index, std::string_view text);
  Query& bind(int index, const std::string& text) { return bind(index, std::string_view(text)); }
  Query& bind(int index, std::int64_t number);
  Query& bind(int index, const std::optional<std::string>& text);

  // Next row: true; no more rows: false.
  Result<bool> step();
  // Runs to completion; how many rows it changed.
  Result<std::size_t> run();
  // For running again with new bindings.
  void reset();

  bool null(int col) const { return sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL; }
  std::string text(int col) const;
  std::optional<std::string> optional_text(int col) const;
  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_.get(), col); }

 private:
  struct Finalize {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, Finalize> stmt_;
  int prepare_code_ = SQLITE_OK;
  std::string sql_head_;  // for error messages
};

// BEGIN IMMEDIATE ... COMMIT; rolled back on destruction unless committed. IMMEDIATE takes
// the write lock up front, so two writers (threads or processes) queue on busy_timeout
// instead of failing to upgrade a read transaction.
class Transaction {
 public:
  static Result<Transaction> begin(sqlite3* db);
  Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Status<> commit();

 private:
  explicit Transaction(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

Status<> exec(sqlite3* db, const char* sql);

// Connections to one file, opened on demand and reused (WAL mode, busy_timeout set).
class Pool {
 public:
  explicit Pool(std::string path) : path_(std::move(path)) {}

  class Lease {
   public:
    Lease(Pool* pool, DbPtr db) : pool_(pool), db_(std::move(db)) {}
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    sqlite3* get() const { return db_.get(); }

   private:
    Pool* pool_;
    DbPtr db_;
  };

  // A missing file is an error (nothing is created) until may_create(): only `tbpay migrate`
  // makes the database, so that a command that reads leaves no empty file behind.
  Result<Lease> acquire();
  void may_create() { may_create_ = true; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::atomic<bool> may_create_{false};
  std::mutex mutex_;
  std::vector<DbPtr> idle_;
};

}  // namespace tbpay::lite
