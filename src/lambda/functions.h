#pragma once
// The three functions one package serves, told apart by the function's handler setting
// (_HANDLER): webhook, outbox-processor, outbox-cleanup, reconciler.
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "lambda/runtime.h"

namespace tbpay {
struct Context;
class Metrics;
}  // namespace tbpay

namespace tbpay::lambda {

enum class Function { Webhook, OutboxProcessor, OutboxCleanup, Reconciler };

// The handler names the binary accepts, as the templates write them.
std::span<const std::string_view> handler_names();
// Also accepts the Node.js deployment's per-function names ("payment-webhook-handler",
// "outbox-processor/index.handler"); nullopt for anything else.
std::optional<Function> function_for_handler(std::string_view handler);
std::string_view handler_name(Function f);

// The drain of one processor invocation ends this long before Lambda's deadline: 10% of the
// time left, at least 2 s (and never more than half of what is left), so the reply gets out.
std::chrono::steady_clock::time_point drain_deadline(
    std::chrono::system_clock::time_point invocation_deadline,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now(),
    std::chrono::steady_clock::time_point steady_now = std::chrono::steady_clock::now());

// The handler for `f`, using `ctx` (built once per container) and counting into `metrics`;
// both must outlive the handler. Metrics are flushed as EMF lines once per invocation.
Handler make_handler(Function f, Context& ctx, Metrics& metrics);

// `tbpay lambda`: builds the context from the environment, picks the handler and runs the
// Runtime API loop. Bad configuration or an unknown handler is reported to /init/error.
int run_function(std::string_view handler, std::string_view runtime_api);

}  // namespace tbpay::lambda
