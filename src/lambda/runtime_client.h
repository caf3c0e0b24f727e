#pragma once
// The client of Lambda's Runtime API (version 2018-06-01): the calls a runtime makes, each
// answering a typed outcome, as aws-lambda-cpp's `runtime` class does. The loop that uses it
// is run_loop() (lambda/runtime.h).
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "lambda/runtime.h"

namespace tbpay::lambda {

// Why a call to the Runtime API did not succeed.
struct RuntimeApiError {
  int status = 0;         // the HTTP status the Runtime API answered (not 2xx); 0: no answer
  std::string transport;  // with no answer: what failed (connect, write, read)
};

// One keep-alive connection to the Runtime API for the life of the process, over a blocking
// socket: the Runtime API is one loopback peer (libcurl brought a dozen shared libraries whose
// symbol binding dominated cold start). A kept connection the Runtime API closed in the
// meantime is reopened, and the request sent again, when no byte of the answer had arrived.
class RuntimeApiClient {
 public:
  explicit RuntimeApiClient(std::string_view runtime_api);  // host:port (AWS_LAMBDA_RUNTIME_API)
  ~RuntimeApiClient();
  RuntimeApiClient(const RuntimeApiClient&) = delete;
  RuntimeApiClient& operator=(const RuntimeApiClient&) = delete;

  // GET /runtime/invocation/next: waits for the next event and its headers.
  Result<InvocationRequest, RuntimeApiError> next();
  // POST /runtime/invocation/{id}/response. Lambda answers 413 to a payload over its limit.
  Status<RuntimeApiError> post_success(std::string_view request_id, std::string payload);
  // POST /runtime/invocation/{id}/error, with Lambda-Runtime-Function-Error-Type.
  Status<RuntimeApiError> post_failure(std::string_view request_id, std::string_view error_type,
                                       std::string_view error_message);
  // POST /runtime/init/error: start-up failed; the process then exits.
  Status<RuntimeApiError> post_init_error(std::string_view error_type,
                                          std::string_view error_message);

 private:
  struct Connection;  // runtime_client.cpp: Beast stays out of this header
  std::unique_ptr<Connection> connection_;
};

}  // namespace tbpay::lambda
