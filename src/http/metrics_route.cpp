#include "http/metrics_route.h"

#include "observability/prometheus.h"

namespace tbpay::http {

namespace {

HttpReply error(int status, std::string_view message, std::string allow = {}) {
  HttpReply r;
  r.status = status;
  r.body = std::string(R"({"error":")") + std::string(message) + "\"}";
  r.allow = std::move(allow);
  return r;
}

}  // namespace

std::optional<HttpReply> own_route(const WebhookRequest& request, const ServerOptions& options) {
  if (options.metrics && (request.path == "/metrics" || request.path == "/metrics/")) {
    if (request.method != "GET" && request.method != "HEAD")
      return error(405, "method not allowed", "GET, HEAD");
    HttpReply r;
    r.body = options.metrics();
    r.content_type = prometheus::kContentType;
    return r;
  }
  if (!options.webhooks) return error(404, "not found");
  return std::nullopt;
}

}  // namespace tbpay::http
