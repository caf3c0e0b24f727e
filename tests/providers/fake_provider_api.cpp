#include "providers/fake_provider_api.h"

#include <cstdlib>
#include <stdexcept>
#include <utility>  // Boost 1.74 asio needs std::exchange declared first under C++20

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "providers/payos/payos.h"

namespace tbpay::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

std::string form_decode(std::string_view v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '+') {
      out.push_back(' ');
    } else if (v[i] == '%' && i + 2 < v.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(v.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(v[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> form_fields(const std::string& body) {
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start <= body.size()) {
    auto end = body.find('&', start);
    if (end == std::string::npos) end = body.size();
    const std::string pair = body.substr(start, end - start);
    const auto eq = pair.find('=');
    if (eq != std::string::npos)
      out[form_decode(pair.substr(0, eq))] = form_decode(pair.substr(eq + 1));
    start = end + 1;
  }
  return out;
}

}  // namespace

struct FakeProviderApi::Impl {
  FakeProviderApi& owner;
  Options options;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::unique_ptr<ssl::context> tls;
  std::jthread accept_thread;
  mutable std::mutex mutex;
  std::condition_variable idle;
  int connections = 0;
  bool stopping = false;
  std::map<std::string, FakeAnswer> answers;
  FakeAnswer default_answer;
  std::map<std::string, std::vector<Clock::time_point>> arrivals;
  std::vector<Clock::time_point> all;

  Impl(FakeProviderApi& o, Options opts) : owner(o), options(std::move(opts)) {
    if (!options.cert_file.empty()) {
      tls = std::make_unique<ssl::context>(ssl::context::tls_server);
      tls->use_certificate_chain_file(options.cert_file);
      tls->use_private_key_file(options.key_file, ssl::context::pem);
    }
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(1024);
    accept_thread = std::jthread([this] { accept_loop(); });
  }

  ~Impl() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    idle.notify_all();  // wakes the answers that hang
    boost::system::error_code ec;
    {  // a blocked accept() does not notice close(): wake it with one last connection
      tcp::socket poke(io);
      poke.connect(acceptor.local_endpoint(ec), ec);
    }
    accept_thread.join();
    acceptor.close(ec);
    std::unique_lock lock(mutex);
    idle.wait(lock, [this] { return connections == 0; });
  }

  void accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket(io);
      acceptor.accept(socket, ec);
      {
        std::lock_guard lock(mutex);
        if (stopping) return;
        if (ec) continue;
        ++connections;
      }
      std::thread([this, s = std::move(socket)]() mutable {
        serve(std::move(s));
        std::lock_guard lock(mutex);
        if (--connections == 0) idle.notify_all();
      }).detach();
    }
  }

  template <class Stream>
  void exchange(Stream& stream) {
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    boost::system::error_code ec;
    http::read(stream, buffer, req, ec);
    if (ec) return;
    const int now_in_flight = ++owner.in_flight_;
    int seen = owner.max_in_flight_.load();
    while (now_in_flight > seen &&
           !owner.max_in_flight_.compare_exchange_weak(seen, now_in_flight)) {
    }
    ++owner.requests_;
    http::response<http::string_body> res = answer(req);
    if (options.latency.count() > 0) std::this_thread::sleep_for(options.latency);
    --owner.in_flight_;
    res.prepare_payload();
    res.keep_alive(false);
    http::write(stream, res, ec);
  }

  void serve(tcp::socket socket) {
    if (tls) {
      ssl::stream<tcp::socket> stream(std::move(socket), *tls);
      boost::system::error_code ec;
      stream.handshake(ssl::stream_base::server, ec);
      if (ec) return;
      exchange(stream);
      stream.shutdown(ec);
    } else {
      exchange(socket);
      boost::system::error_code ec;
      socket.shutdown(tcp::socket::shutdown_send, ec);
    }
  }

  // The answer for `id`, consuming a TooMany that has a follow-up.
  FakeAnswer take(const std::string& id) {
    std::lock_guard lock(mutex);
    arrivals[id].push_back(Clock::now());
    all.push_back(Clock::now());
    auto it = answers.find(id);
    if (it == answers.end()) return default_answer;
    FakeAnswer a = it->second;
    if (a.then) it->second = *a.then;
    return a;
  }

  static http::response<http::string_body> reply(int status, std::string body,
                                                 std::string type = "application/json") {
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, type);
    res.body() = std::move(body);
    return res;
  }

  // Transport-level answers shared by both protocols; nullopt: answer normally.
  std::optional<http::response<http::string_body>> trouble(const FakeAnswer& a) {
    switch (a.kind) {
      case FakeAnswer::Kind::TooMany: {
        auto res = reply(429, R"({"error":"too many requests"})");
        res.set(http::field::retry_after, std::to_string(a.retry_after_s));
        return res;
      }
      case FakeAnswer::Kind::ServerError:
        return reply(502, "<html>bad gateway</html>", "text/html");
      case FakeAnswer::Kind::Malformed:
        return reply(200, R"({"return_code": 1, "data": )");
      case FakeAnswer::Kind::Hang: {
        std::unique_lock lock(mutex);
        idle.wait_for(lock, a.hang, [this] { return stopping; });
        return reply(200, "{}");
      }
      default:
        return std::nullopt;
    }
  }

  http::response<http::string_body> answer(const http::request<http::string_body>& req) {
    const std::string target(req.target());
    if (req.method() == http::verb::post && target == "/v2/query") return zalopay(req);
    const std::string prefix = "/v2/payment-requests/";
    if (req.method() == http::verb::get && target.rfind(prefix, 0) == 0)
      return payos(req, target.substr(prefix.size()));
    return reply(404, R"({"error":"not found"})");
  }

  http::response<http::string_body> zalopay(const http::request<http::string_body>& req) {
    auto form = form_fields(req.body());
    const auto& keys = options.zalopay;
    const std::string id = form["app_trans_id"];
    if (form["app_id"] != keys.app_id ||
        form["mac"] != hmac_sha256_hex(keys.key1, form["app_id"] + "|" + id + "|" + keys.key1)) {
      ++owner.bad_auth_;
      // As ZaloPay answers a query it cannot authenticate: HTTP 200, return_code 2.
      return reply(200, R"({"return_code":2,"return_message":"Giao dịch thất bại",)"
                        R"("sub_return_code":-402,"sub_return_message":"Invalid mac"})");
    }
    const FakeAnswer a = take(id);
    if (auto t = trouble(a)) return *t;
    json body = {{"return_code", 3},
                 {"return_message", "pending"},
                 {"sub_return_code", 0},
                 {"is_processing", false},
                 {"amount", a.amount},
                 {"zp_trans_id", 0},
                 {"server_time", 1765605918385},
                 {"discount_amount", 0}};
    switch (a.kind) {
      case FakeAnswer::Kind::Processing:
        body["return_code"] = 1;
        body["is_processing"] = true;
        break;
      case FakeAnswer::Kind::Paid:
        body["return_code"] = 1;
        body["return_message"] = "success";
        body["zp_trans_id"] = std::stoll(a.reference);
        break;
      case FakeAnswer::Kind::Failed:
        body["return_code"] = 2;
        body["return_message"] = a.reason;
        break;
      default:
        break;
    }
    return reply(200, body.dump());
  }

  http::response<http::string_body> payos(const http::request<http::string_body>& req,
                                          const std::string& id) {
    const auto& keys = options.payos;
    if (req["x-client-id"] != keys.client_id || req["x-api-key"] != keys.api_key) {
      ++owner.bad_auth_;
      return reply(401, R"({"code":"401","desc":"Unauthorized","data":null})");
    }
    const FakeAnswer a = take(id);
    if (auto t = trouble(a)) return *t;
    std::string status = "PENDING";
    std::int64_t paid = 0;
    json transactions = json::array();
    switch (a.kind) {
      case FakeAnswer::Kind::Processing:
        status = "PROCESSING";
        break;
      case FakeAnswer::Kind::Paid:
      case FakeAnswer::Kind::BadSignature:
      case FakeAnswer::Kind::NoSignature:
        status = "PAID";
        paid = a.amount;
        break;
      case FakeAnswer::Kind::Underpaid:
        status = "UNDERPAID";
        paid = a.amount / 2;
        break;
      case FakeAnswer::Kind::Failed:
        status = a.payos_status;
        break;
      default:
        break;
    }
    if (paid > 0) {
      transactions.push_back({{"reference", a.reference},
                              {"amount", paid},
                              {"accountNumber", "12345678"},
                              {"description", "TB payment"},
                              {"transactionDateTime", "2025-12-13T13:05:18+07:00"},
                              {"virtualAccountName", nullptr},
                              {"virtualAccountNumber", nullptr},
                              {"counterAccountBankId", nullptr},
                              {"counterAccountBankName", nullptr},
                              {"counterAccountName", nullptr},
                              {"counterAccountNumber", nullptr}});
    }
    const bool failed = a.kind == FakeAnswer::Kind::Failed;
    json data = {{"id", id},
                 {"orderCode", 20251213},
                 {"amount", a.amount},
                 {"amountPaid", paid},
                 {"amountRemaining", a.amount - paid},
                 {"status", status},
                 {"createdAt", "2025-12-13T13:00:00+07:00"},
                 {"transactions", transactions},
                 {"cancellationReason", failed ? json(a.reason) : json(nullptr)},
                 {"canceledAt", failed ? json("2025-12-13T13:20:00+07:00") : json(nullptr)}};
    json body = {{"code", "00"}, {"desc", "success"}, {"data", data}};
    const std::string canonical = payos_canonical_data(data);
    if (a.kind == FakeAnswer::Kind::BadSignature)
      body["signature"] = hmac_sha256_hex("not-the-checksum-key", canonical);
    else if (a.kind != FakeAnswer::Kind::NoSignature)
      body["signature"] = hmac_sha256_hex(keys.checksum_key, canonical);
    return reply(200, body.dump());
  }
};

FakeProviderApi::FakeProviderApi(Options options)
    : impl_(std::make_unique<Impl>(*this, std::move(options))) {}

FakeProviderApi::~FakeProviderApi() = default;

std::string FakeProviderApi::url(const std::string& host) const {
  return std::string(impl_->tls ? "https://" : "http://") + host + ":" +
         std::to_string(impl_->acceptor.local_endpoint().port());
}

void FakeProviderApi::set(const std::string& transaction_id, FakeAnswer answer) {
  std::lock_guard lock(impl_->mutex);
  impl_->answers[transaction_id] = std::move(answer);
}

void FakeProviderApi::set_default(FakeAnswer answer) {
  std::lock_guard lock(impl_->mutex);
  impl_->default_answer = std::move(answer);
}

std::vector<Clock::time_point> FakeProviderApi::arrivals(const std::string& id) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->arrivals.find(id);
  return it == impl_->arrivals.end() ? std::vector<Clock::time_point>{} : it->second;
}

std::vector<Clock::time_point> FakeProviderApi::all_arrivals() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->all;
}

TestCertificates make_test_certificates(const std::string& folder) {
  TestCertificates c{folder + "/ca.pem", folder + "/server.pem", folder + "/server.key"};
  const std::string script =
      "set -e; cd '" + folder +
      "'; "
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
      "-subj '/CN=tbpay test CA' >/dev/null 2>&1; "
      "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
      "-subj '/CN=localhost' >/dev/null 2>&1; "
      "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n"
      "keyUsage=digitalSignature,keyEncipherment\\nextendedKeyUsage=serverAuth\\n' > server.ext; "
      "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem "
      "-days 2 -extfile server.ext >/dev/null 2>&1";
  FILE* sh = popen("/bin/sh", "w");
  if (sh == nullptr) throw std::runtime_error("cannot start /bin/sh");
  std::fputs(script.c_str(), sh);
  std::fputs("\n", sh);
  if (pclose(sh) != 0) throw std::runtime_error("openssl could not make the test certificates");
  return c;
}

}  // namespace tbpay::test
