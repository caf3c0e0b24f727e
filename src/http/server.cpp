#include "http/server.h"

#include <algorithm>
#include <cctype>
#include <atomic>
#include <deque>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "app/webhook.h"
#include "http/metrics_route.h"
#include "observability/log.h"

namespace tbpay::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

tcp::endpoint resolve_listen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("listen address must be HOST:PORT: " + listen);
  std::string host = listen.substr(0, colon);
  const std::string port_text = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  unsigned long port = 0;
  try {
    std::size_t used = 0;
    port = std::stoul(port_text, &used);
    if (used != port_text.size() || port > 65535) throw std::invalid_argument("port");
  } catch (const std::exception&) {
    throw std::runtime_error("bad port in listen address: " + listen);
  }
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (!ec) return {address, static_cast<unsigned short>(port)};
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(host, port_text, ec);
  if (ec || results.empty()) throw std::runtime_error("cannot resolve listen host: " + host);
  return results.begin()->endpoint();
}

std::string format_endpoint(const tcp::endpoint& ep) {
  const auto a = ep.address();
  const std::string host = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
  return host + ":" + std::to_string(ep.port());
}

// The request id a client or proxy sent, when it looks like one.
std::string request_id_header(const bhttp::request<bhttp::string_body>& req) {
  auto it = req.find("x-request-id");
  if (it == req.end()) return {};
  const auto v = it->value();
  if (v.empty() || v.size() > 128) return {};
  for (char c : v)
    if (c < 0x21 || c > 0x7e || c == '"' || c == '\\') return {};
  return std::string(v);
}

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The path of a request target: origin-form ("/webhook?x") as it is, absolute-form
// ("http://host:8080/webhook?x", which a server must accept, RFC 9112 §3.2.2) without its
// scheme and authority; the query string dropped.
std::string target_path(std::string_view target) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.size() >= scheme.size() && iequal(target.substr(0, scheme.size()), scheme)) {
      const auto rest = target.substr(scheme.size());
      const auto slash = rest.find_first_of("/?");
      target = slash == std::string_view::npos || rest[slash] == '?' ? std::string_view("/")
                                                                     : rest.substr(slash);
      break;
    }
  }
  return std::string(target.substr(0, target.find('?')));
}

// Why the request's body cannot be framed safely (RFC 9112 §6.1, §6.3), or nothing. A
// Transfer-Encoding whose final coding is not chunked, one sent beside Content-Length, or one
// in an HTTP/1.0 request leaves where the body ends in doubt: read one way, its bytes could
// carry a second, hidden request. Such a request is refused and its connection closed.
// Codings before the final chunked (gzip, ...) are not implemented: 501.
std::optional<std::pair<int, std::string_view>> framing_error(
    const bhttp::request<bhttp::string_body>& req) {
  std::vector<std::string_view> codings;
  bool any = false;
  const auto [first, last] = req.equal_range(bhttp::field::transfer_encoding);
  for (auto field = first; field != last; ++field) {
    any = true;
    std::string_view list(field->value().data(), field->value().size());
    while (!list.empty()) {
      const auto comma = list.find(',');
      std::string_view coding = list.substr(0, comma);
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t'))
        coding.remove_prefix(1);
      while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t'))
        coding.remove_suffix(1);
      if (!coding.empty()) codings.push_back(coding);
    }
  }
  if (!any) return std::nullopt;
  if (req.count(bhttp::field::content_length) > 0)
    return std::pair{400, "Transfer-Encoding and Content-Length together"};
  if (req.version() < 11) return std::pair{400, "Transfer-Encoding in an HTTP/1.0 request"};
  if (codings.empty() || !iequal(codings.back(), "chunked"))
    return std::pair{400, "Transfer-Encoding must end in chunked"};
  if (codings.size() > 1) return std::pair{501, "transfer coding not implemented"};
  return std::nullopt;
}

using Clock = std::chrono::steady_clock;

// A bug's answer: nothing of it reaches the client.
HttpReply internal_error_reply() {
  HttpReply reply;
  reply.status = 500;
  reply.body = R"({"error":"internal error"})";
  return reply;
}

}  // namespace

class Session;

// A request's database part, on its way to a worker.
struct Job {
  DatabaseWork work;
  std::shared_ptr<Session> session;
  Clock::time_point queued;
  bool behind_stuck = false;  // the callback before it in its lane waited out queue_wait
  // Keeps run() serving until the reply is written, though only a worker has work meanwhile.
  asio::executor_work_guard<asio::io_context::executor_type> io;
};

struct ServerState : std::enable_shared_from_this<ServerState> {
  ServerState(WebhookIngestion& i, const Logger& l, ServerOptions o)
      : ingestion(i), log(l), options(std::move(o)), ioc(std::max(1, options.io_threads)),
        workers(static_cast<std::size_t>(std::max(1, options.threads))),
        control(asio::make_strand(ioc)), acceptor(control), signals(control), grace(control),
        relief(control) {}

  WebhookIngestion& ingestion;
  const Logger& log;
  ServerOptions options;
  asio::io_context ioc;  // every socket, on the I/O threads
  // Every database call, on `threads` threads of its own: a call waiting on the database never
  // holds up the I/O threads, so /healthz and every other connection are served meanwhile.
  asio::thread_pool workers;
  asio::strand<asio::io_context::executor_type> control;  // acceptor, signals, grace timer
  tcp::acceptor acceptor;
  asio::signal_set signals;
  asio::steady_timer grace;
  std::atomic<bool> stopping{false};

  std::mutex sessions_mutex;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;

  // Callbacks naming one payment run one at a time, the others wait in its lane (holding no
  // thread): callbacks stuck behind a payment's row lock take one worker, not all of them.
  std::mutex lanes_mutex;
  std::unordered_map<std::string, std::deque<Job>> lanes;

  // Callbacks whose turn came, for the next group, and when each committer's group started.
  // A committer whose group has been in the database longer than kStalledGroup is waiting for a
  // row lock another session holds (a callback of its group running alone after the group
  // gave up on that lock): then another committer may start, up to one per worker, so that
  // two such waits do not hold up every other callback.
  // A callback that arrives while every committer is young waits for one of them; should they
  // stall meanwhile (no callback arriving after to notice), `relief` notices: it fires when the
  // oldest group would count as stalled, and starts a committer if callbacks are still waiting.
  std::mutex ready_mutex;
  std::deque<Job> ready;
  std::list<Clock::time_point> committing;
  static constexpr std::chrono::milliseconds kStalledGroup{250};
  asio::steady_timer relief;      // on `control`
  bool relief_armed = false;      // with ready_mutex held
  bool committer_wanted() const;  // with ready_mutex held
  void start_committer();         // with ready_mutex held
  void arm_relief();              // with ready_mutex held; callbacks wait, no committer wanted
  void relieve(beast::error_code ec);

  void submit(DatabaseWork work, std::shared_ptr<Session> session);
  void run_on_worker(Job job);
  void commit_groups(std::list<Clock::time_point>::iterator mine);
  // The reply goes out; the next callback of the lane, if any, gets its turn.
  void answered(Job& job, HttpReply reply, bool stuck);
  // How long the job waited, when its turn (at `now`) came too late to run it, or the callback
  // before it for the same payment waited out the row lock (this one would wait for the same
  // lock): then it is answered "retry", without adding to the wait.
  std::optional<std::chrono::milliseconds> too_late(const Job& job, Clock::time_point now) const {
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(now - job.queued);
    if (job.behind_stuck || waited >= options.queue_wait) return waited;
    return std::nullopt;
  }
  void lane_done(const std::string& key, bool stuck);

  void accept();
  void begin_stop();
  void session_started(Session* s, std::weak_ptr<Session> w);
  void session_ended(Session* s);
};

// One TCP connection: reads requests one at a time, answers each, keeps the connection alive
// while the client wants it. All its handlers run on its own strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<ServerState> state)
      : stream_(std::move(socket)), state_(std::move(state)) {}
  ~Session() { state_->session_ended(this); }

  void start() {
    state_->session_started(this, weak_from_this());
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->wait_for_request(self->state_->options.first_request_timeout);
    });
  }

  // Called on stop(): a connection between requests closes now; one with a request in
  // flight finishes it (its response says Connection: close).
  void stop_if_idle() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->phase_ == Phase::Waiting) self->stream_.cancel();
    });
  }

  void force_close() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      self->stream_.close();
    });
  }

 private:
  enum class Phase { Waiting, Reading, Processing, Writing, Closing };

  const ServerOptions& options() const { return state_->options; }

  void wait_for_request(std::chrono::milliseconds timeout) {
    phase_ = Phase::Waiting;
    if (state_->stopping) return close();
    if (buffer_.size() > 0) return read_header();  // pipelined bytes already here
    stream_.expires_after(timeout);
    stream_.async_read_some(
        buffer_.prepare(4096),
        [self = shared_from_this()](beast::error_code ec, std::size_t n) {
          if (ec) return self->close();  // idle timeout, client gone or shutdown
          self->buffer_.commit(n);
          self->read_header();
        });
  }

  void read_header() {
    phase_ = Phase::Reading;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(options().header_limit));
    parser_->body_limit(options().body_limit);
    // A callback usually arrives whole in one read: parse it here rather than through Beast's
    // asynchronous reads, each of which completes by a trip through the scheduler (and a
    // thread wake-up) even when its bytes are already in the buffer.
    beast::error_code ec;
    parse_buffered(ec);
    if (ec) return parser_->is_header_done() ? on_request(ec) : on_header(ec);
    if (parser_->is_done()) return on_request({});
    // One deadline from the first byte to the end of the body: slow-drip clients lose.
    stream_.expires_after(options().request_timeout);
    if (parser_->is_header_done()) return on_header({});
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                               self->on_header(ec);
                             });
  }

  // Feeds the parser what the buffer holds. Leaves `ec` clear when it needs more bytes.
  void parse_buffered(beast::error_code& ec) {
    while (buffer_.size() > 0 && !parser_->is_done()) {
      const auto used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == bhttp::error::need_more) {
        ec = {};
        return;
      }
      if (ec || used == 0) return;
    }
  }

  void on_header(beast::error_code ec) {
    if (ec == bhttp::error::header_limit) return reject(431, "request header too large");
    // The parser compares Content-Length with body_limit as soon as it sees the header.
    if (ec == bhttp::error::body_limit) return reject(413, "payload too large");
    if (ec == beast::error::timeout || ec == bhttp::error::end_of_stream ||
        ec == asio::error::eof || ec == asio::error::connection_reset ||
        ec == asio::error::operation_aborted)
      return close();
    if (ec) return reject(400, "bad request");

    auto& req = parser_->get();
    if (auto bad = framing_error(req)) return reject(bad->first, bad->second);
    const auto length = parser_->content_length();
    if (length && *length > options().body_limit) return reject(413, "payload too large");
    if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
      // curl and others wait for this before sending a body.
      continue_.emplace(bhttp::status::continue_, req.version());
      bhttp::async_write(stream_, *continue_,
                         [self = shared_from_this()](beast::error_code wec, std::size_t) {
                           if (wec) return self->close();
                           self->read_body();
                         });
      return;
    }
    read_body();
  }

  void read_body() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        self->on_request(ec);
                      });
  }

  void on_request(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) return reject(413, "payload too large");
    if (ec == beast::error::timeout || ec == bhttp::error::end_of_stream ||
        ec == asio::error::eof || ec == asio::error::connection_reset ||
        ec == asio::error::operation_aborted)
      return close();
    if (ec) return reject(400, "bad request");

    auto& req = parser_->get();
    if (auto bad = framing_error(req)) return reject(bad->first, bad->second);
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    head_ = req.method() == bhttp::verb::head;
    WebhookRequest request;
    request.method = std::string(req.method_string());
    request.path = target_path(std::string_view(req.target().data(), req.target().size()));
    request.request_id = request_id_header(req);
    request.body = std::move(req.body());
    parser_.reset();

    // Routing and verification here (no waiting); what waits on the database goes to a worker.
    phase_ = Phase::Processing;
    std::variant<HttpReply, DatabaseWork> routed;
    try {
      if (auto own = own_route(request, options()))
        routed = std::move(*own);
      else
        routed = state_->ingestion.route(request);
    } catch (const std::exception& e) {
      routed = internal_error(e, request.path);
    }
    if (auto* work = std::get_if<DatabaseWork>(&routed))
      return state_->submit(std::move(*work), shared_from_this());
    respond(std::move(std::get<HttpReply>(routed)));
  }

  HttpReply internal_error(const std::exception& e, std::string_view path) {
    state_->log.error("request failed", {{"error", e.what()}, {"path", path}});
    return internal_error_reply();
  }

 public:
  // From a worker: the reply to the request in flight.
  void deliver(HttpReply reply) {
    asio::post(stream_.get_executor(), [self = shared_from_this(), r = std::move(reply)]() mutable {
      self->respond(std::move(r));
    });
  }

 private:
  // An answer the server gives on its own (bad HTTP, too large): then the connection closes,
  // since the rest of the request was never read.
  void reject(int status, std::string_view message) {
    keep_alive_ = false;
    linger_ = true;
    version_ = parser_ ? parser_->get().version() : 11;
    head_ = false;
    parser_.reset();
    HttpReply reply;
    reply.status = status;
    reply.body = std::string(R"({"error":")") + std::string(message) + "\"}";
    respond(std::move(reply));
  }

  void respond(HttpReply reply) {
    phase_ = Phase::Writing;
    res_ = {};
    res_.version(version_);
    res_.result(static_cast<unsigned>(reply.status));
    res_.set(bhttp::field::content_type,
             beast::string_view(reply.content_type.data(), reply.content_type.size()));
    if (!reply.allow.empty()) res_.set(bhttp::field::allow, reply.allow);
    res_.keep_alive(keep_alive_ && !state_->stopping);
    const auto body_size = reply.body.size();
    if (!head_) res_.body() = std::move(reply.body);
    res_.content_length(body_size);
    stream_.expires_after(options().write_timeout);
    bhttp::async_write(stream_, res_,
                       [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         if (ec) return self->close();
                         if (!self->res_.keep_alive()) return self->finish();
                         self->wait_for_request(self->options().idle_timeout);
                       });
  }

  // Closes after a response. When part of a request was left unread, keep reading (and
  // dropping) it briefly, so the client gets our response instead of a connection reset.
  void finish() {
    phase_ = Phase::Closing;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (!linger_ || ec) return close();
    stream_.expires_after(std::min<std::chrono::milliseconds>(options().request_timeout, 2s));
    drain();
  }

  void drain() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(16384),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > (4u << 20)) return self->close();
                              self->drain();
                            });
  }

  void close() {
    phase_ = Phase::Closing;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  std::shared_ptr<ServerState> state_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::empty_body>> continue_;
  bhttp::response<bhttp::string_body> res_;
  Phase phase_ = Phase::Waiting;
  bool keep_alive_ = true;
  bool head_ = false;
  bool linger_ = false;
  unsigned version_ = 11;
  std::size_t drained_ = 0;
};

void ServerState::submit(DatabaseWork work, std::shared_ptr<Session> session) {
  Job job{.work = std::move(work),
          .session = std::move(session),
          .queued = Clock::now(),
          .io = asio::make_work_guard(ioc)};
  if (!job.work.payment_key.empty()) {
    std::lock_guard lock(lanes_mutex);
    auto [lane, fresh] = lanes.try_emplace(job.work.payment_key);
    if (!fresh) {
      lane->second.push_back(std::move(job));
      return;
    }
  }
  run_on_worker(std::move(job));
}

void ServerState::run_on_worker(Job job) {
  if (job.work.kind == DatabaseWork::Kind::Callback && options.group_size > 1) {
    std::lock_guard lock(ready_mutex);
    ready.push_back(std::move(job));
    if (committer_wanted())
      start_committer();
    else
      arm_relief();  // a committer will take it, or `relief` starts one
    return;
  }
  asio::post(workers, [self = shared_from_this(), job = std::move(job)]() mutable {
    const auto started = Clock::now();
    const auto late = self->too_late(job, started);
    HttpReply reply;
    try {
      reply = late ? self->ingestion.retry_later(job.work, *late) : self->ingestion.run(job.work);
    } catch (const std::exception& e) {
      self->log.error("request failed", {{"error", e.what()}});
      reply = internal_error_reply();
    }
    self->answered(job, std::move(reply),
                   late.has_value() || Clock::now() - started >= self->options.queue_wait);
  });
}

// Fewer committers than --committers, or one of them stalled and a worker free.
bool ServerState::committer_wanted() const {
  const auto busy = static_cast<int>(committing.size());
  if (busy < std::max(1, options.committers)) return true;
  if (busy >= std::max(1, options.threads)) return false;
  const auto stalled_since = Clock::now() - kStalledGroup;
  return std::any_of(committing.begin(), committing.end(),
                     [&](Clock::time_point started) { return started < stalled_since; });
}

void ServerState::start_committer() {
  auto started = committing.insert(committing.end(), Clock::now());
  asio::post(workers, [self = shared_from_this(), started] { self->commit_groups(started); });
}

void ServerState::arm_relief() {
  if (relief_armed || committing.empty()) return;
  relief_armed = true;
  const auto oldest = *std::min_element(committing.begin(), committing.end());
  asio::post(control, [self = shared_from_this(), at = oldest + kStalledGroup] {
    self->relief.expires_at(at);
    self->relief.async_wait([self](beast::error_code ec) { self->relieve(ec); });
  });
}

// Runs on the control strand, when the oldest group seen waiting would count as stalled.
void ServerState::relieve(beast::error_code ec) {
  std::lock_guard lock(ready_mutex);
  relief_armed = false;
  if (ec || ready.empty()) return;  // cancelled (stopping), or every callback was taken
  if (committer_wanted())
    start_committer();
  else
    arm_relief();  // those groups were newer: wait for the oldest of them
}

// A committer: takes every callback ready now (up to group_size), commits them together,
// answers each, and goes on while more are ready. Callbacks that arrive while a group is being
// committed make up the next one: the busier the server, the larger the groups. `mine` is its
// entry in `committing`.
void ServerState::commit_groups(std::list<Clock::time_point>::iterator mine) {
  for (;;) {
    std::vector<Job> group;
    {
      std::lock_guard lock(ready_mutex);
      if (ready.empty()) {
        committing.erase(mine);
        return;
      }
      *mine = Clock::now();
      const auto n = std::min(ready.size(), static_cast<std::size_t>(options.group_size));
      group.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        group.push_back(std::move(ready.front()));
        ready.pop_front();
      }
    }
    const auto started = Clock::now();
    std::vector<Job*> run;
    std::vector<const DatabaseWork*> works;
    for (Job& job : group) {
      if (const auto late = too_late(job, started)) {
        answered(job, ingestion.retry_later(job.work, *late), true);
        continue;
      }
      run.push_back(&job);
      works.push_back(&job.work);
    }
    if (works.empty()) continue;
    std::vector<bool> done(run.size(), false);
    try {
      ingestion.run_all(works, [&](std::size_t i, HttpReply reply) {
        done[i] = true;
        answered(*run[i], std::move(reply), Clock::now() - started >= options.queue_wait);
      });
    } catch (const std::exception& e) {
      log.error("request failed", {{"error", e.what()}});
      for (std::size_t i = 0; i < run.size(); ++i)
        if (!done[i]) answered(*run[i], internal_error_reply(), false);
    }
  }
}

void ServerState::answered(Job& job, HttpReply reply, bool stuck) {
  job.session->deliver(std::move(reply));
  if (job.work.payment_key.empty()) return;
  lane_done(job.work.payment_key, stuck);
}

// The next callback of the lane, if any, goes to a worker; else the lane closes.
void ServerState::lane_done(const std::string& key, bool stuck) {
  std::optional<Job> next;
  {
    std::lock_guard lock(lanes_mutex);
    auto lane = lanes.find(key);
    if (lane == lanes.end()) return;
    if (lane->second.empty()) {
      lanes.erase(lane);
      return;
    }
    next.emplace(std::move(lane->second.front()));
    lane->second.pop_front();
  }
  next->behind_stuck = stuck;
  run_on_worker(std::move(*next));
}

void ServerState::session_started(Session* s, std::weak_ptr<Session> w) {
  std::lock_guard lock(sessions_mutex);
  sessions.emplace(s, std::move(w));
}

void ServerState::session_ended(Session* s) {
  bool last = false;
  {
    std::lock_guard lock(sessions_mutex);
    sessions.erase(s);
    last = sessions.empty() && stopping;
  }
  if (last) asio::post(control, [self = shared_from_this()] { self->grace.cancel(); });
}

void ServerState::accept() {
  acceptor.async_accept(asio::make_strand(ioc), [self = shared_from_this()](
                                                    beast::error_code ec, tcp::socket socket) {
    if (self->stopping || ec == asio::error::operation_aborted) return;
    if (ec) {
      // Out of file descriptors and the like: wait a little instead of spinning.
      self->log.warn("accept failed", {{"error", ec.message()}});
      auto timer = std::make_shared<asio::steady_timer>(self->control, 100ms);
      timer->async_wait([self, timer](beast::error_code) {
        if (!self->stopping) self->accept();
      });
      return;
    }
    beast::error_code nodelay_ec;
    socket.set_option(tcp::no_delay(true), nodelay_ec);
    std::make_shared<Session>(std::move(socket), self)->start();
    self->accept();
  });
}

// Runs on the control strand.
void ServerState::begin_stop() {
  if (stopping.exchange(true)) return;
  log.info("shutting down", {{"grace_ms", options.shutdown_grace.count()}});
  beast::error_code ec;
  acceptor.close(ec);
  signals.cancel(ec);
  relief.cancel();
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(sessions_mutex);
    for (auto& [_, weak] : sessions)
      if (auto s = weak.lock()) live.push_back(std::move(s));
  }
  if (live.empty()) return;
  grace.expires_after(options.shutdown_grace);
  grace.async_wait([self = shared_from_this()](beast::error_code wec) {
    if (wec) return;  // every connection finished in time
    std::vector<std::shared_ptr<Session>> left;
    {
      std::lock_guard lock(self->sessions_mutex);
      for (auto& [_, weak] : self->sessions)
        if (auto s = weak.lock()) left.push_back(std::move(s));
    }
    self->log.warn("shutdown grace period over, closing connections",
                   {{"connections", left.size()}});
    for (auto& s : left) s->force_close();
  });
  for (auto& s : live) s->stop_if_idle();
}

Server::Server(WebhookIngestion& ingestion, const Logger& log, ServerOptions options)
    : state_(std::make_shared<ServerState>(ingestion, log, std::move(options))) {
  const auto endpoint = resolve_listen(state_->options.listen);
  auto& acceptor = state_->acceptor;
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  beast::error_code ec;
  acceptor.bind(endpoint, ec);
  if (ec) throw std::runtime_error("cannot listen on " + state_->options.listen + ": " + ec.message());
  acceptor.listen(asio::socket_base::max_listen_connections);
  // Registered now, not in run(): a signal that arrives in between waits instead of killing us.
  if (state_->options.stop_on_signals) {
    state_->signals.add(SIGTERM);
    state_->signals.add(SIGINT);
  }
}

Server::~Server() {
  // Runs what stop() posted (and anything left), so no handler keeps the state alive.
  stop();
  state_->ioc.restart();
  state_->ioc.run();
  // Every worker's job is over (each held the io_context's work until its reply was posted):
  // joined here, so that no worker drops the last reference to the state.
  state_->workers.join();
}

std::string Server::address() const { return format_endpoint(state_->acceptor.local_endpoint()); }

void Server::run() {
  auto state = state_;
  if (state->options.stop_on_signals) {
    state->signals.async_wait([state](beast::error_code ec, int signal) {
      if (ec) return;
      state->log.info("signal received", {{"signal", signal}});
      state->begin_stop();
    });
  }
  asio::dispatch(state->control, [state] {
    if (!state->stopping) state->accept();
  });
  std::vector<std::thread> extra;
  for (int i = 1; i < state->options.io_threads; ++i)
    extra.emplace_back([state] { state->ioc.run(); });
  state->ioc.run();
  for (auto& t : extra) t.join();
}

void Server::stop() {
  asio::dispatch(state_->control, [state = state_] { state->begin_stop(); });
}

}  // namespace tbpay::http
