#include "lambda/runtime_client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <utility>  // Boost 1.74 asio needs std::exchange declared first under C++20

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace tbpay::lambda {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr const char* kApiVersion = "/2018-06-01/runtime";
// Lambda hands events of up to 6 MB (and client context headers of a few KiB) to the runtime.
constexpr std::uint64_t kBodyLimit = 64ull << 20;
constexpr std::uint32_t kHeaderLimit = 64u << 10;
constexpr int kConnectTimeoutMs = 2000;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// An answer of the Runtime API, whatever its status.
struct Answer {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

std::string error_body(std::string_view type, std::string_view message) {
  return nlohmann::json{
      {"errorMessage", message}, {"errorType", type}, {"stackTrace", nlohmann::json::array()}}
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

InvocationRequest to_invocation(Answer&& a) {
  InvocationRequest inv;
  inv.payload = std::move(a.body);
  inv.request_id = a.header("lambda-runtime-aws-request-id");
  inv.function_arn = a.header("lambda-runtime-invoked-function-arn");
  inv.trace_id = a.header("lambda-runtime-trace-id");
  const std::string deadline = a.header("lambda-runtime-deadline-ms");
  char* end = nullptr;
  const long long ms = deadline.empty() ? 0 : std::strtoll(deadline.c_str(), &end, 10);
  if (ms > 0 && end && *end == '\0') {
    inv.deadline = std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
  } else {
    // Lambda always sends it; without one, allow Lambda's longest timeout.
    inv.deadline = std::chrono::system_clock::now() + std::chrono::minutes(15);
  }
  return inv;
}

}  // namespace

// The HTTP/1.1 exchanges over the one connection.
struct RuntimeApiClient::Connection {
  explicit Connection(std::string_view runtime_api)
      : host(runtime_api), base(std::string(kApiVersion)) {}

  // The answer (any status), or the transport's error.
  Result<Answer, RuntimeApiError> exchange(http::verb verb, std::string_view path,
                                           std::string body = {},
                                           std::string_view error_type = {}) {
    http::request<http::string_body> req{verb, base + std::string(path), 11};
    req.set(http::field::host, host);
    req.set(http::field::user_agent, "tbpay");
    req.keep_alive(true);
    if (verb == http::verb::post) {
      req.set(http::field::content_type, "application/json");
      if (!error_type.empty())
        req.set("Lambda-Runtime-Function-Error-Type",
                beast::string_view(error_type.data(), error_type.size()));
      req.body() = std::move(body);
    }
    req.prepare_payload();

    Answer answer;
    // A kept connection the Runtime API closed in the meantime fails before any byte of the
    // answer arrives: the request was not taken, so it is sent again on a new connection.
    const bool reused = socket.is_open();
    bool answered = false;
    boost::system::error_code ec = send(req, answer, answered);
    if (ec && reused && !answered) {
      answer = Answer{};
      ec = send(req, answer, answered);
    }
    if (ec) {
      disconnect();
      return RuntimeApiError{0, ec.message()};
    }
    return answer;
  }

  boost::system::error_code send(const http::request<http::string_body>& req, Answer& answer,
                                 bool& answered) {
    boost::system::error_code ec;
    if (!socket.is_open() && (ec = connect())) return ec;
    http::write(socket, req, ec);
    if (ec) {
      disconnect();
      return ec;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(kBodyLimit);
    parser.header_limit(kHeaderLimit);
    buffer.clear();
    http::read_header(socket, buffer, parser, ec);
    answered = buffer.size() > 0 || parser.got_some();
    if (!ec) http::read(socket, buffer, parser, ec);
    if (ec) {
      disconnect();
      return ec;
    }
    auto& res = parser.get();
    answer.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      answer.headers[lower(std::string(field.name_string()))] = std::string(field.value());
    }
    if (!res.keep_alive()) disconnect();
    answer.body = std::move(res.body());
    return ec;
  }

  // Blocking connect, bounded like libcurl's CONNECTTIMEOUT was: the Runtime API either
  // answers at once or is not there.
  boost::system::error_code connect() {
    boost::system::error_code ec;
    const auto colon = host.rfind(':');
    if (colon == std::string::npos) return asio::error::invalid_argument;
    std::string name = host.substr(0, colon);
    if (name.size() > 2 && name.front() == '[' && name.back() == ']') {
      name = name.substr(1, name.size() - 2);
    }
    tcp::resolver resolver(io);
    const auto endpoints = resolver.resolve(name, host.substr(colon + 1), ec);
    if (ec) return ec;
    for (const auto& entry : endpoints) {
      if (!(ec = connect_to(entry.endpoint()))) return ec;
      disconnect();
    }
    return ec ? ec : asio::error::host_not_found;
  }

  boost::system::error_code connect_to(const tcp::endpoint& endpoint) {
    boost::system::error_code ec;
    socket.open(endpoint.protocol(), ec);
    if (ec) return ec;
    socket.set_option(tcp::no_delay(true), ec);
    if (ec) return ec;
    // asio's own synchronous connect waits without a limit, so connect by hand: start it
    // non-blocking and wait for the socket to become writable.
    const int fd = socket.native_handle();
    const int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int err = 0;
    if (::connect(fd, endpoint.data(), static_cast<socklen_t>(endpoint.size())) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        pollfd pfd{fd, POLLOUT, 0};
        const int ready = ::poll(&pfd, 1, kConnectTimeoutMs);
        socklen_t len = sizeof err;
        if (ready == 0) {
          err = ETIMEDOUT;
        } else if (ready < 0) {
          err = errno;
        } else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
          err = errno;
        }
      }
    }
    ::fcntl(fd, F_SETFL, flags);
    return err ? boost::system::error_code(err, boost::system::system_category())
               : boost::system::error_code();
  }

  void disconnect() {
    boost::system::error_code ignored;
    socket.close(ignored);
    buffer.clear();
  }

  // A post's outcome: taken (2xx), or why not.
  static Status<RuntimeApiError> accepted(Result<Answer, RuntimeApiError>&& r) {
    if (!r) return r.error();
    if (r->status < 200 || r->status >= 300) return RuntimeApiError{r->status, {}};
    return Ok{};
  }

  std::string host;  // host:port, also the Host header
  std::string base;
  asio::io_context io;
  tcp::socket socket{io};
  beast::flat_buffer buffer;
};

RuntimeApiClient::RuntimeApiClient(std::string_view runtime_api)
    : connection_(std::make_unique<Connection>(runtime_api)) {}

RuntimeApiClient::~RuntimeApiClient() = default;

Result<InvocationRequest, RuntimeApiError> RuntimeApiClient::next() {
  auto r = connection_->exchange(http::verb::get, "/invocation/next");
  if (!r) return r.error();
  if (r->status < 200 || r->status >= 300) return RuntimeApiError{r->status, {}};
  return to_invocation(std::move(r).value());
}

Status<RuntimeApiError> RuntimeApiClient::post_success(std::string_view request_id,
                                                       std::string payload) {
  const std::string path = "/invocation/" + std::string(request_id) + "/response";
  return Connection::accepted(connection_->exchange(http::verb::post, path, std::move(payload)));
}

Status<RuntimeApiError> RuntimeApiClient::post_failure(std::string_view request_id,
                                                       std::string_view error_type,
                                                       std::string_view error_message) {
  const std::string path = "/invocation/" + std::string(request_id) + "/error";
  return Connection::accepted(connection_->exchange(
      http::verb::post, path, error_body(error_type, error_message), error_type));
}

Status<RuntimeApiError> RuntimeApiClient::post_init_error(std::string_view error_type,
                                                          std::string_view error_message) {
  return Connection::accepted(connection_->exchange(
      http::verb::post, "/init/error", error_body(error_type, error_message), error_type));
}

}  // namespace tbpay::lambda
