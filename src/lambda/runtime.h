#pragma once
// The Lambda Runtime API loop (version 2018-06-01), as in aws-lambda-cpp: plain value types in
// and out, one function that runs the loop over the Runtime API's client
// (lambda/runtime_client.h). Handlers never see HTTP or the Runtime API.
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace tbpay::lambda {

struct InvocationRequest {
  std::string payload;  // the event, as JSON text
  std::string request_id;
  std::chrono::system_clock::time_point deadline;  // Lambda-Runtime-Deadline-Ms
  std::string function_arn;
  std::string trace_id;  // also in env _X_AMZN_TRACE_ID while the handler runs

  std::chrono::milliseconds remaining(
      std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) const;
};

struct InvocationResponse {
  std::string payload;  // JSON text on success
  bool success = true;
  std::string error_type;  // on failure: errorType and Lambda-Runtime-Function-Error-Type
  std::string error_message;

  static InvocationResponse ok(std::string payload);
  static InvocationResponse failure(std::string error_type, std::string error_message);
};

using Handler = std::function<InvocationResponse(const InvocationRequest&)>;

// Work for after an invocation's result is posted and before the next GET /invocation/next:
// the invoker has its answer, and Lambda freezes the environment only at that next request.
using AfterPost = std::function<void()>;

// Fetches invocations from `runtime_api` (host:port, AWS_LAMBDA_RUNTIME_API) and posts the
// handler's response or error, until the Runtime API cannot be reached any more (Lambda
// freezes or kills the process instead; tests close their fake). Returns the exit code.
// A handler that throws reports an invocation error; the loop goes on. `after_post`, when
// given, runs after each post (whether the post succeeded or not); what it writes to stdout
// and stderr is flushed before the next request.
int run_loop(std::string_view runtime_api, const Handler& handler,
             const AfterPost& after_post = {});

// POST /runtime/init/error: start-up failed (bad configuration). The caller then exits.
bool report_init_error(std::string_view runtime_api, std::string_view error_type,
                       std::string_view error_message);

}  // namespace tbpay::lambda
