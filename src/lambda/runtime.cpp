#include "lambda/runtime.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <thread>
#include <utility>  // Boost 1.74 asio needs std::exchange declared first under C++20

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace tbpay::lambda {

std::chrono::milliseconds InvocationRequest::remaining(
    std::chrono::system_clock::time_point now) const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
}

InvocationResponse InvocationResponse::ok(std::string payload) {
  InvocationResponse r;
  r.payload = std::move(payload);
  return r;
}

InvocationResponse InvocationResponse::failure(std::string error_type, std::string error_message) {
  InvocationResponse r;
  r.success = false;
  r.error_type = std::move(error_type);
  r.error_message = std::move(error_message);
  return r;
}

namespace {

constexpr const char* kApiVersion = "/2018-06-01/runtime";
// The Runtime API is on loopback; when it stops answering the environment is going away.
constexpr int kNextAttempts = 3;

void log_runtime(const char* level, const std::string& message) {
  const nlohmann::json line{{"level", level}, {"msg", message}, {"component", "lambda-runtime"}};
  std::fprintf(stderr, "%s\n", line.dump().c_str());
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

struct HttpResult {
  bool transport_ok = false;
  std::string transport_error;
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Lambda hands events of up to 6 MB (and client context headers of a few KiB) to the runtime.
constexpr std::uint64_t kBodyLimit = 64ull << 20;
constexpr std::uint32_t kHeaderLimit = 64u << 10;
constexpr int kConnectTimeoutMs = 2000;

// A synchronous HTTP/1.1 client holding one keep-alive connection to the Runtime API for the
// life of the process. The Runtime API is one loopback peer, so a blocking socket is all it
// takes (libcurl brought a dozen shared libraries whose symbol binding dominated cold start).
class RuntimeClient {
 public:
  explicit RuntimeClient(std::string_view runtime_api)
      : host_(runtime_api), base_(std::string(kApiVersion)) {}

  HttpResult get(const std::string& path) { return exchange(http::verb::get, path, nullptr, {}); }

  HttpResult post(const std::string& path, const std::string& body,
                  const std::string& error_type = {}) {
    return exchange(http::verb::post, path, &body, error_type);
  }

 private:
  HttpResult exchange(http::verb verb, const std::string& path, const std::string* body,
                      const std::string& error_type) {
    http::request<http::string_body> req{verb, base_ + path, 11};
    req.set(http::field::host, host_);
    req.set(http::field::user_agent, "tbpay");
    req.keep_alive(true);
    if (body) {
      req.set(http::field::content_type, "application/json");
      if (!error_type.empty()) req.set("Lambda-Runtime-Function-Error-Type", error_type);
      req.body() = *body;
    }
    req.prepare_payload();

    HttpResult result;
    // A kept connection the Runtime API closed in the meantime fails before any byte of the
    // answer arrives: the request was not taken, so it is sent again on a new connection.
    const bool reused = socket_.is_open();
    bool answered = false;
    boost::system::error_code ec = send(req, result, answered);
    if (ec && reused && !answered) {
      result = HttpResult{};
      ec = send(req, result, answered);
    }
    if (ec) {
      disconnect();
      result.transport_error = ec.message();
      return result;
    }
    result.transport_ok = true;
    return result;
  }

  boost::system::error_code send(const http::request<http::string_body>& req, HttpResult& result,
                                 bool& answered) {
    boost::system::error_code ec;
    if (!socket_.is_open() && (ec = connect())) return ec;
    http::write(socket_, req, ec);
    if (ec) {
      disconnect();
      return ec;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(kBodyLimit);
    parser.header_limit(kHeaderLimit);
    buffer_.clear();
    http::read_header(socket_, buffer_, parser, ec);
    answered = buffer_.size() > 0 || parser.got_some();
    if (!ec) http::read(socket_, buffer_, parser, ec);
    if (ec) {
      disconnect();
      return ec;
    }
    auto& res = parser.get();
    result.status = static_cast<long>(res.result_int());
    for (const auto& field : res) {
      result.headers[lower(std::string(field.name_string()))] = std::string(field.value());
    }
    if (!res.keep_alive()) disconnect();
    result.body = std::move(res.body());
    return ec;
  }

  // Blocking connect, bounded like libcurl's CONNECTTIMEOUT was: the Runtime API either
  // answers at once or is not there.
  boost::system::error_code connect() {
    boost::system::error_code ec;
    const auto colon = host_.rfind(':');
    if (colon == std::string::npos) return asio::error::invalid_argument;
    std::string name = host_.substr(0, colon);
    if (name.size() > 2 && name.front() == '[' && name.back() == ']') {
      name = name.substr(1, name.size() - 2);
    }
    tcp::resolver resolver(io_);
    const auto endpoints = resolver.resolve(name, host_.substr(colon + 1), ec);
    if (ec) return ec;
    for (const auto& entry : endpoints) {
      if (!(ec = connect_to(entry.endpoint()))) return ec;
      disconnect();
    }
    return ec ? ec : asio::error::host_not_found;
  }

  boost::system::error_code connect_to(const tcp::endpoint& endpoint) {
    boost::system::error_code ec;
    socket_.open(endpoint.protocol(), ec);
    if (ec) return ec;
    socket_.set_option(tcp::no_delay(true), ec);
    if (ec) return ec;
    // asio's own synchronous connect waits without a limit, so connect by hand: start it
    // non-blocking and wait for the socket to become writable.
    const int fd = socket_.native_handle();
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
    socket_.close(ignored);
    buffer_.clear();
  }

  std::string host_;  // host:port, also the Host header
  std::string base_;
  asio::io_context io_;
  tcp::socket socket_{io_};
  beast::flat_buffer buffer_;
};

std::string error_body(std::string_view type, std::string_view message) {
  return nlohmann::json{
      {"errorMessage", message}, {"errorType", type}, {"stackTrace", nlohmann::json::array()}}
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string header(const HttpResult& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? std::string() : it->second;
}

InvocationRequest to_invocation(HttpResult&& r) {
  InvocationRequest inv;
  inv.payload = std::move(r.body);
  inv.request_id = header(r, "lambda-runtime-aws-request-id");
  inv.function_arn = header(r, "lambda-runtime-invoked-function-arn");
  inv.trace_id = header(r, "lambda-runtime-trace-id");
  const std::string deadline = header(r, "lambda-runtime-deadline-ms");
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

InvocationResponse call_handler(const Handler& handler, const InvocationRequest& inv) {
  try {
    return handler(inv);
  } catch (const std::exception& e) {
    return InvocationResponse::failure("Runtime.UnhandledException", e.what());
  } catch (...) {
    return InvocationResponse::failure("Runtime.UnhandledException", "unknown exception");
  }
}

bool accepted(const HttpResult& r) { return r.transport_ok && r.status >= 200 && r.status < 300; }

}  // namespace

int run_loop(std::string_view runtime_api, const Handler& handler) {
  RuntimeClient client(runtime_api);
  int failures = 0;
  while (true) {
    HttpResult next = client.get("/invocation/next");
    if (!accepted(next)) {
      log_runtime("error", next.transport_ok
                               ? "GET /invocation/next answered " + std::to_string(next.status)
                               : "GET /invocation/next failed: " + next.transport_error);
      // A non-2xx answer (e.g. 500 Runtime.StateError) means the runtime must exit.
      if (next.transport_ok || ++failures >= kNextAttempts) return 1;
      std::this_thread::sleep_for(std::chrono::milliseconds(10 * failures));
      continue;
    }
    failures = 0;
    InvocationRequest inv = to_invocation(std::move(next));
    if (inv.trace_id.empty()) {
      unsetenv("_X_AMZN_TRACE_ID");
    } else {
      setenv("_X_AMZN_TRACE_ID", inv.trace_id.c_str(), 1);
    }

    const InvocationResponse out = call_handler(handler, inv);
    // Lambda may freeze the process as soon as the result is posted: logs and EMF lines first.
    std::fflush(stdout);
    std::fflush(stderr);
    const std::string id_path = "/invocation/" + inv.request_id;
    HttpResult posted =
        out.success ? client.post(id_path + "/response", out.payload)
                    : client.post(id_path + "/error", error_body(out.error_type, out.error_message),
                                  out.error_type);
    if (out.success && posted.transport_ok && posted.status == 413) {
      posted = client.post(id_path + "/error",
                           error_body("Function.ResponseSizeTooLarge", "response too large"),
                           "Function.ResponseSizeTooLarge");
    }
    if (!accepted(posted)) {
      log_runtime("error", "posting the result of " + inv.request_id + " failed: " +
                               (posted.transport_ok ? std::to_string(posted.status)
                                                    : posted.transport_error));
    }
  }
}

bool report_init_error(std::string_view runtime_api, std::string_view error_type,
                       std::string_view error_message) {
  RuntimeClient client(runtime_api);
  const HttpResult r =
      client.post("/init/error", error_body(error_type, error_message), std::string(error_type));
  if (!accepted(r)) {
    log_runtime("error", "POST /init/error failed: " +
                             (r.transport_ok ? std::to_string(r.status) : r.transport_error));
  }
  return accepted(r);
}

}  // namespace tbpay::lambda
