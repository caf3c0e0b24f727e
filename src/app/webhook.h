#pragma once
// Webhook ingestion: a provider callback in, a committed transition and the provider's reply
// out. Knows nothing of Beast or Lambda: serve and the Lambda runtime both call handle().
#include <string>
#include <string_view>

#include "providers/provider.h"

namespace tbpay {

struct Context;
class Metrics;
class ServeMetrics;

// An HTTP request as a runtime received it (serve: Beast; Lambda: API Gateway event).
struct WebhookRequest {
  std::string method;  // "POST"
  std::string path;    // "/webhook/zalopay"; query string already removed
  std::string body;
  std::string request_id;  // for logs; generated when empty
};

struct HttpReply {
  int status = 200;
  std::string body;  // JSON
  std::string content_type = "application/json";
  std::string allow;  // with 405: the methods the path accepts ("POST"), for an Allow header
};

class WebhookIngestion {
 public:
  explicit WebhookIngestion(Context& ctx);
  // Counts outcomes in `metrics` (WebhookProcessed, WebhookRejected, ... by Provider) and,
  // when given, in `exposed` (`serve`'s /metrics).
  WebhookIngestion(Context& ctx, Metrics& metrics, ServeMetrics* exposed = nullptr);

  // Routing included: /webhook/{zalopay,zalo-pay,payos,pay-os}, /webhook (provider by body
  // shape), /healthz, /readyz; 404 for other paths, 405 for other methods.
  HttpReply handle(const WebhookRequest& request);

  // One callback for a known provider: verify, transition, reply.
  HttpReply ingest(Provider provider, std::string_view body, std::string_view request_id);

 private:
  Context& ctx_;
  Metrics* metrics_ = nullptr;
  ServeMetrics* exposed_ = nullptr;
};

// Names in log lines and metric labels: "processed", "unknown_payment", "bad_signature", ...
std::string_view outcome_name(IngestOutcome o);
std::string_view rejection_name(CallbackRejection r);

}  // namespace tbpay
