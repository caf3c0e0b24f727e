#pragma once
// A blocking HTTP/1.1 test client over one TCP connection, able to send raw bytes (partial
// requests, chunked bodies, garbage) and read responses with a bound on the wait.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "http/server.h"
#include "support/raw_request.h"

namespace tbpay::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using Response = bhttp::response<bhttp::string_body>;
using namespace std::chrono_literals;

inline unsigned short port_of(const std::string& address) {
  return static_cast<unsigned short>(std::stoi(address.substr(address.rfind(':') + 1)));
}

class HttpClient {
 public:
  explicit HttpClient(unsigned short port) : stream_(ioc_) {
    stream_.socket().connect({asio::ip::make_address("127.0.0.1"), port});
  }

  // False when the server has closed or reset the connection.
  bool send(std::string_view raw) {
    beast::error_code ec;
    asio::write(stream_.socket(), asio::buffer(raw.data(), raw.size()), ec);
    return !ec;
  }

  // The next response; nullopt when the connection closed first or nothing came in `wait`.
  std::optional<Response> read(std::chrono::milliseconds wait = 10s) {
    Response res;
    beast::error_code result = asio::error::would_block;
    stream_.expires_after(wait);
    bhttp::async_read(stream_, buffer_, res,
                      [&](beast::error_code ec, std::size_t) { result = ec; });
    ioc_.restart();
    ioc_.run();
    last_error_ = result;
    if (result) return std::nullopt;
    return res;
  }

  std::optional<Response> request(std::string_view method, std::string_view target,
                                  std::string_view body = {}, std::string_view headers = {}) {
    if (!send(raw_request(method, target, body, headers))) return std::nullopt;
    return read();
  }

  // Waits (at most `wait`) for the server to close the connection. True when it did.
  bool closed_by_server(std::chrono::milliseconds wait = 15s) {
    char byte;
    beast::error_code result = asio::error::would_block;
    stream_.expires_after(wait);
    stream_.async_read_some(asio::buffer(&byte, 1),
                            [&](beast::error_code ec, std::size_t) { result = ec; });
    ioc_.restart();
    ioc_.run();
    return result == asio::error::eof || result == asio::error::connection_reset;
  }

  beast::error_code last_error() const { return last_error_; }

 private:
  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  beast::error_code last_error_;
};

}  // namespace tbpay::test
