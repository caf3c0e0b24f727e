#include "lambda/runtime.h"

#include <curl/curl.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <memory>
#include <thread>

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

size_t collect_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t collect_header(char* data, size_t size, size_t n, void* out) {
  std::string_view line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name = lower(std::string(line.substr(0, colon)));
    auto value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.remove_suffix(1);
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = std::string(value);
  }
  return size * n;
}

// One easy handle for the life of the process, so the connection to the Runtime API is kept.
class RuntimeClient {
 public:
  explicit RuntimeClient(std::string_view runtime_api)
      : base_("http://" + std::string(runtime_api) + kApiVersion) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    curl_.reset(curl_easy_init());
    if (!curl_) throw std::runtime_error("curl_easy_init failed");
  }

  HttpResult get(const std::string& path) { return perform(path, nullptr, {}); }

  HttpResult post(const std::string& path, const std::string& body,
                  const std::string& error_type = {}) {
    return perform(path, &body, error_type);
  }

 private:
  HttpResult perform(const std::string& path, const std::string* body,
                     const std::string& error_type) {
    HttpResult result;
    CURL* c = curl_.get();
    curl_easy_reset(c);  // keeps the live connection
    const std::string url = base_ + path;
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    // No overall timeout: GET /next is a long poll that lasts until the next invocation.
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 0L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &result.body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &result.headers);
    struct curl_slist* headers = nullptr;
    if (body) {
      curl_easy_setopt(c, CURLOPT_POST, 1L);
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
      headers = curl_slist_append(headers, "Content-Type: application/json");
      headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
      if (!error_type.empty()) {
        const std::string h = "Lambda-Runtime-Function-Error-Type: " + error_type;
        headers = curl_slist_append(headers, h.c_str());
      }
      curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    }
    const CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
      result.transport_error = curl_easy_strerror(rc);
      return result;
    }
    result.transport_ok = true;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &result.status);
    return result;
  }

  struct CurlDeleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
  };
  std::string base_;
  std::unique_ptr<CURL, CurlDeleter> curl_;
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
