#pragma once
// The HTTP/1.1 server of `tbpay serve` (Boost.Beast). It only translates: a request becomes a
// WebhookRequest, WebhookIngestion::handle() decides, its HttpReply goes back on the wire.
//
// Threads: `threads` threads share one io_context and run every connection; a request that
// waits on the database blocks only the thread running it, never another connection (each
// connection is a strand any free thread may serve). Size it like the database pool.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace tbpay {
class WebhookIngestion;
class Logger;
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
  int threads = 16;
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
