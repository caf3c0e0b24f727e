#include "reliability/support/http_connection.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>

namespace tbpay::reliability {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

HttpConnection::HttpConnection(unsigned short port) : stream_(ioc_) {
  stream_.socket().connect({asio::ip::make_address("127.0.0.1"), port});
}

HttpConnection::~HttpConnection() {
  beast::error_code ec;
  stream_.socket().close(ec);
}

bool HttpConnection::send(std::string_view raw) {
  beast::error_code ec;
  asio::write(stream_.socket(), asio::buffer(raw.data(), raw.size()), ec);
  return !ec;
}

std::optional<HttpReplyOnWire> HttpConnection::read(std::chrono::milliseconds wait) {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(16u << 20);
  beast::error_code result = asio::error::would_block;
  stream_.expires_after(wait);
  bhttp::async_read(stream_, buffer_, parser,
                    [&](beast::error_code ec, std::size_t) { result = ec; });
  ioc_.restart();
  ioc_.run();
  if (result) {
    last_error_ = result.message();
    return std::nullopt;
  }
  auto& res = parser.get();
  HttpReplyOnWire out;
  out.status = static_cast<int>(res.result_int());
  out.body = std::move(res.body());
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(field.value());
  }
  return out;
}

std::optional<HttpReplyOnWire> HttpConnection::exchange(std::string_view raw,
                                                        std::chrono::milliseconds wait) {
  if (!send(raw)) {
    last_error_ = "send failed";
    return std::nullopt;
  }
  return read(wait);
}

bool HttpConnection::closed_by_server(std::chrono::milliseconds wait) {
  // Whatever the server still says before closing (an error reply) is read and dropped.
  char bytes[4096];
  stream_.expires_after(wait);
  for (;;) {
    beast::error_code result = asio::error::would_block;
    stream_.async_read_some(asio::buffer(bytes),
                            [&](beast::error_code ec, std::size_t) { result = ec; });
    ioc_.restart();
    ioc_.run();
    if (result == asio::error::eof || result == asio::error::connection_reset) return true;
    if (result) return false;  // timeout
  }
}

std::optional<HttpReplyOnWire> http_once(unsigned short port, std::string_view raw,
                                         std::chrono::milliseconds wait) {
  try {
    HttpConnection c(port);
    return c.exchange(raw, wait);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace tbpay::reliability
