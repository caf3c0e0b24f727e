#include "http/server.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
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

}  // namespace

class Session;

struct ServerState : std::enable_shared_from_this<ServerState> {
  ServerState(WebhookIngestion& i, const Logger& l, ServerOptions o)
      : ingestion(i), log(l), options(std::move(o)), ioc(std::max(1, options.threads)),
        control(asio::make_strand(ioc)), acceptor(control), signals(control), grace(control) {}

  WebhookIngestion& ingestion;
  const Logger& log;
  ServerOptions options;
  asio::io_context ioc;
  asio::strand<asio::io_context::executor_type> control;  // acceptor, signals, grace timer
  tcp::acceptor acceptor;
  asio::signal_set signals;
  asio::steady_timer grace;
  std::atomic<bool> stopping{false};

  std::mutex sessions_mutex;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;

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

    const auto length = parser_->content_length();
    if (length && *length > options().body_limit) return reject(413, "payload too large");
    auto& req = parser_->get();
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
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    head_ = req.method() == bhttp::verb::head;
    WebhookRequest request;
    request.method = std::string(req.method_string());
    const auto target = req.target();
    request.path = std::string(target.substr(0, target.find('?')));
    request.request_id = request_id_header(req);
    request.body = std::move(req.body());
    parser_.reset();

    // Runs here, on this connection's strand, even when it waits on the database: the other
    // threads keep serving every other connection meanwhile. (Handing the call to a separate
    // pool cost two more thread switches per callback, a third of the server's CPU.)
    phase_ = Phase::Processing;
    HttpReply reply;
    try {
      if (auto own = own_route(request, options()))
        reply = std::move(*own);
      else
        reply = state_->ingestion.handle(request);
    } catch (const std::exception& e) {
      state_->log.error("request failed", {{"error", e.what()}, {"path", request.path}});
      reply.status = 500;
      reply.body = R"({"error":"internal error"})";
    }
    respond(std::move(reply));
  }

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
    res_.set(bhttp::field::content_type, reply.content_type);
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
  for (int i = 1; i < state->options.threads; ++i) extra.emplace_back([state] { state->ioc.run(); });
  state->ioc.run();
  for (auto& t : extra) t.join();
}

void Server::stop() {
  asio::dispatch(state_->control, [state = state_] { state->begin_stop(); });
}

}  // namespace tbpay::http
