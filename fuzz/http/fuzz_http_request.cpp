// The HTTP request path of `tbpay serve` on arbitrary bytes: the real server (Beast parser,
// limits, sessions, worker pool) listening on loopback in this process, with webhook ingestion
// on SQLite behind it. Each input is written on a new connection, which is then half-closed;
// everything the server answers is read until it closes.
//
// Invariants: the server always finishes with the connection (no hang); everything it sends
// is a sequence of well-formed HTTP responses (a 100 Continue at most before the final one)
// with documented statuses and JSON bodies; never a 500.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <thread>

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "http/server.h"
#include "support/ingestion_env.h"

namespace {

using tbpay::fuzzing::check;
namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;

struct Serve {
  Serve() {
    tbpay::http::ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.threads = 2;
    // An input is all there is: anything the server still waits for never comes.
    options.request_timeout = 3s;
    options.first_request_timeout = 3s;
    server = std::make_unique<tbpay::http::Server>(*env.ingestion, env.ctx->log, options);
    const std::string address = server->address();
    port = static_cast<std::uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
    runner = std::thread([this] { server->run(); });
  }
  tbpay::fuzzing::IngestionEnv env;
  std::unique_ptr<tbpay::http::Server> server;
  std::uint16_t port = 0;
  std::thread runner;
};

Serve& serve() {
  static Serve* s = new Serve();
  return *s;
}

// poll() for one descriptor. libFuzzer's timeout alarm (SIGALRM) interrupts system calls now and
// then; that is not an answer, so wait again.
int wait_for(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  int ready = 0;
  do ready = ::poll(&p, 1, timeout_ms);
  while (ready < 0 && errno == EINTR);
  return ready;
}

// Writes the input, half-closes, returns everything the server sent until it closed.
std::string exchange(std::string_view input) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  check(fd >= 0, "socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(serve().port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    // Interrupted (libFuzzer's alarm): the connection goes on; wait for it and read its result.
    check(errno == EINTR, "connect to the server");
    check(wait_for(fd, POLLOUT, 20000) == 1, "connect to the server");
    int error = 0;
    socklen_t len = sizeof error;
    check(::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error == 0,
          "connect to the server");
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::size_t sent = 0;
  while (sent < input.size()) {
    const ssize_t n = ::send(fd, input.data() + sent, input.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the server may close early (e.g. after a 413): fine
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string out;
  char buf[16384];
  for (;;) {
    // The server's own timeouts are 3 s; far beyond them it has lost the connection.
    check(wait_for(fd, POLLIN, 20000) == 1, "the server finishes every connection");
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

// One response at the front of `wire`; how many bytes it took, 0 when there is none. A reply
// to HEAD announces a body it does not carry: `head` parses it that way.
std::size_t parse_response(std::string_view wire, bool head, int& status, std::string& body) {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.eager(true);
  parser.skip(head);
  parser.body_limit(1u << 20);
  boost::beast::error_code ec;
  std::size_t used = parser.put(boost::asio::buffer(wire.data(), wire.size()), ec);
  if (ec == bhttp::error::need_more) ec = {};
  if (!ec && !parser.is_done()) parser.put_eof(ec);
  if (ec || !parser.is_done()) return 0;
  status = static_cast<int>(parser.get().result_int());
  body = parser.get().body();
  return used;
}

void check_responses(std::string_view wire) {
  while (!wire.empty()) {
    int status = 0;
    std::string body;
    // A reply to HEAD carries no body although its Content-Length announces one. Read this
    // reply as one when what follows its header is the next reply (or nothing); otherwise the
    // next reply's bytes would be taken for this one's body. tbpay's bodies are JSON, never
    // "HTTP/...".
    std::size_t used = parse_response(wire, true, status, body);
    const auto rest = wire.substr(used);
    if (used == 0 || !(rest.empty() || rest.starts_with("HTTP/")))
      used = parse_response(wire, false, status, body);
    check(used > 0, "the server sends well-formed HTTP responses");
    wire.remove_prefix(used);
    if (status == 100) continue;
    check(tbpay::fuzzing::documented_status(status), "a documented status, never 500");
    check(body.empty() || nlohmann::json::accept(body), "reply bodies are JSON");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  check_responses(exchange(std::string_view(reinterpret_cast<const char*>(data), size)));
  return 0;
}
