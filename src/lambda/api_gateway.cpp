#include "lambda/api_gateway.h"

#include <openssl/evp.h>

#include <optional>

#include <nlohmann/json.hpp>

namespace tbpay::lambda {

namespace {

using nlohmann::json;

std::string string_at(const json& j, std::initializer_list<const char*> path) {
  const json* at = &j;
  for (const char* key : path) {
    if (!at->is_object()) return {};
    auto it = at->find(key);
    if (it == at->end()) return {};
    at = &*it;
  }
  return at->is_string() ? at->get<std::string>() : std::string();
}

std::string strip_stage(std::string path, const std::string& stage) {
  if (stage.empty() || stage == "$default") return path;
  const std::string prefix = "/" + stage;
  if (path == prefix) return "/";
  if (path.starts_with(prefix + "/")) return path.substr(prefix.size());
  return path;
}

}  // namespace

std::optional<std::string> decode_base64(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (c != '\n' && c != '\r') clean.push_back(c);
  }
  while (clean.size() % 4 != 0) clean.push_back('=');
  std::string out(clean.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(clean.data()),
                                static_cast<int>(clean.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the bytes that padding stands for; drop them.
  std::size_t size = static_cast<std::size_t>(n);
  for (auto it = clean.rbegin(); it != clean.rend() && *it == '=' && size > 0; ++it) --size;
  out.resize(size);
  return out;
}

Result<WebhookRequest, std::string> to_webhook_request(std::string_view event_json,
                                                       std::string_view invocation_id) {
  const json event = json::parse(event_json, nullptr, /*allow_exceptions=*/false);
  if (!event.is_object()) return std::string("the event is not a JSON object");

  WebhookRequest request;
  request.method = string_at(event, {"httpMethod"});
  if (request.method.empty())
    request.method = string_at(event, {"requestContext", "http", "method"});
  if (request.method.empty()) request.method = string_at(event, {"requestContext", "httpMethod"});

  std::string path = string_at(event, {"rawPath"});
  if (path.empty()) path = string_at(event, {"path"});
  if (path.empty()) path = string_at(event, {"requestContext", "http", "path"});
  if (path.empty()) path = string_at(event, {"requestContext", "path"});

  // Without its query string: a "path" of only "?..." is no path at all.
  if (auto q = path.find('?'); q != std::string::npos) path.resize(q);
  if (request.method.empty() || path.empty()) {
    return std::string("not an API Gateway proxy event (no HTTP method or path)");
  }
  request.path = strip_stage(std::move(path), string_at(event, {"requestContext", "stage"}));

  if (auto body = event.find("body"); body != event.end() && body->is_string()) {
    request.body = body->get<std::string>();
    auto b64 = event.find("isBase64Encoded");
    if (b64 != event.end() && b64->is_boolean() && b64->get<bool>()) {
      auto decoded = decode_base64(request.body);
      if (!decoded) return std::string("isBase64Encoded is true but the body is not base64");
      request.body = std::move(*decoded);
    }
  }

  request.request_id = string_at(event, {"requestContext", "requestId"});
  if (request.request_id.empty()) request.request_id = std::string(invocation_id);
  return request;
}

std::string to_proxy_response(const HttpReply& reply) {
  json headers{{"Content-Type", reply.content_type}};
  if (!reply.allow.empty()) headers["Allow"] = reply.allow;
  const json response{{"statusCode", reply.status},
                      {"headers", std::move(headers)},
                      {"body", reply.body},
                      {"isBase64Encoded", false}};
  return response.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace tbpay::lambda
