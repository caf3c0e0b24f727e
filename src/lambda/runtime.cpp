#include "lambda/runtime.h"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <thread>

#include <nlohmann/json.hpp>

#include "lambda/runtime_client.h"

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

// The Runtime API is on loopback; when it stops answering the environment is going away.
constexpr int kNextAttempts = 3;

void log_runtime(const char* level, const std::string& message) {
  const nlohmann::json line{{"level", level}, {"msg", message}, {"component", "lambda-runtime"}};
  std::fprintf(stderr, "%s\n", line.dump().c_str());
}

// The handler's response; one that throws reports an invocation error.
InvocationResponse call_handler(const Handler& handler, const InvocationRequest& inv) {
  try {
    return handler(inv);
  } catch (const std::exception& e) {
    return InvocationResponse::failure("Runtime.UnhandledException", e.what());
  } catch (...) {
    return InvocationResponse::failure("Runtime.UnhandledException", "unknown exception");
  }
}

// The status the Runtime API answered, or what kept it from answering.
std::string what(const RuntimeApiError& e) {
  return e.status != 0 ? std::to_string(e.status) : e.transport;
}

// X-Ray's trace header, in the environment while the handler runs.
void set_trace_id(const std::string& trace_id) {
  if (trace_id.empty()) {
    unsetenv("_X_AMZN_TRACE_ID");
  } else {
    setenv("_X_AMZN_TRACE_ID", trace_id.c_str(), 1);
  }
}

// A response Lambda refuses as too large (413) is reported as an error instead.
Status<RuntimeApiError> post(RuntimeApiClient& api, const std::string& request_id,
                             InvocationResponse out) {
  if (!out.success) return api.post_failure(request_id, out.error_type, out.error_message);
  auto posted = api.post_success(request_id, std::move(out.payload));
  if (!posted && posted.error().status == 413) {
    return api.post_failure(request_id, "Function.ResponseSizeTooLarge", "response too large");
  }
  return posted;
}

}  // namespace

int run_loop(std::string_view runtime_api, const Handler& handler, const AfterPost& after_post) {
  RuntimeApiClient api(runtime_api);
  int failures = 0;
  while (true) {
    auto next = api.next();
    if (!next) {
      const RuntimeApiError& e = next.error();
      log_runtime("error", (e.status != 0 ? "GET /invocation/next answered "
                                          : "GET /invocation/next failed: ") +
                               what(e));
      // A non-2xx answer (e.g. 500 Runtime.StateError) means the runtime must exit.
      if (e.status != 0 || ++failures >= kNextAttempts) return 1;
      std::this_thread::sleep_for(std::chrono::milliseconds(10 * failures));
      continue;
    }
    failures = 0;
    const InvocationRequest& inv = *next;
    set_trace_id(inv.trace_id);
    InvocationResponse out = call_handler(handler, inv);
    // Lambda may freeze the process as soon as the result is posted: logs and EMF lines first.
    std::fflush(stdout);
    std::fflush(stderr);
    if (auto posted = post(api, inv.request_id, std::move(out)); !posted)
      log_runtime("error",
                  "posting the result of " + inv.request_id + " failed: " + what(posted.error()));
    if (after_post) {
      try {
        after_post();
      } catch (const std::exception& e) {
        log_runtime("error", std::string("after the result of ") + inv.request_id + ": " + e.what());
      }
      std::fflush(stdout);
      std::fflush(stderr);
    }
  }
}

bool report_init_error(std::string_view runtime_api, std::string_view error_type,
                       std::string_view error_message) {
  auto posted = RuntimeApiClient(runtime_api).post_init_error(error_type, error_message);
  if (!posted) log_runtime("error", "POST /init/error failed: " + what(posted.error()));
  return posted.ok();
}

}  // namespace tbpay::lambda
