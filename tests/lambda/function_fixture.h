#pragma once
// A Lambda function (handler + Runtime API loop) in process, on a fresh PostgreSQL database,
// driven through the loopback fake Runtime API. Logs go to a file, EMF lines to memory.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/webhook_fixture.h"  // provider keys and signed callback bodies
#include "crypto/crypto.h"
#include "lambda/fake_runtime_api.h"
#include "lambda/functions.h"
#include "lambda/loop_under_test.h"
#include "observability/metrics.h"
#include "support/test_database.h"
#include "wiring/wiring.h"

namespace tbpay::test {

using nlohmann::json;

// API Gateway REST API (v1) proxy event.
inline json rest_v1_event(const std::string& path, const std::string& body,
                          const std::string& stage = "dev") {
  return json{{"resource", "/webhook/{provider}"},
              {"path", path},
              {"httpMethod", "POST"},
              {"headers", {{"Content-Type", "application/json"}}},
              {"requestContext",
               {{"httpMethod", "POST"},
                {"path", "/" + stage + path},
                {"stage", stage},
                {"requestId", "v1-" + uuid_v4()}}},
              {"body", body},
              {"isBase64Encoded", false}};
}

// HTTP API (v2) event on a named stage: rawPath carries the stage.
inline json http_v2_event(const std::string& path, const std::string& body,
                          const std::string& stage = "dev") {
  return json{{"version", "2.0"},
              {"routeKey", "POST /webhook/{provider}"},
              {"rawPath", "/" + stage + path},
              {"rawQueryString", ""},
              {"headers", {{"content-type", "application/json"}}},
              {"requestContext",
               {{"http", {{"method", "POST"}, {"path", "/" + stage + path}}},
                {"stage", stage},
                {"requestId", "v2-" + uuid_v4()}}},
              {"body", body},
              {"isBase64Encoded", false}};
}

// v1's httpMethod/path next to v2's requestContext.http, as some proxies and tools send.
inline json hybrid_event(const std::string& path, const std::string& body) {
  return json{{"httpMethod", "POST"},
              {"path", path},
              {"requestContext",
               {{"http", {{"method", "POST"}, {"path", path}}}, {"requestId", "h-" + uuid_v4()}}},
              {"body", body},
              {"isBase64Encoded", false}};
}

inline std::string base64(std::string_view bytes) {
  static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) |
                       (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(abc[(v >> s) & 63]);
  }
  if (i < bytes.size()) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out.push_back(abc[(v >> 18) & 63]);
    out.push_back(abc[(v >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? abc[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

// An EventBridge scheduled event, as the rate(...) rules send.
inline std::string scheduled_event() {
  return R"({"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event",
    "source":"aws.events","account":"123456789012","time":"2025-12-13T06:00:00Z",
    "region":"ap-southeast-1","resources":["arn:aws:events:ap-southeast-1:123456789012:rule/x"],
    "detail":{}})";
}

class LambdaFunctionEnv {
 public:
  // A fresh migrated PostgreSQL database; `config` is adjusted (URL, keys, events file).
  explicit LambdaFunctionEnv(lambda::Function function, Config config = {}) {
    db_ = std::make_unique<PgTestDatabase>();
    db_->migrate();
    config.database_url = db_->url();
    build(function, std::move(config));
  }
  // A DATABASE_URL as given (e.g. nobody listening there).
  LambdaFunctionEnv(lambda::Function function, const std::string& database_url) {
    Config config;
    config.database_url = database_url;
    build(function, std::move(config));
  }
  ~LambdaFunctionEnv() {
    loop_.reset();
    api_.reset();
    ctx_.reset();
    std::error_code ec;
    std::filesystem::remove_all(folder_, ec);
  }

  PgTestDatabase& db() { return *db_; }
  Context& ctx() { return *ctx_; }
  testing::FakeRuntimeApi& api() { return *api_; }
  const std::string& events_file() const { return events_file_; }

  // One invocation, start to end: what the runtime posted for it.
  testing::Posted invoke(testing::QueuedEvent event) {
    const std::size_t before = posted_;
    const std::string id = api_->enqueue(std::move(event));
    auto posts = api_->wait_for_posts(before + 1);
    if (posts.size() <= before) throw std::runtime_error("no result posted for " + id);
    posted_ = posts.size();
    if (posts.back().request_id != id) throw std::runtime_error("result for another request");
    return posts.back();
  }
  testing::Posted invoke(const std::string& payload) {
    testing::QueuedEvent e;
    e.payload = payload;
    return invoke(std::move(e));
  }
  // A webhook invocation's proxy response (fails the test on an invocation error).
  json proxy_response(const json& event) {
    const testing::Posted p = invoke(event.dump());
    EXPECT_EQ(p.kind, testing::Posted::Response) << p.body;
    return json::parse(p.body);
  }
  // What serve's code path (WebhookIngestion::handle) answers to the same request.
  HttpReply serve_reply(const std::string& path, const std::string& body) {
    WebhookIngestion direct(*ctx_);
    return direct.handle({"POST", path, body, ""});
  }

  std::vector<json> metric_lines() {
    std::lock_guard lock(metric_mutex_);
    std::vector<json> out;
    for (auto& l : metric_lines_) out.push_back(json::parse(l));
    return out;
  }
  std::vector<std::string> event_lines() {
    std::ifstream in(events_file_);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) lines.push_back(line);
    return lines;
  }

 private:
  void build(lambda::Function function, Config config) {
    folder_ = (std::filesystem::temp_directory_path() / ("tbpay-lambda-" + uuid_v4())).string();
    std::filesystem::create_directories(folder_);
    events_file_ = folder_ + "/events.jsonl";
    config.events_file = events_file_;
    const std::string zalopay_url = config.zalopay.api_url, payos_url = config.payos.api_url;
    config.zalopay = zalopay_keys();
    config.payos = payos_keys();
    config.zalopay.api_url = zalopay_url;  // the reconciler's fakes, when a test gives them
    config.payos.api_url = payos_url;
    ctx_ = make_context(config, Logger(LogLevel::Debug, folder_ + "/log.jsonl"));
    metrics_ = std::make_unique<Metrics>(std::string(lambda::handler_name(function)),
                                         [this](std::string_view line) {
                                           std::lock_guard lock(metric_mutex_);
                                           metric_lines_.emplace_back(line);
                                         });
    api_ = std::make_unique<testing::FakeRuntimeApi>();
    loop_ = std::make_unique<testing::LoopUnderTest>(
        *api_, lambda::make_handler(function, *ctx_, *metrics_));
  }

  std::unique_ptr<PgTestDatabase> db_;
  std::string folder_;
  std::string events_file_;
  std::unique_ptr<Context> ctx_;
  std::mutex metric_mutex_;
  std::vector<std::string> metric_lines_;
  std::unique_ptr<Metrics> metrics_;
  std::unique_ptr<testing::FakeRuntimeApi> api_;
  std::unique_ptr<testing::LoopUnderTest> loop_;
  std::size_t posted_ = 0;
};

}  // namespace tbpay::test
