#pragma once
// API Gateway proxy events in, proxy responses out: REST API (v1) and HTTP API (v2) payloads,
// and hybrids that carry v1's httpMethod/path next to v2's requestContext.http.
#include <optional>
#include <string>
#include <string_view>

#include "app/webhook.h"
#include "core/result.h"

namespace tbpay::lambda {

// The request as `serve` would have received it. A stage prefix (/dev/webhook/zalopay with
// requestContext.stage "dev") is removed; base64 bodies are decoded. `invocation_id` is the
// request id when the event carries none. An error names what is missing or malformed.
Result<WebhookRequest, std::string> to_webhook_request(std::string_view event_json,
                                                       std::string_view invocation_id);

// {"statusCode", "headers", "body", "isBase64Encoded": false} with serve's status and body.
std::string to_proxy_response(const HttpReply& reply);

// Standard base64 (with or without padding); nullopt when it is not base64.
std::optional<std::string> decode_base64(std::string_view text);

}  // namespace tbpay::lambda
