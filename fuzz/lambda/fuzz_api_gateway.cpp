// The Lambda webhook function on arbitrary API Gateway events: the exact handler `tbpay lambda`
// runs (event -> WebhookRequest -> WebhookIngestion on SQLite -> proxy response), plus the
// base64 decoder on the same bytes.
//
// Invariants: an event the translator accepts names a method and a path without a query; the
// reply is a proxy response whose statusCode is a documented status and whose body is JSON;
// an event it refuses is an InvalidEvent error, never an exception; base64 round-trips.
#include <openssl/evp.h>

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "lambda/api_gateway.h"
#include "lambda/functions.h"
#include "support/ingestion_env.h"

namespace {

using tbpay::fuzzing::check;

struct Function {
  tbpay::fuzzing::IngestionEnv env;
  tbpay::lambda::Handler handler =
      tbpay::lambda::make_handler(tbpay::lambda::Function::Webhook, *env.ctx, *env.metrics);
};

Function& function() {
  static Function* f = new Function();
  return *f;
}

std::string encode_base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

void base64(std::string_view bytes) {
  const auto decoded = tbpay::lambda::decode_base64(encode_base64(bytes));
  check(decoded && *decoded == bytes, "base64 of any bytes decodes back to them");
  if (const auto any = tbpay::lambda::decode_base64(bytes)) {
    check(any->size() <= bytes.size(), "decoding never grows the text");
    const auto again = tbpay::lambda::decode_base64(encode_base64(*any));
    check(again && *again == *any, "decoded bytes round-trip");
  }
}

void event(std::string_view text) {
  const auto request = tbpay::lambda::to_webhook_request(text, "fuzz-invocation");
  if (request) {
    check(!request->method.empty(), "an accepted event has a method");
    check(!request->path.empty(), "an accepted event has a path");
    check(request->path.find('?') == std::string::npos, "the query string is removed");
    check(!request->request_id.empty(), "a request id, from the event or the invocation");
  }
  tbpay::lambda::InvocationRequest inv;
  inv.payload = std::string(text);
  inv.request_id = "fuzz-invocation";
  const auto response = function().handler(inv);
  if (!request) {
    check(!response.success && response.error_type == "InvalidEvent",
          "refused events are InvalidEvent");
    return;
  }
  check(response.success, "an accepted event gets a proxy response");
  const auto proxy = nlohmann::json::parse(response.payload, nullptr, false);
  check(
      proxy.is_object() && proxy.contains("statusCode") && proxy["statusCode"].is_number_integer(),
      "the proxy response has a statusCode");
  check(tbpay::fuzzing::documented_status(proxy["statusCode"].get<int>()), "a documented status");
  check(proxy.contains("body") && proxy["body"].is_string() &&
            nlohmann::json::accept(proxy["body"].get<std::string>()),
        "the body is JSON");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  base64(text);
  event(text);
  return 0;
}
