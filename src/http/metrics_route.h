#pragma once
// The routes the server answers itself rather than handing to WebhookIngestion: GET /metrics.
#include <optional>

#include "app/webhook.h"
#include "http/server.h"

namespace tbpay::http {

// The reply for `request` when this listener answers it itself: /metrics (GET and HEAD; 405
// otherwise) when `options.metrics` is set, and 404 for every other path on a metrics-only
// listener. nullopt: a request for WebhookIngestion::handle().
std::optional<HttpReply> own_route(const WebhookRequest& request, const ServerOptions& options);

}  // namespace tbpay::http
