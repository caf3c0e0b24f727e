#include "store/postgres/connection.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>

#include <charconv>
#include <cstring>

namespace tbpay::pg {

namespace {

// libpq's messages end in a newline and may span lines ("\n\tIs the server running..."):
// one line for logs.
std::string trimmed(const char* message) {
  std::string m;
  for (const char* p = message ? message : ""; *p; ++p) {
    const bool space = *p == '\n' || *p == '\t';
    if (!space)
      m += *p;
    else if (!m.empty() && m.back() != ' ')
      m += ' ';
  }
  while (!m.empty() && m.back() == ' ') m.pop_back();
  return m;
}

// SQLSTATEs after which retrying later (on a fresh connection) is the right answer.
bool is_transient(std::string_view state) {
  return state.starts_with("08")  // connection exception
         || state == "57P01" || state == "57P02" ||
         state == "57P03"                          // shutdown, cannot connect now
         || state == "53300"                       // too many connections
         || state == "40001" || state == "40P01"   // serialization failure, deadlock
         || state == "55P03";                      // lock_timeout: another session holds the row
}

void ignore_notice(void*, const char*) {}

}  // namespace

std::string Rows::text(int row, int col) const {
  return std::string(PQgetvalue(result_.get(), row, col),
                     static_cast<std::size_t>(PQgetlength(result_.get(), row, col)));
}

std::optional<std::string> Rows::optional_text(int row, int col) const {
  if (null(row, col)) return std::nullopt;
  return text(row, col);
}

std::int64_t Rows::integer(int row, int col) const {
  const char* v = PQgetvalue(result_.get(), row, col);
  std::int64_t out = 0;
  std::from_chars(v, v + std::strlen(v), out);
  return out;
}

bool Rows::boolean(int row, int col) const { return PQgetvalue(result_.get(), row, col)[0] == 't'; }

std::size_t Rows::affected() const {
  const char* v = PQcmdTuples(result_.get());
  std::size_t out = 0;
  std::from_chars(v, v + std::strlen(v), out);
  return out;
}

void TextArray::add(std::string_view value) {
  if (text_.size() > 1) text_ += ',';
  text_ += '"';
  for (char c : value) {
    if (c == '"' || c == '\\') text_ += '\\';
    text_ += c;
  }
  text_ += '"';
}

std::string TextArray::done() && {
  text_ += '}';
  return std::move(text_);
}

std::string text_array(std::span<const std::string> values) {
  TextArray out;
  for (const auto& v : values) out.add(v);
  return std::move(out).done();
}

// --- Connection -------------------------------------------------------------------------

bool Connection::broken() const { return failed_ || PQstatus(conn_.get()) != CONNECTION_OK; }

bool Connection::in_transaction() const { return PQtransactionStatus(conn_.get()) != PQTRANS_IDLE; }

bool Connection::closed_while_idle() {
  if (broken()) return true;
  const int fd = PQsocket(conn_.get());
  if (fd < 0) return true;
  // We never LISTEN on pooled connections, so an idle connection with something to read has
  // been told FATAL (terminated, server shutting down) or closed: not worth keeping.
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) != 0;
}

Error Connection::error_from(const PGresult* result, std::string_view what) {
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string message = std::string(what) + ": ";
  if (result && PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY))
    message += trimmed(PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY));
  else
    message += trimmed(PQerrorMessage(conn_.get()));
  if (state != nullptr && std::string_view(state) == "55P03")
    message += " (lock_timeout: another session holds the row)";
  if (PQstatus(conn_.get()) != CONNECTION_OK) failed_ = true;
  const std::string_view s = state ? state : "";
  if (failed_ || s.empty() || is_transient(s)) {
    if (s.starts_with("08") || s.starts_with("57P0")) failed_ = true;
    return {ErrorKind::Unavailable, message};
  }
  if (s == "23505") return {ErrorKind::Conflict, message};
  if (s.starts_with("22") || s.starts_with("23")) return {ErrorKind::Invalid, message};
  return {ErrorKind::Internal, message};
}

int Connection::wait_socket(Deadline until, short events) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        until - std::chrono::steady_clock::now())
                        .count();
  if (left <= 0) {
    timed_out_ = true;
    return -1;
  }
  pollfd p{PQsocket(conn_.get()), events, 0};
  if (p.fd < 0) return -1;
  const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 60'000)));
  if (ready < 0) return errno == EINTR ? 0 : -1;
  return ready == 0 ? 0 : p.revents;
}

bool Connection::flushed(Deadline until) {
  PGconn* c = conn_.get();
  for (;;) {
    const int pending = PQflush(c);
    if (pending <= 0) return pending == 0;  // -1: the connection failed, error_from says so
    // The server may be answering while we send: read what came, or the two could wait on
    // each other (libpq's advice for non-blocking connections).
    const int ready = wait_socket(until, POLLIN | POLLOUT);
    if (ready < 0) return false;
    if ((ready & POLLIN) && !PQconsumeInput(c)) return false;
  }
}

ResultPtr Connection::next_result(Deadline until) {
  PGconn* c = conn_.get();
  while (PQisBusy(c)) {
    const int ready = wait_socket(until, POLLIN);
    if (timed_out_) return nullptr;
    if (ready < 0) break;  // the connection is gone: PQgetResult says so
    if (ready > 0 && !PQconsumeInput(c)) break;
  }
  return ResultPtr(PQgetResult(c));
}

namespace {
bool succeeded(const PGresult* r) {
  const auto s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  return s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK;
}
}  // namespace

ResultPtr Connection::last_result(Deadline until) {
  ResultPtr kept;
  for (;;) {
    ResultPtr r = next_result(until);
    if (timed_out_) return nullptr;
    if (!r) return kept;
    if (!kept || succeeded(kept.get())) kept = std::move(r);
  }
}

Error Connection::no_answer(std::string_view what) {
  failed_ = true;  // the pool drops it; closing does not wait (the connection is non-blocking)
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(answer_timeout_).count();
  return unavailable(std::string(what) + ": no answer from the database within " +
                     std::to_string(seconds) + " s (socket_timeout); the connection is dropped");
}

Result<Rows> Connection::exchange(bool sent, std::string_view what) {
  const auto until = deadline();
  if (!sent || !flushed(until)) return timed_out_ ? no_answer(what) : error_from(nullptr, what);
  ResultPtr r = last_result(until);
  if (timed_out_) return no_answer(what);
  if (!succeeded(r.get())) return error_from(r.get(), what);
  return Rows(std::move(r));
}

Status<> Connection::prepare(const Statement& statement) {
  if (!prepared_statements_ || prepared_.contains(statement.name)) return Ok{};
  auto done = exchange(PQsendPrepare(conn_.get(), statement.name, statement.sql, 0, nullptr) != 0,
                       std::string("prepare ") + statement.name);
  if (!done) return done.error();
  prepared_.insert(statement.name);
  return Ok{};
}

namespace {
std::vector<const char*> values_of(const Params& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  return values;
}
}  // namespace

bool Connection::send(const Statement& statement, const Params& params) {
  const auto values = values_of(params);
  const int n = static_cast<int>(values.size());
  if (!prepared_statements_)  // the unnamed statement: parsed and planned each time
    return PQsendQueryParams(conn_.get(), statement.sql, n, nullptr, values.data(), nullptr,
                             nullptr, 0) != 0;
  return PQsendQueryPrepared(conn_.get(), statement.name, n, values.data(), nullptr, nullptr, 0) !=
         0;
}

namespace {
// libpq takes parameters as C strings: a NUL byte would silently end the value there.
std::optional<Error> cut_short(const Statement& statement, const Params& params) {
  for (std::size_t i = 0; i < params.size(); ++i)
    if (params[i] && params[i]->find('\0') != std::string::npos)
      return Error{ErrorKind::Invalid, std::string(statement.name) + ": parameter $" +
                                           std::to_string(i + 1) +
                                           " holds a NUL byte, which PostgreSQL text cannot store"};
  return std::nullopt;
}
}  // namespace

Result<Rows> Connection::run(const Statement& statement, const Params& params) {
  if (auto bad = cut_short(statement, params)) return *bad;
  if (auto s = prepare(statement); !s) return s.error();
  return exchange(send(statement, params), statement.name);
}

Result<Rows> Connection::run(std::string_view sql) {
  return exchange(PQsendQuery(conn_.get(), std::string(sql).c_str()) != 0, "query");
}

Result<Rows> Connection::run_and_commit(const Statement& statement, const Params& params) {
  return pipelined(nullptr, statement, params, "COMMIT");
}

namespace {
// set_config(..., true): for the implicit transaction the sync ends, the next statement's
// alone. Prepared like any other statement: parsed and planned once per connection.
// No JIT: the generic plan of a group's statement counts a branch that never runs (PayOS's
// sequential scan where no lookup index exists) once per callback of the group, which put its
// cost over jit_above_cost, and compiling it took 30 to 45 ms of every execution.
constexpr Statement kWaitForLocksAtMost{
    "wait_for_locks_at_most",
    "SELECT set_config('lock_timeout', $1, true), "
    "set_config('plan_cache_mode', 'force_generic_plan', true), "
    "set_config('jit', 'off', true)"};
}  // namespace

Result<Rows> Connection::run_waiting_for_locks_at_most(const Statement& statement,
                                                       const Params& params,
                                                       std::chrono::milliseconds lock_timeout) {
  // The statement's plan is the prepared generic one. Left to choose, PostgreSQL compares that plan's cost
  // with a custom plan's: where no index serves "providerTransactionId" (the core service's
  // schema as migrated), the generic plan carries the PayOS branch as a sequential scan, cut
  // at run time by its one-time filter but counted in full, so every ZaloPay callback was
  // planned anew, which cost about a third of its throughput.
  const Before before{kWaitForLocksAtMost, {std::to_string(lock_timeout.count()) + "ms"}};
  return pipelined(&before, statement, params, nullptr);
}

Result<Rows> Connection::pipelined(const Before* before, const Statement& statement,
                                   const Params& params, const char* after) {
  if (auto bad = cut_short(statement, params)) return *bad;
  if (auto s = prepare(statement); !s) return s.error();
  if (before)
    if (auto s = prepare(before->statement); !s) return s.error();
  if (!PQenterPipelineMode(conn_.get())) {  // one statement after the other
    if (before)
      if (auto r = run(before->statement, before->params); !r) return r.error();
    auto rows = run(statement, params);
    if (!rows) return rows;
    if (after != nullptr)
      if (auto r = run(after); !r) return r.error();
    return rows;
  }
  std::vector<Step> steps;
  if (before) steps.push_back({&before->statement, &before->params, nullptr});
  steps.push_back({&statement, &params, nullptr});
  if (after != nullptr) steps.push_back({nullptr, nullptr, after});
  auto results = pipeline(steps, statement.name);
  if (!results.error) return Rows(std::move(results.results[before ? 1 : 0]));
  return *results.error;
}

Connection::Pipelined Connection::pipeline(std::span<const Step> steps, std::string_view what) {
  PGconn* c = conn_.get();
  const auto until = deadline();
  bool sent = true;
  for (const Step& step : steps)
    sent = sent && (step.statement
                        ? send(*step.statement, *step.params)
                        : PQsendQueryParams(c, step.text, 0, nullptr, nullptr, nullptr, nullptr, 0));
  sent = sent && PQpipelineSync(c) && flushed(until);
  Pipelined out;
  const auto step_name = [&](std::size_t i) {
    return steps[i].statement ? std::string_view(steps[i].statement->name)
                              : std::string_view(steps[i].text);
  };
  // Each query's result then NULL, in the order sent, then the sync marker.
  int nulls = 0;
  while (sent && !timed_out_) {
    ResultPtr r = next_result(until);
    if (timed_out_) break;
    if (!r) {
      if (++nulls > 2 || PQstatus(c) != CONNECTION_OK) break;
      continue;
    }
    nulls = 0;
    if (PQresultStatus(r.get()) == PGRES_PIPELINE_SYNC) break;
    out.results.push_back(std::move(r));
  }
  if (timed_out_) {
    out.error = no_answer(what);  // dropped: still in pipeline mode
    return out;
  }
  PQexitPipelineMode(c);
  if (!sent || PQstatus(c) != CONNECTION_OK || out.results.size() < steps.size()) {
    failed_ = true;
    out.error = error_from(nullptr, what);
    return out;
  }
  // The first failure is the cause; the steps after it were skipped (PGRES_PIPELINE_ABORTED).
  // A failure past the last step is the implicit transaction's commit at the sync.
  for (std::size_t i = 0; i < out.results.size(); ++i) {
    const PGresult* r = out.results[i].get();
    if (succeeded(r) || PQresultStatus(r) == PGRES_PIPELINE_ABORTED) continue;
    if (i < steps.size()) out.failed_step = i;
    out.error = error_from(r, i < steps.size() ? step_name(i) : what);
    return out;
  }
  for (std::size_t i = 0; i < steps.size(); ++i)
    if (!succeeded(out.results[i].get())) {
      out.error = error_from(out.results[i].get(), step_name(i));
      return out;
    }
  return out;
}

Connection::Together Connection::run_together(const Statement& statement,
                                              std::span<const Params> each,
                                              std::chrono::milliseconds lock_timeout) {
  Together out;
  const auto refuse = [&](Error e) {
    out.error = std::move(e);
    out.rolled_back = !broken();  // nothing was sent
    return std::move(out);
  };
  for (std::size_t i = 0; i < each.size(); ++i)
    if (auto bad = cut_short(statement, each[i])) {
      out.failed = i;
      return refuse(*bad);
    }
  if (auto s = prepare(statement); !s) return refuse(s.error());
  if (auto s = prepare(kWaitForLocksAtMost); !s) return refuse(s.error());
  if (!PQenterPipelineMode(conn_.get()))
    return refuse(internal_error("cannot enter pipeline mode on this connection"));
  const Params wait{std::to_string(lock_timeout.count()) + "ms"};
  std::vector<Step> steps;
  steps.reserve(each.size() + 1);
  steps.push_back({&kWaitForLocksAtMost, &wait, nullptr});
  for (const Params& params : each) steps.push_back({&statement, &params, nullptr});
  auto results = pipeline(steps, statement.name);
  if (results.error) {
    out.error = std::move(results.error);
    if (results.failed_step && *results.failed_step > 0) out.failed = *results.failed_step - 1;
    // After the sync, a failed implicit transaction is over, rolled back: the connection is
    // idle again unless it is gone, and then nobody knows whether the commit happened.
    out.rolled_back = !broken() && !in_transaction();
    return out;
  }
  out.rows.reserve(each.size());
  for (std::size_t i = 1; i < results.results.size() && i <= each.size(); ++i)
    out.rows.emplace_back(std::move(results.results[i]));
  return out;
}

// --- Pool -------------------------------------------------------------------------------

std::string describe_url(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &err);
  if (!options) {
    if (err) PQfreemem(err);
    return "postgresql (unparseable DATABASE_URL)";
  }
  std::string host, port, dbname;
  for (PQconninfoOption* o = options; o->keyword; ++o) {
    if (!o->val) continue;
    const std::string_view k = o->keyword;
    if (k == "host" || (k == "hostaddr" && host.empty())) host = o->val;
    if (k == "port") port = o->val;
    if (k == "dbname") dbname = o->val;
  }
  PQconninfoFree(options);
  return "postgresql " + (host.empty() ? std::string("localhost") : host) + ":" +
         (port.empty() ? std::string("5432") : port) + "/" + dbname;
}

Pool::Pool(std::string url, std::size_t max_size) {
  auto settings = parse_database_url(url, max_size ? max_size : 1);
  if (settings) {
    settings_ = std::move(settings).value();
  } else {
    url_error_ = settings.error().message;
    settings_.url = url.substr(0, url.find('?'));  // to describe it; never connected to
  }
  description_ = describe_url(settings_.url);
  max_size_ = settings_.pool_size;
}

Pool::~Pool() = default;

Pool::Lease::~Lease() {
  if (conn_) pool_->give_back(std::move(conn_));
}

Result<std::unique_ptr<Connection>> Pool::connect() {
  if (url_error_) return unavailable("cannot connect: " + *url_error_);
  // Our settings come first so that the URL can override them; then what the URL's Prisma
  // arguments asked for (database_url.h).
  // An empty `options` is as good as none (libpq).
  std::vector<const char*> keys = {"connect_timeout", "application_name", "options", "dbname"};
  std::vector<const char*> values = {"5", "tbpay", settings_.options.c_str(),
                                     settings_.url.c_str()};
  if (settings_.sslrootcert) {
    keys.push_back("sslrootcert");
    values.push_back(settings_.sslrootcert->c_str());
  }
  if (settings_.sslmode) {
    keys.push_back("sslmode");
    values.push_back(settings_.sslmode->c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* raw = PQconnectdbParams(keys.data(), values.data(), 1);
  auto conn =
      std::make_unique<Connection>(raw, settings_.answer_timeout, settings_.prepared_statements);
  if (!raw) return unavailable("cannot connect to " + description_ + ": out of memory");
  if (PQstatus(raw) != CONNECTION_OK) {
    std::string why = trimmed(PQerrorMessage(raw));
    if (why.find("unsupported startup parameter") != std::string::npos)
      why += settings_.pgbouncer
                 ? " (PgBouncer passes no startup options: keep the tables in schema public, "
                   "or let the pooler pass `options`)"
                 : " (behind PgBouncer, add pgbouncer=true to DATABASE_URL)";
    return unavailable("cannot connect to " + description_ + ": " + why);
  }
  // Notices (e.g. "already exists, skipping") and idle-time FATALs are not for stderr.
  PQsetNoticeProcessor(raw, ignore_notice, nullptr);
  // Sending never blocks either: Connection::flushed waits for the socket, up to the deadline.
  PQsetnonblocking(raw, 1);
  return conn;
}

Result<Pool::Lease> Pool::acquire() {
  std::unique_lock lock(mutex_);
  for (;;) {
    while (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      if (!conn->closed_while_idle()) {
        in_use_.fetch_add(1, std::memory_order_relaxed);
        return Lease(this, std::move(conn));
      }
      --open_;
    }
    if (open_ < max_size_) {
      ++open_;
      lock.unlock();
      auto conn = connect();
      if (!conn) {
        lock.lock();
        --open_;
        released_.notify_one();
        return conn.error();
      }
      in_use_.fetch_add(1, std::memory_order_relaxed);
      return Lease(this, std::move(conn).value());
    }
    const auto free = [&] { return !idle_.empty() || open_ < max_size_; };
    bool got_one = true;
    waiting_.fetch_add(1, std::memory_order_relaxed);
    if (!settings_.pool_timeout)
      released_.wait(lock, free);
    else
      got_one = released_.wait_for(lock, *settings_.pool_timeout, free);
    waiting_.fetch_sub(1, std::memory_order_relaxed);
    if (!got_one)
      return unavailable("all " + std::to_string(max_size_) + " connections to " + description_ +
                         " stayed busy (pool_timeout)");
  }
}

void Pool::give_back(std::unique_ptr<Connection> conn) {
  in_use_.fetch_sub(1, std::memory_order_relaxed);
  const bool keep = !conn->broken() && !conn->in_transaction();
  {
    std::lock_guard lock(mutex_);
    if (keep)
      idle_.push_back(std::move(conn));
    else
      --open_;
  }
  released_.notify_one();
  // A dropped connection closes here, outside the lock.
}

Result<Rows> Pool::run_lock_bounded(const Statement& statement, const Params& params) {
  auto lease = acquire();
  if (!lease) return lease.error();
  return (*lease)->run_waiting_for_locks_at_most(statement, params, settings_.lock_timeout);
}

Connection::Together Pool::run_together(const Statement& statement,
                                        std::span<const Params> each,
                                        std::chrono::milliseconds lock_wait) {
  auto lease = acquire();
  if (!lease) {
    Connection::Together none;
    none.error = lease.error();
    none.rolled_back = true;
    return none;
  }
  return (*lease)->run_together(statement, each, std::min(lock_wait, settings_.lock_timeout));
}

Result<Rows> Pool::run(const Statement& statement, const Params& params, Retry retry) {
  for (int attempt = 0;; ++attempt) {
    auto lease = acquire();
    if (!lease) return lease.error();
    auto rows = (*lease)->run(statement, params);
    if (rows || retry == Retry::No || attempt > 0 || !(*lease)->broken()) return rows;
  }
}

}  // namespace tbpay::pg
