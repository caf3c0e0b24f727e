#include "providers/http/api_client.h"

#include <openssl/ssl.h>

#include <cctype>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>  // Boost 1.74 asio needs std::exchange declared first under C++20

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace tbpay {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

// Provider answers are a few KiB; anything near this is not one.
constexpr std::uint64_t kBodyLimit = 1u << 20;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_loopback(const std::string& host) {
  if (lower(host) == "localhost") return true;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

bool is_ip_address(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

std::string ApiUrl::text() const {
  const bool v6 = host.find(':') != std::string::npos;
  return std::string(tls ? "https://" : "http://") + (v6 ? "[" + host + "]" : host) + ":" + port +
         path;
}

std::string percent_encoded(std::string_view v, std::string_view kept, bool space_as_plus) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(v.size());
  for (const char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || kept.find(ch) != std::string_view::npos) {
      out.push_back(ch);
    } else if (c == ' ' && space_as_plus) {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

Result<ApiUrl, std::string> parse_api_url(std::string_view url) {
  ApiUrl out;
  std::string_view rest = url;
  const std::string scheme = lower(url.substr(0, url.find("://")));
  if (url.find("://") == std::string_view::npos || (scheme != "https" && scheme != "http"))
    return "'" + std::string(url) + "' is not an http(s) URL";
  out.tls = scheme == "https";
  rest.remove_prefix(scheme.size() + 3);
  const auto slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos)
    return "'" + std::string(url) + "': credentials in the URL are not supported";
  if (path.find_first_of("?#") != std::string_view::npos)
    return "'" + std::string(url) + "': a base URL has no query or fragment";
  std::string_view port;
  if (authority.starts_with("[")) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return "'" + std::string(url) + "': unclosed '['";
    out.host = std::string(authority.substr(1, close - 1));
    const auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return "'" + std::string(url) + "': bad host";
      port = after.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return "'" + std::string(url) + "' has no host";
  if (!port.empty()) {
    for (char c : port)
      if (!std::isdigit(static_cast<unsigned char>(c)))
        return "'" + std::string(url) + "': bad port";
    if (port.size() > 5 || std::stoi(std::string(port)) == 0 ||
        std::stoi(std::string(port)) > 65535)
      return "'" + std::string(url) + "': bad port";
    out.port = std::string(port);
  } else {
    out.port = out.tls ? "443" : "80";
  }
  while (path.ends_with('/')) path.remove_suffix(1);
  out.path = std::string(path);
  if (!out.tls && !is_loopback(out.host))
    return "'" + std::string(url) +
           "': plain http:// is refused except to a loopback host; use https://";
  return out;
}

// Made on the first https:// request, not with the client: loading the CA bundle takes tens of
// milliseconds, and every provider has a client from the start (a Lambda cold start paid it
// twice though a webhook never calls a provider).
struct ApiClient::Tls {
  std::once_flag made;
  std::optional<ssl::context> context;

  ssl::context& get() {
    std::call_once(made, [this] {
      context.emplace(ssl::context::tls_client);
      // OpenSSL's default locations, or the files SSL_CERT_FILE / SSL_CERT_DIR name.
      context->set_default_verify_paths();
      context->set_verify_mode(ssl::verify_peer);
      SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
    });
    return *context;
  }
};

ApiClient::ApiClient(std::chrono::milliseconds timeout)
    : timeout_(timeout), tls_(std::make_unique<Tls>()) {}

ApiClient::~ApiClient() = default;

namespace {

// One exchange on `stream`, driven by `io` until done or the deadline closes the socket.
template <class Stream>
class Exchange {
 public:
  Exchange(asio::io_context& io, Stream& stream, const ApiUrl& base,
           http::request<http::string_body>& req, std::chrono::milliseconds timeout)
      : io_(io), stream_(stream), base_(base), req_(req), resolver_(io), timer_(io) {
    timer_.expires_after(timeout);
  }

  Result<ApiResponse, ApiFailure> run() {
    timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;  // cancelled: the exchange finished first
      timed_out_ = true;
      resolver_.cancel();
      beast::get_lowest_layer(stream_).socket().close(ec);
    });
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(base_.host, ec);
    if (!ec) {  // an IP address: no resolver (asio's runs a thread of its own per request)
      const auto port = static_cast<unsigned short>(std::stoi(base_.port));
      on_resolved(tcp::resolver::results_type::create(tcp::endpoint(address, port), base_.host,
                                                      base_.port));
    } else {
      resolver_.async_resolve(base_.host, base_.port,
                              [this](boost::system::error_code ec, tcp::resolver::results_type r) {
                                if (ec) return fail("resolving " + base_.host, ec);
                                on_resolved(r);
                              });
    }
    io_.run();
    if (failure_) return *failure_;
    ApiResponse out;
    auto& res = parser_.get();
    out.status = static_cast<int>(res.result_int());
    if (auto it = res.find(http::field::retry_after); it != res.end())
      out.retry_after = std::string(it->value());
    out.body = std::move(res.body());
    return out;
  }

 private:
  void fail(const std::string& stage, boost::system::error_code ec) {
    timer_.cancel();
    boost::system::error_code ignored;
    beast::get_lowest_layer(stream_).socket().close(ignored);
    if (timed_out_)
      failure_ = ApiFailure{true, stage + ": no answer within the request timeout"};
    else
      failure_ = ApiFailure{false, stage + ": " + ec.message()};
  }

  void on_resolved(const tcp::resolver::results_type& endpoints) {
    asio::async_connect(beast::get_lowest_layer(stream_).socket(), endpoints,
                        [this](boost::system::error_code ec, const tcp::endpoint&) {
                          if (ec) return fail("connecting to " + base_.text(), ec);
                          boost::system::error_code ignored;
                          beast::get_lowest_layer(stream_).socket().set_option(tcp::no_delay(true),
                                                                               ignored);
                          on_connected();
                        });
  }

  void on_connected() {
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      // SNI for names; the certificate must name the host (DNS name or IP address).
      if (!is_ip_address(base_.host))
        SSL_set_tlsext_host_name(stream_.native_handle(), base_.host.c_str());
      stream_.set_verify_mode(ssl::verify_peer);
      stream_.set_verify_callback(ssl::host_name_verification(base_.host));
      stream_.async_handshake(ssl::stream_base::client, [this](boost::system::error_code ec) {
        if (ec) return fail("TLS handshake with " + base_.text(), ec);
        write();
      });
    } else {
      write();
    }
  }

  void write() {
    http::async_write(stream_, req_, [this](boost::system::error_code ec, std::size_t) {
      if (ec) return fail("sending to " + base_.text(), ec);
      parser_.body_limit(kBodyLimit);
      http::async_read(stream_, buffer_, parser_,
                       [this](boost::system::error_code ec, std::size_t) {
                         if (ec) return fail("reading the answer of " + base_.text(), ec);
                         timer_.cancel();
                         boost::system::error_code ignored;
                         beast::get_lowest_layer(stream_).socket().close(ignored);
                       });
    });
  }

  asio::io_context& io_;
  Stream& stream_;
  const ApiUrl& base_;
  http::request<http::string_body>& req_;
  tcp::resolver resolver_;
  asio::steady_timer timer_;
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
  bool timed_out_ = false;
  std::optional<ApiFailure> failure_;
};

}  // namespace

Result<ApiResponse, ApiFailure> ApiClient::send(const ApiUrl& base,
                                                const ApiRequest& request) const {
  http::request<http::string_body> req{
      request.method == "POST" ? http::verb::post : http::verb::get, base.path + request.target,
      11};
  const bool default_port = base.port == (base.tls ? "443" : "80");
  const bool v6 = base.host.find(':') != std::string::npos;
  const std::string host = v6 ? "[" + base.host + "]" : base.host;
  req.set(http::field::host, default_port ? host : host + ":" + base.port);
  req.set(http::field::user_agent, "tbpay");
  req.set(http::field::accept, "application/json");
  req.keep_alive(false);
  for (const auto& [name, value] : request.headers) req.set(name, value);
  if (!request.body.empty() || request.method == "POST") {
    req.set(http::field::content_type, request.content_type);
    req.body() = request.body;
  }
  req.prepare_payload();

  asio::io_context io;
  if (base.tls) {
    beast::ssl_stream<beast::tcp_stream> stream(io, tls_->get());
    return Exchange(io, stream, base, req, timeout_).run();
  }
  beast::tcp_stream stream(io);
  return Exchange(io, stream, base, req, timeout_).run();
}

}  // namespace tbpay
