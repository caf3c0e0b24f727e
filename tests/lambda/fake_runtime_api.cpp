#include "lambda/fake_runtime_api.h"

#include <sys/socket.h>
#include <unistd.h>

#include <utility>  // Boost 1.74 asio needs std::exchange declared first under C++20

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace tbpay::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::string_view kPrefix = "/2018-06-01/runtime";
// Lambda's limit on a synchronous invocation's response; a larger one is answered 413.
constexpr std::size_t kResponseLimit = 6u << 20;

// One io_context is enough: every operation here is synchronous, on its own thread.
asio::io_context& io() {
  static asio::io_context ctx;
  return ctx;
}

}  // namespace

FakeRuntimeApi::FakeRuntimeApi() {
  tcp::acceptor acceptor(io(), tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  port_ = acceptor.local_endpoint().port();
  listen_fd_ = acceptor.release();
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeRuntimeApi::~FakeRuntimeApi() {
  close();
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    threads.swap(connections_);
  }
  for (auto& t : threads) t.join();
  for (int fd : connection_fds_) ::close(fd);
}

std::string FakeRuntimeApi::address() const { return "127.0.0.1:" + std::to_string(port_); }

std::string FakeRuntimeApi::enqueue(std::string payload) {
  QueuedEvent e;
  e.payload = std::move(payload);
  return enqueue(std::move(e));
}

std::string FakeRuntimeApi::enqueue(QueuedEvent event) {
  std::lock_guard lock(mutex_);
  if (event.request_id.empty()) {
    event.request_id = "8476a536-e9f4-11e8-9739-" + std::to_string(100000000000 + ++generated_ids_);
  }
  std::string id = event.request_id;
  queue_.push_back(std::move(event));
  changed_.notify_all();
  return id;
}

std::vector<Posted> FakeRuntimeApi::wait_for_posts(std::size_t n, std::chrono::seconds limit) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, limit, [&] { return posted_.size() >= n; });
  return posted_;
}

bool FakeRuntimeApi::wait_for_idle_poll(std::chrono::seconds limit) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, limit, [&] { return queue_.empty() && polling_ > 0; });
}

std::size_t FakeRuntimeApi::connections_accepted() const {
  std::lock_guard lock(mutex_);
  return accepted_;
}

std::size_t FakeRuntimeApi::next_requests() const {
  std::lock_guard lock(mutex_);
  return next_requests_;
}

std::optional<std::chrono::steady_clock::time_point> FakeRuntimeApi::first_next_at() const {
  std::lock_guard lock(mutex_);
  return first_next_;
}

void FakeRuntimeApi::close() {
  std::lock_guard lock(mutex_);
  if (closed_) return;
  closed_ = true;
  // shutdown() wakes a thread blocked in accept() or read() on these sockets.
  if (listen_fd_ >= 0) ::shutdown(listen_fd_, SHUT_RDWR);
  for (int fd : connection_fds_) ::shutdown(fd, SHUT_RDWR);
  changed_.notify_all();
}

void FakeRuntimeApi::drop_connections_after_each_answer() {
  std::lock_guard lock(mutex_);
  drop_after_answer_ = true;
}

void FakeRuntimeApi::accept_loop() {
  tcp::acceptor acceptor(io(), tcp::v4(), listen_fd_);
  while (true) {
    boost::system::error_code ec;
    tcp::socket socket(io());
    acceptor.accept(socket, ec);
    std::lock_guard lock(mutex_);
    if (ec || closed_) break;
    ++accepted_;
    const int fd = socket.release();
    connection_fds_.push_back(fd);
    connections_.emplace_back([this, fd] { serve_connection(fd); });
  }
  std::lock_guard lock(mutex_);
  listen_fd_ = -1;
  acceptor.close();
}

void FakeRuntimeApi::serve_connection(int fd) {
  tcp::socket socket(io(), tcp::v4(), fd);
  beast::flat_buffer buffer;
  while (true) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(4 * kResponseLimit);
    boost::system::error_code ec;
    http::read(socket, buffer, parser, ec);
    if (ec) break;
    http::request<http::string_body> req = parser.release();
    const std::string target(req.target());
    http::response<http::string_body> res;
    res.version(11);
    res.keep_alive(req.keep_alive());
    res.set(http::field::content_type, "application/json");
    std::optional<Posted> recorded;

    if (req.method() == http::verb::get && target == std::string(kPrefix) + "/invocation/next") {
      std::unique_lock lock(mutex_);
      ++next_requests_;
      if (!first_next_) first_next_ = std::chrono::steady_clock::now();
      ++polling_;
      changed_.notify_all();
      changed_.wait(lock, [&] { return closed_ || !queue_.empty(); });
      --polling_;
      if (closed_) break;
      QueuedEvent e = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      const auto deadline = std::chrono::duration_cast<std::chrono::milliseconds>(
          (std::chrono::system_clock::now() + e.time_left).time_since_epoch());
      res.result(http::status::ok);
      res.set("Lambda-Runtime-Aws-Request-Id", e.request_id);
      res.set("Lambda-Runtime-Deadline-Ms", std::to_string(deadline.count()));
      res.set("Lambda-Runtime-Invoked-Function-Arn", e.function_arn);
      if (!e.trace_id.empty()) res.set("Lambda-Runtime-Trace-Id", e.trace_id);
      res.body() = e.payload;
    } else if (req.method() == http::verb::post) {
      Posted p;
      const std::string invocation = std::string(kPrefix) + "/invocation/";
      if (target == std::string(kPrefix) + "/init/error") {
        p.kind = Posted::InitError;
      } else if (target.starts_with(invocation) && target.ends_with("/response")) {
        p.kind = Posted::Response;
        p.request_id = target.substr(invocation.size(), target.size() - invocation.size() - 9);
      } else if (target.starts_with(invocation) && target.ends_with("/error")) {
        p.kind = Posted::Error;
        p.request_id = target.substr(invocation.size(), target.size() - invocation.size() - 6);
      } else {
        res.result(http::status::not_found);
      }
      const bool known = res.result() != http::status::not_found;
      if (known && p.kind == Posted::Response && req.body().size() > kResponseLimit) {
        res.result(http::status::payload_too_large);
        res.body() =
            R"({"errorMessage":"Exceeded maximum allowed payload size.","errorType":"RequestEntityTooLarge"})";
      } else if (known) {
        p.body = req.body();
        if (auto h = req.find("Lambda-Runtime-Function-Error-Type"); h != req.end()) {
          p.error_type_header = std::string(h->value());
        }
        res.result(http::status::accepted);
        res.body() = R"({"status":"OK"})";
        recorded = std::move(p);
      }
    } else {
      res.result(http::status::not_found);
    }
    res.prepare_payload();
    http::write(socket, res, ec);
    // Recorded once answered, so a test that closes on seeing it does not cut the answer off.
    if (recorded) {
      std::lock_guard lock(mutex_);
      posted_.push_back(std::move(*recorded));
      changed_.notify_all();
    }
    if (ec || !req.keep_alive()) break;
    std::lock_guard lock(mutex_);
    if (drop_after_answer_) break;
  }
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  // The fd stays in connection_fds_ until destruction so close() never shuts a reused number.
  socket.release(ignored);
}

}  // namespace tbpay::testing
