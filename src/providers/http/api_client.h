#pragma once
// The HTTP client the provider adapters ask ZaloPay and PayOS with: HTTPS with certificate and
// host name verification against OpenSSL's default trust store (SSL_CERT_FILE / SSL_CERT_DIR
// point it elsewhere), plain http:// only to a loopback host (local fakes), one deadline per
// request covering name resolution, connect, handshake, sending and the whole answer.
//
// Boost.Beast over Asio's OpenSSL stream: the binary already carries Beast (serve, the Lambda
// runtime client) and a static OpenSSL, so this adds no library to the Lambda package.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace tbpay {

// A provider's base URL, split. `path` is the prefix every request path is appended to.
struct ApiUrl {
  bool tls = true;
  std::string host;          // without brackets for IPv6
  std::string port;          // "443" / "80" when the URL has none
  std::string path;          // "" or "/prefix" (no trailing slash)
  std::string text() const;  // scheme://host[:port]path, for messages
};

// https://host[:port][/path] or, for a loopback host only, http://. The error is a sentence.
Result<ApiUrl, std::string> parse_api_url(std::string_view url);

// Percent-encoded for a request: letters, digits and the `kept` characters as they are, a
// space as '+' when `space_as_plus` (a form value), every other byte as %XX.
std::string percent_encoded(std::string_view v, std::string_view kept, bool space_as_plus);

struct ApiRequest {
  std::string method = "GET";  // GET or POST
  std::string target;          // "/v2/query", appended to the base URL's path
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type;  // with a body
  std::string body;
};

struct ApiResponse {
  int status = 0;
  std::string body;
  std::optional<std::string> retry_after;  // the Retry-After header, when there is one
};

// Why no answer came. `message` names the stage and the cause, never a header or the body.
struct ApiFailure {
  bool timeout = false;
  std::string message;
};

class ApiClient {
 public:
  explicit ApiClient(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  // One request on its own connection. Safe to call from several threads at once.
  Result<ApiResponse, ApiFailure> send(const ApiUrl& base, const ApiRequest& request) const;

 private:
  struct Tls;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<Tls> tls_;
};

}  // namespace tbpay
