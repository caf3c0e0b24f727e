#pragma once
// A blocking HTTP/1.1 test client over one TCP connection to 127.0.0.1, with a bound on every
// wait. Sends well-formed requests or raw bytes (partial requests, chunked bodies, slow drips,
// garbage) and reads responses as Beast parses them.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "support/raw_request.h"

namespace tbpay::test {

using namespace std::chrono_literals;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

// The port of "127.0.0.1:8080" (as `tbpay serve` logs its address).
unsigned short port_of(const std::string& address);
inline int status_of(const Response& r) { return static_cast<int>(r.result_int()); }

class HttpClient {
 public:
  explicit HttpClient(unsigned short port);  // throws when it cannot connect
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // False when the server has closed or reset the connection.
  bool send(std::string_view raw);
  // The next response; nullopt when the connection closed first or nothing came in `wait`.
  std::optional<Response> read(std::chrono::milliseconds wait = 10s);
  // send + read.
  std::optional<Response> exchange(std::string_view raw, std::chrono::milliseconds wait = 30s);
  std::optional<Response> request(std::string_view method, std::string_view target,
                                  std::string_view body = {}, std::string_view headers = {}) {
    return exchange(raw_request(method, target, body, headers), 10s);
  }
  std::optional<Response> post(std::string_view target, std::string_view body,
                               std::string_view headers = {},
                               std::chrono::milliseconds wait = 30s) {
    return exchange(raw_request("POST", target, body, headers), wait);
  }
  std::optional<Response> get(std::string_view target, std::chrono::milliseconds wait = 30s) {
    return exchange(raw_request("GET", target, {}), wait);
  }

  // Waits (at most `wait`) for the server to close the connection without saying anything
  // more; true when it did.
  bool closed_by_server(std::chrono::milliseconds wait = 15s);
  // Reads and drops whatever the server still says (an error reply) for at most `wait`; true
  // when it then closed the connection.
  bool closed_by_server_after_any_reply(std::chrono::milliseconds wait);
  // Why the last read() failed (for failure messages).
  std::string last_error() const { return last_error_; }

 private:
  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::string last_error_;
};

// A new connection per request: for callers that do not keep one (polling /readyz). nullopt
// when it cannot connect, or as read().
std::optional<Response> http_once(unsigned short port, std::string_view raw,
                                  std::chrono::milliseconds wait = 30s);

}  // namespace tbpay::test
