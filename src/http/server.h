#pragma once
// The HTTP/1.1 server of `tbpay serve` (Boost.Beast). It only translates: a request becomes a
// WebhookRequest, WebhookIngestion::handle() decides, its HttpReply goes back on the wire.
//
// Threads: `io_threads` threads share one io_context and run every connection (each a strand):
// reading, routing, verifying, writing; they never wait on the database, so /healthz, 404s and
// rejections are answered at once whatever the database does. What waits on the database (a
// verified callback's transition, /readyz) runs on `threads` worker threads; size it like the
// database pool. Callbacks for one payment run one at a time, the others waiting (on no
// thread) in that payment's lane, so callbacks stuck behind one payment's row lock hold one
// worker; one whose turn comes after `queue_wait` is answered "retry" without running.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace tbpay {
class WebhookIngestion;
class Logger;
struct DatabaseWork;
}  // namespace tbpay

namespace tbpay::http {

using namespace std::chrono_literals;

struct ServerState;  // server.cpp

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";  // HOST:PORT; port 0 picks a free one
  std::size_t body_limit = 64 * 1024;     // larger bodies get 413 without being read
  std::size_t header_limit = 16 * 1024;
  // From the first byte of a request to its last: slow-drip clients are cut off.
  std::chrono::milliseconds request_timeout = 10s;
  // Waiting for a first request on a new connection.
  std::chrono::milliseconds first_request_timeout = 10s;
  // Waiting for the next request on a kept-alive connection.
  std::chrono::milliseconds idle_timeout = 60s;
  std::chrono::milliseconds write_timeout = 10s;
  // After stop(): requests in flight get this long to finish before sockets are closed.
  std::chrono::milliseconds shutdown_grace = 25s;
  int threads = 16;    // workers: database calls at once
  int io_threads = 2;  // sockets
  // Group commit: callbacks waiting for the database at the same moment are committed together
  // (WebhookIngestion::run_all), up to `group_size` in one transaction, by at most `committers`
  // workers at a time. A lone callback goes at once. group_size 1: one transaction each.
  int group_size = 64;
  int committers = 2;
  // A callback whose turn on a worker comes later than this is answered "retry" unrun; like
  // the database's lock_timeout, which bounds how long a running one waits for its row.
  std::chrono::milliseconds queue_wait = 5s;
  bool stop_on_signals = false;  // SIGTERM/SIGINT call stop()
  // When set, GET /metrics answers with what it returns (the Prometheus exposition): answered
  // here, never routed to the webhook handling.
  std::function<std::string()> metrics;
  // false: a listener for /metrics alone (`serve --metrics-listen`); any other path is 404.
  bool webhooks = true;
};

class Server {
 public:
  // Binds and listens at once (throws std::runtime_error when it cannot); serves from run().
  Server(WebhookIngestion& ingestion, const Logger& log, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // "127.0.0.1:PORT" as bound (the real port when 0 was asked for).
  std::string address() const;

  // Serves until stop() (or a signal) and every request in flight has been answered.
  void run();

  // Graceful: stops accepting, closes idle connections, lets requests in flight finish.
  // Safe from any thread, any number of times.
  void stop();

 private:
  std::shared_ptr<ServerState> state_;
};

}  // namespace tbpay::http
