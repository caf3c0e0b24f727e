#pragma once
// libpq connections, their results, and the pool the PostgreSQL stores share.
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "config/database_url.h"
#include "core/result.h"

namespace tbpay::pg {

struct ResultFree {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultFree>;

// The rows of a successful result, read as text (libpq's text format).
class Rows {
 public:
  explicit Rows(ResultPtr result) : result_(std::move(result)) {}
  int size() const { return PQntuples(result_.get()); }
  bool null(int row, int col) const { return PQgetisnull(result_.get(), row, col) != 0; }
  std::string text(int row, int col) const;
  std::optional<std::string> optional_text(int row, int col) const;
  std::int64_t integer(int row, int col) const;
  bool boolean(int row, int col) const;  // 't' / 'f'
  std::size_t affected() const;          // rows an UPDATE/DELETE/INSERT touched

 private:
  ResultPtr result_;
};

// A statement known by name: prepared on each connection the first time it runs there.
struct Statement {
  const char* name;
  const char* sql;
};

// Text parameters; nullopt is SQL NULL.
using Params = std::vector<std::optional<std::string>>;

// `{"a","b","c d"}`: a text[] literal for ANY($n::text[]) and unnest(), built element by
// element (a group's columns are built side by side, with no list of values first).
class TextArray {
 public:
  void add(std::string_view value);
  std::string done() &&;

 private:
  std::string text_ = "{";
};
std::string text_array(std::span<const std::string> values);

// Every exchange with the server (sending it, and waiting for its answer) takes at most
// `answer_timeout`: a server that accepts TCP but never answers (frozen, or behind a dead
// network path that still ACKs) costs a call an error, not a thread forever. The connection is
// then dropped.
class Connection {
 public:
  Connection(PGconn* conn, std::chrono::milliseconds answer_timeout, bool prepared_statements)
      : conn_(conn), answer_timeout_(answer_timeout), prepared_statements_(prepared_statements) {}

  Result<Rows> run(const Statement& statement, const Params& params);
  // Simple-query protocol: no parameters, may hold several statements (DDL, BEGIN, COMMIT).
  Result<Rows> run(std::string_view sql);
  // The statement, then COMMIT, sent together in pipeline mode: one round trip.
  Result<Rows> run_and_commit(const Statement& statement, const Params& params);
  // The statement waiting at most `lock_timeout` for any row lock it needs (the session's
  // setting, for this statement only, sent with it in pipeline mode: one round trip). Past it
  // the statement fails as Unavailable (SQLSTATE 55P03), naming lock_timeout.
  Result<Rows> run_waiting_for_locks_at_most(const Statement& statement, const Params& params,
                                             std::chrono::milliseconds lock_timeout);

  // The statement once for each parameter set, all in one transaction, each waiting at most
  // `lock_timeout` for a row lock: pipeline mode, one round trip, one commit (group commit).
  // Either every statement committed (`rows`, one per set, in order), or none did and `error`
  // says why, `failed` naming the set whose statement failed when one did. `rolled_back` tells
  // the two kinds of failure apart: true, the transaction is known to have rolled back (the
  // sets may run again); false, the connection was lost or timed out after sending, and the
  // commit may or may not have happened.
  struct Together {
    std::vector<Rows> rows;
    std::optional<Error> error;
    std::optional<std::size_t> failed;
    bool rolled_back = false;
  };
  Together run_together(const Statement& statement, std::span<const Params> each,
                        std::chrono::milliseconds lock_timeout);

  // The server went away (restart, pg_terminate_backend): this connection is useless.
  bool broken() const;
  // Between statements: has the server closed this idle connection since we last used it?
  bool closed_while_idle();
  bool in_transaction() const;

 private:
  // Prepares the statement on this connection the first time (nothing without prepared
  // statements).
  Status<> prepare(const Statement& statement);
  // The rest of one exchange once libpq took the query (`sent`): sends it and waits for its
  // results, both by the deadline; a failure is an Error naming `what`.
  Result<Rows> exchange(bool sent, std::string_view what);
  Error error_from(const PGresult* result, std::string_view what);
  using Deadline = std::chrono::steady_clock::time_point;
  Deadline deadline() const { return std::chrono::steady_clock::now() + answer_timeout_; }
  // Waits for `events` on the socket, no later than `until`: the events that came (0 when none
  // did yet), or -1 when the connection is gone or the time is up (then timed_out_ is set).
  int wait_socket(Deadline until, short events);
  // Sends what libpq holds (the connection is non-blocking), no later than `until`: false when
  // the connection failed, or it timed out (timed_out_).
  bool flushed(Deadline until);
  // The next result of what was sent, waiting for the server no later than `until`. Null at
  // the end of a query's results, and when the answer did not come in time (timed_out_).
  ResultPtr next_result(Deadline until);
  // Every result of one query: the first failed one, else the last. Null when it timed out.
  ResultPtr last_result(Deadline until);
  Error no_answer(std::string_view what);
  bool send(const Statement& statement, const Params& params);  // prepared, or unnamed
  // A statement run before another in the same pipeline, with its parameters.
  struct Before {
    const Statement& statement;
    Params params;
  };
  // `before` (when given), the statement and `after` (when not null) in pipeline mode, then a
  // sync: one round trip; without a transaction of the caller's, one implicit transaction.
  // The statement's rows, or the first failure.
  Result<Rows> pipelined(const Before* before, const Statement& statement, const Params& params,
                         const char* after);
  // One query of a pipeline: a prepared statement with its parameters, or a text without any.
  struct Step {
    const Statement* statement;
    const Params* params;
    const char* text;
  };
  struct Pipelined {
    std::vector<ResultPtr> results;          // one per step, in order
    std::optional<Error> error;              // the first failure, if any
    std::optional<std::size_t> failed_step;  // the step that failed, when one did
  };
  // The steps (already prepared) in pipeline mode, which the caller entered, then a sync: one
  // round trip, and without a transaction of the caller's one implicit transaction, committed
  // at the sync or rolled back at the first failure. Leaves pipeline mode unless timed out.
  Pipelined pipeline(std::span<const Step> steps, std::string_view what);

  struct ConnFree {
    void operator()(PGconn* c) const { PQfinish(c); }
  };
  std::unique_ptr<PGconn, ConnFree> conn_;
  std::chrono::milliseconds answer_timeout_;
  bool prepared_statements_;  // off behind a transaction-mode pooler (pgbouncer=true)
  std::unordered_set<std::string> prepared_;
  bool failed_ = false;
  bool timed_out_ = false;
};

// A thread-safe pool: connections are opened on demand up to `max_size`, reused, and
// dropped when broken, so the next call after a server restart simply reconnects.
class Pool {
 public:
  // `url` is DATABASE_URL, Prisma's arguments and all (database_url.h); `max_size` applies
  // unless it says connection_limit. A URL that cannot be read makes every call fail, saying why.
  Pool(std::string url, std::size_t max_size);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // A connection on loan; back to the pool on destruction (or closed, if unusable).
  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Connection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&&) noexcept = delete;
    ~Lease();
    Connection* operator->() { return conn_.get(); }
    Connection& operator*() { return *conn_; }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  Result<Lease> acquire();

  // One statement on a pooled connection. Reads pass Retry::Once: a connection that the
  // server closed under us is replaced and the statement runs again.
  enum class Retry { No, Once };
  Result<Rows> run(const Statement& statement, const Params& params, Retry retry);
  // Once, waiting at most the URL's lock_timeout for row locks (Connection's
  // run_waiting_for_locks_at_most): for statements that lock a row another session may hold.
  Result<Rows> run_lock_bounded(const Statement& statement, const Params& params);

  // Connection::run_together on a pooled connection, waiting for row locks at most `lock_wait`
  // and never longer than the URL's lock_timeout. Without a connection, `error` says why and
  // nothing was sent (rolled_back).
  Connection::Together run_together(const Statement& statement, std::span<const Params> each,
                                    std::chrono::milliseconds lock_wait);

  // "postgresql 127.0.0.1:5432/db": never the password.
  std::string describe() const { return description_; }

  // Read without the pool's lock: a scrape never delays a caller waiting for a connection.
  std::size_t in_use() const { return in_use_.load(std::memory_order_relaxed); }
  std::size_t waiting() const { return waiting_.load(std::memory_order_relaxed); }
  std::size_t max_size() const { return max_size_; }

 private:
  void give_back(std::unique_ptr<Connection> conn);
  Result<std::unique_ptr<Connection>> connect();

  std::optional<std::string> url_error_;
  ConnectionSettings settings_;
  std::string description_;
  std::size_t max_size_;
  std::mutex mutex_;
  std::condition_variable released_;
  std::vector<std::unique_ptr<Connection>> idle_;
  std::size_t open_ = 0;                 // idle + on loan
  std::atomic<std::size_t> in_use_{0};   // leases alive, and connections being opened for one
  std::atomic<std::size_t> waiting_{0};  // callers in acquire() waiting for a free slot
};

std::string describe_url(const std::string& url);

}  // namespace tbpay::pg
