#include "lambda/functions.h"

#include <time.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

#include <nlohmann/json.hpp>

#include "app/cleanup.h"
#include "app/lookup_index.h"
#include "app/reconcile.h"
#include "app/relay.h"
#include "app/webhook.h"
#include "core/time.h"
#include "lambda/api_gateway.h"
#include "observability/metrics.h"
#include "wiring/wiring.h"

namespace tbpay::lambda {

namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr std::array<std::string_view, 4> kHandlerNames{"webhook", "outbox-processor",
                                                        "outbox-cleanup", "reconciler"};

// The reconciler's EventBridge schedule (rate(5 minutes) in the templates): payments that aged
// out of the window since the previous invocation are reported once.
constexpr auto kReconcilerSchedule = std::chrono::minutes(5);

// Time since the process was exec'd (the loader and static initialisers included), for the
// InitDuration metric. /proc gives clock ticks since boot; CLOCK_BOOTTIME is the same clock.
std::optional<double> process_age_ms() {
  std::ifstream stat("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');  // the command name may hold spaces
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  // Field 22 is starttime; fields 1-2 (pid, comm) were before the ')'.
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i != 22) continue;
    const double ticks = std::stod(field);
    timespec boot{};
    clock_gettime(CLOCK_BOOTTIME, &boot);
    const double now_ms =
        static_cast<double>(boot.tv_sec) * 1e3 + static_cast<double>(boot.tv_nsec) / 1e6;
    return now_ms - ticks * 1e3 / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  return std::nullopt;
}

std::string scheduled_reply(const json& result) {
  return json{{"statusCode", 200}, {"body", result.dump()}}.dump();
}

Handler webhook_handler(Context& ctx, Metrics& metrics) {
  auto ingestion = std::make_shared<WebhookIngestion>(ctx, metrics);
  return [ingestion, &metrics](const InvocationRequest& inv) {
    auto request = to_webhook_request(inv.payload, inv.request_id);
    if (!request) return InvocationResponse::failure("InvalidEvent", request.error());
    const HttpReply reply = ingestion->handle(*request);
    metrics.flush();
    return InvocationResponse::ok(to_proxy_response(reply));
  };
}

Handler processor_handler(Context& ctx, Metrics& metrics) {
  auto relay = std::make_shared<OutboxRelay>(ctx, metrics);
  return [relay, &metrics](const InvocationRequest& inv) {
    const RelayReport report = relay->drain(drain_deadline(inv.deadline));
    // The backlog left after the drain (oldest pending age, dead events).
    if (!report.store_error) relay->record_backlog();
    metrics.flush();
    const json result = to_json(report);
    // A run that could not reach the database or Kafka is a failed invocation, so that
    // Lambda's Errors metric (and the consecutive-failures alarm) sees it.
    if (report.store_error) return InvocationResponse::failure("OutboxUnavailable", result.dump());
    if (report.publisher_stalled) {
      return InvocationResponse::failure("PublisherUnavailable", result.dump());
    }
    return InvocationResponse::ok(scheduled_reply(result));
  };
}

Handler cleanup_handler(Context& ctx, Metrics& metrics) {
  auto cleanup = std::make_shared<OutboxCleanup>(ctx, metrics);
  return [cleanup, &metrics](const InvocationRequest&) {
    const CleanupReport report = cleanup->run(now_utc());
    metrics.flush();
    const json result = to_json(report);
    if (report.store_error) return InvocationResponse::failure("OutboxUnavailable", result.dump());
    return InvocationResponse::ok(scheduled_reply(result));
  };
}

Handler reconciler_handler(Context& ctx, Metrics& metrics) {
  auto reconciler = std::make_shared<Reconciler>(ctx, &metrics);
  return [reconciler, &ctx, &metrics](const InvocationRequest& inv) {
    auto options = ReconcileOptions::from(ctx.config.reconcile);
    options.every = kReconcilerSchedule;
    options.deadline = drain_deadline(inv.deadline);
    const ReconcileReport report = reconciler->run(options);
    metrics.flush();
    const json result = to_json(report);
    if (report.store_error)
      return InvocationResponse::failure("PaymentsUnavailable", result.dump());
    return InvocationResponse::ok(scheduled_reply(result));
  };
}

std::string valid_handlers() {
  std::string names;
  for (auto n : kHandlerNames) names += (names.empty() ? "" : ", ") + std::string(n);
  return names;
}

}  // namespace

std::span<const std::string_view> handler_names() { return kHandlerNames; }

std::string_view handler_name(Function f) { return kHandlerNames[static_cast<std::size_t>(f)]; }

std::optional<Function> function_for_handler(std::string_view handler) {
  // Node.js-era names: the function's folder, alone or as "<folder>/index.handler".
  if (handler.ends_with("/index.handler"))
    handler.remove_suffix(std::string_view("/index.handler").size());
  if (handler == "payment-webhook-handler") return Function::Webhook;
  for (std::size_t i = 0; i < kHandlerNames.size(); ++i) {
    if (handler == kHandlerNames[i]) return static_cast<Function>(i);
  }
  return std::nullopt;
}

std::chrono::steady_clock::time_point drain_deadline(
    std::chrono::system_clock::time_point invocation_deadline,
    std::chrono::system_clock::time_point now, std::chrono::steady_clock::time_point steady_now) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(invocation_deadline - now);
  if (left <= 0ms) return steady_now;
  auto margin = std::max<std::chrono::milliseconds>(left / 10, 2000ms);
  margin = std::min<std::chrono::milliseconds>(margin, left / 2);
  return steady_now + (left - margin);
}

Handler make_handler(Function f, Context& ctx, Metrics& metrics) {
  switch (f) {
    case Function::Webhook:
      return webhook_handler(ctx, metrics);
    case Function::OutboxProcessor:
      return processor_handler(ctx, metrics);
    case Function::OutboxCleanup:
      return cleanup_handler(ctx, metrics);
    case Function::Reconciler:
      return reconciler_handler(ctx, metrics);
  }
  throw std::logic_error("unknown lambda function");
}

int run_function(std::string_view handler, std::string_view runtime_api) {
  const auto function = function_for_handler(handler);
  if (!function) {
    const std::string message = "unknown handler '" + std::string(handler) +
                                "': the function's handler must be one of " + valid_handlers();
    std::fprintf(stderr, "tbpay: %s\n", message.c_str());
    report_init_error(runtime_api, "Runtime.InvalidHandler", message);
    return 2;
  }
  std::unique_ptr<Context> ctx;
  try {
    ctx = make_context_from_env();  // does not connect: an absent database is not fatal here
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tbpay: %s\n", e.what());
    report_init_error(runtime_api, "Runtime.ConfigError", e.what());
    return 2;
  }
  // The Function dimension is the deployed function's name (one per environment), so that
  // alarms of dev and prod in one account do not mix; the handler name outside Lambda.
  const char* deployed = std::getenv("AWS_LAMBDA_FUNCTION_NAME");
  Metrics metrics(deployed && *deployed ? std::string(deployed)
                                        : std::string(handler_name(*function)));
  Handler handler_fn = make_handler(*function, *ctx, metrics);
  // Cold start as seen from inside: exec to ready; written with the first invocation's metrics.
  if (auto age = process_age_ms()) metrics.gauge("InitDuration", *age, MetricUnit::Milliseconds);
  ctx->log.info("lambda runtime ready", {{"handler", handler_name(*function)}});
  // The start-up check of the lookup index, once per execution environment, after the first
  // result is posted: on the connection that invocation opened, and not on the path of the
  // callback that caused the cold start (the query on a new session costs about as much as
  // the rest of the init together).
  bool checked = false;
  return run_loop(runtime_api, handler_fn, [&ctx, &checked] {
    if (checked) return;
    checked = true;
    alert_if_payos_lookup_unindexed(*ctx);
  });
}

}  // namespace tbpay::lambda
