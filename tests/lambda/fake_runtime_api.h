#pragma once
// A loopback server playing the AWS Lambda Runtime API (2018-06-01), written from AWS's public
// documentation: it hands out queued events on GET /invocation/next (a long poll) and records
// what the runtime posts back.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tbpay::testing {

struct QueuedEvent {
  std::string payload;
  std::string request_id;                                         // generated when empty
  std::chrono::milliseconds time_left{std::chrono::seconds(30)};  // Lambda-Runtime-Deadline-Ms
  std::string trace_id;                                           // no header when empty
  std::string function_arn = "arn:aws:lambda:ap-southeast-1:123456789012:function:tbpay-test";
};

// What the runtime posted: to /invocation/{id}/response, /invocation/{id}/error or /init/error.
struct Posted {
  enum Kind { Response, Error, InitError } kind = Response;
  std::string request_id;  // empty for InitError
  std::string body;
  std::string error_type_header;  // Lambda-Runtime-Function-Error-Type
};

class FakeRuntimeApi {
 public:
  FakeRuntimeApi();
  ~FakeRuntimeApi();
  FakeRuntimeApi(const FakeRuntimeApi&) = delete;
  FakeRuntimeApi& operator=(const FakeRuntimeApi&) = delete;

  // "127.0.0.1:PORT", the value of AWS_LAMBDA_RUNTIME_API.
  std::string address() const;

  // Returns the request id.
  std::string enqueue(QueuedEvent event);
  std::string enqueue(std::string payload);

  // Waits until `n` results were posted (or `limit` passed, a guard against hangs) and returns
  // all posted so far, in order.
  std::vector<Posted> wait_for_posts(std::size_t n,
                                     std::chrono::seconds limit = std::chrono::seconds(60));
  // Waits until the runtime is blocked in GET /next (it has finished everything queued).
  bool wait_for_idle_poll(std::chrono::seconds limit = std::chrono::seconds(60));

  std::size_t connections_accepted() const;
  std::size_t next_requests() const;
  // When the first GET /next arrived (cold start measurements).
  std::optional<std::chrono::steady_clock::time_point> first_next_at() const;

  // Stops serving: polling runtimes see their connection close, new connections are refused.
  void close();

  // From now on every connection is closed right after one answer, without saying so in the
  // answer (as a Runtime API restarting or dropping idle keep-alive connections would).
  void drop_connections_after_each_answer();

 private:
  void accept_loop();
  void serve_connection(int fd);

  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread acceptor_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool closed_ = false;
  bool drop_after_answer_ = false;
  std::deque<QueuedEvent> queue_;
  std::vector<Posted> posted_;
  std::vector<int> connection_fds_;
  std::vector<std::thread> connections_;
  std::size_t accepted_ = 0;
  std::size_t next_requests_ = 0;
  std::size_t polling_ = 0;
  std::optional<std::chrono::steady_clock::time_point> first_next_;
  std::uint64_t generated_ids_ = 0;
};

}  // namespace tbpay::testing
