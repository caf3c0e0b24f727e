#pragma once
// One client TCP connection to `tbpay serve`, blocking, with a bound on every wait. Sends
// well-formed requests or raw bytes (garbage, partial requests, slow drips).
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "support/raw_request.h"

namespace tbpay::reliability {

using namespace std::chrono_literals;

struct HttpReplyOnWire {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

// "POST /path HTTP/1.1" with Host, Content-Type, Content-Length, extra `headers` (each ending
// in \r\n) and the body.
using test::raw_request;

class HttpConnection {
 public:
  explicit HttpConnection(unsigned short port);  // throws when it cannot connect
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // False when the server has closed or reset the connection.
  bool send(std::string_view raw);
  // The next response; nullopt when the connection closed first or nothing came in `wait`.
  std::optional<HttpReplyOnWire> read(std::chrono::milliseconds wait = 30s);
  // send + read.
  std::optional<HttpReplyOnWire> exchange(std::string_view raw,
                                          std::chrono::milliseconds wait = 30s);
  std::optional<HttpReplyOnWire> post(std::string_view target, std::string_view body,
                                      std::string_view headers = {},
                                      std::chrono::milliseconds wait = 30s) {
    return exchange(raw_request("POST", target, body, headers), wait);
  }
  std::optional<HttpReplyOnWire> get(std::string_view target,
                                     std::chrono::milliseconds wait = 30s) {
    return exchange(raw_request("GET", target, {}), wait);
  }
  // Waits (at most `wait`) for the server to close the connection; true when it did.
  bool closed_by_server(std::chrono::milliseconds wait);
  // Why the last read() failed (for failure messages).
  std::string last_error() const { return last_error_; }

 private:
  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::string last_error_;
};

// A new connection per request: for callers that do not keep one (polling /readyz).
std::optional<HttpReplyOnWire> http_once(unsigned short port, std::string_view raw,
                                         std::chrono::milliseconds wait = 30s);

}  // namespace tbpay::reliability
