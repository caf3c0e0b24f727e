#include "support/http_client.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>

namespace tbpay::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

unsigned short port_of(const std::string& address) {
  return static_cast<unsigned short>(std::stoi(address.substr(address.rfind(':') + 1)));
}

HttpClient::HttpClient(unsigned short port) : stream_(ioc_) {
  stream_.socket().connect({asio::ip::make_address("127.0.0.1"), port});
}

HttpClient::~HttpClient() {
  beast::error_code ec;
  stream_.socket().close(ec);
}

bool HttpClient::send(std::string_view raw) {
  beast::error_code ec;
  asio::write(stream_.socket(), asio::buffer(raw.data(), raw.size()), ec);
  return !ec;
}

std::optional<Response> HttpClient::read(std::chrono::milliseconds wait) {
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
  return parser.release();
}

std::optional<Response> HttpClient::exchange(std::string_view raw, std::chrono::milliseconds wait) {
  if (!send(raw)) {
    last_error_ = "send failed";
    return std::nullopt;
  }
  return read(wait);
}

bool HttpClient::closed_by_server(std::chrono::milliseconds wait) {
  char byte;
  beast::error_code result = asio::error::would_block;
  stream_.expires_after(wait);
  stream_.async_read_some(asio::buffer(&byte, 1),
                          [&](beast::error_code ec, std::size_t) { result = ec; });
  ioc_.restart();
  ioc_.run();
  return result == asio::error::eof || result == asio::error::connection_reset;
}

bool HttpClient::closed_by_server_after_any_reply(std::chrono::milliseconds wait) {
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

std::optional<Response> http_once(unsigned short port, std::string_view raw,
                                  std::chrono::milliseconds wait) {
  try {
    HttpClient c(port);
    return c.exchange(raw, wait);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace tbpay::test
