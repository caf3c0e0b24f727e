// API Gateway events become the request `serve` would have seen; replies become proxy responses.
#include "lambda/api_gateway.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tbpay::lambda {
namespace {

using nlohmann::json;

const std::string kZaloPayBody = R"({"data":"{\"app_id\":2553}","mac":"ab12","type":1})";

json rest_v1_event() {
  return json{{"resource", "/webhook/{provider}"},
              {"path", "/webhook/zalopay"},
              {"httpMethod", "POST"},
              {"headers", {{"Content-Type", "application/json"}}},
              {"queryStringParameters", nullptr},
              {"pathParameters", {{"provider", "zalopay"}}},
              {"requestContext",
               {{"resourcePath", "/webhook/{provider}"},
                {"httpMethod", "POST"},
                {"path", "/dev/webhook/zalopay"},
                {"stage", "dev"},
                {"requestId", "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"}}},
              {"body", kZaloPayBody},
              {"isBase64Encoded", false}};
}

json http_v2_event() {
  return json{{"version", "2.0"},
              {"routeKey", "POST /webhook/{provider}"},
              {"rawPath", "/dev/webhook/payos"},
              {"rawQueryString", "a=1"},
              {"headers", {{"content-type", "application/json"}}},
              {"requestContext",
               {{"http", {{"method", "POST"}, {"path", "/dev/webhook/payos"}}},
                {"requestId", "JKJaXmPLvHcESHA="},
                {"stage", "dev"}}},
              {"body", R"({"code":"00"})"},
              {"isBase64Encoded", false}};
}

TEST(ApiGatewayEvent, RestV1EventBecomesThePostServeWouldSee) {
  auto req = to_webhook_request(rest_v1_event().dump(), "invocation-1");
  ASSERT_TRUE(req) << req.error();
  EXPECT_EQ(req->method, "POST");
  EXPECT_EQ(req->path, "/webhook/zalopay");
  EXPECT_EQ(req->body, kZaloPayBody);
  EXPECT_EQ(req->request_id, "c6af9ac6-7b61-11e6-9a41-93e8deadbeef");
}

TEST(ApiGatewayEvent, HttpApiV2EventWithStageInRawPathRoutesWithoutTheStage) {
  auto req = to_webhook_request(http_v2_event().dump(), "invocation-1");
  ASSERT_TRUE(req) << req.error();
  EXPECT_EQ(req->method, "POST");
  EXPECT_EQ(req->path, "/webhook/payos");
  EXPECT_EQ(req->body, R"({"code":"00"})");
  EXPECT_EQ(req->request_id, "JKJaXmPLvHcESHA=");
}

TEST(ApiGatewayEvent, DefaultStageLeavesThePathAlone) {
  json e = http_v2_event();
  e["rawPath"] = "/webhook/payos";
  e["requestContext"]["stage"] = "$default";
  auto req = to_webhook_request(e.dump(), "i");
  ASSERT_TRUE(req);
  EXPECT_EQ(req->path, "/webhook/payos");
}

TEST(ApiGatewayEvent, StageIsRemovedOnlyAsAWholeFirstPathSegment) {
  json e = http_v2_event();
  e["rawPath"] = "/webhook/payos";
  e["requestContext"]["stage"] = "webhook";  // a stage named like the route's first segment
  auto req = to_webhook_request(e.dump(), "i");
  ASSERT_TRUE(req);
  EXPECT_EQ(req->path, "/payos");  // the stage prefix rule applies: /webhook is the stage
  e["requestContext"]["stage"] = "web";
  req = to_webhook_request(e.dump(), "i");
  ASSERT_TRUE(req);
  EXPECT_EQ(req->path, "/webhook/payos");
}

TEST(ApiGatewayEvent, HybridEventWithHttpMethodNextToRequestContextHttpIsAccepted) {
  json e = http_v2_event();
  e.erase("rawPath");
  e["httpMethod"] = "POST";
  e["path"] = "/webhook/zalo-pay";
  e["requestContext"]["stage"] = "$default";
  auto req = to_webhook_request(e.dump(), "i");
  ASSERT_TRUE(req) << req.error();
  EXPECT_EQ(req->method, "POST");
  EXPECT_EQ(req->path, "/webhook/zalo-pay");
}

TEST(ApiGatewayEvent, V2EventWithOnlyRequestContextHttpIsAccepted) {
  json e = http_v2_event();
  e.erase("rawPath");
  auto req = to_webhook_request(e.dump(), "i");
  ASSERT_TRUE(req) << req.error();
  EXPECT_EQ(req->path, "/webhook/payos");
}

TEST(ApiGatewayEvent, Base64BodyIsDecodedToTheExactBytesTheProviderSent) {
  json e = rest_v1_event();
  // base64 of kZaloPayBody
  e["body"] = "eyJkYXRhIjoie1wiYXBwX2lkXCI6MjU1M30iLCJtYWMiOiJhYjEyIiwidHlwZSI6MX0=";
  e["isBase64Encoded"] = true;
  auto req = to_webhook_request(e.dump(), "i");
  ASSERT_TRUE(req) << req.error();
  EXPECT_EQ(req->body, kZaloPayBody);
}

TEST(ApiGatewayEvent, InvalidBase64BodyIsRefused) {
  json e = rest_v1_event();
  e["body"] = "not*base64!";
  e["isBase64Encoded"] = true;
  EXPECT_FALSE(to_webhook_request(e.dump(), "i"));
}

TEST(ApiGatewayEvent, MissingBodyIsEmptyAndMissingRequestIdFallsBackToTheInvocation) {
  json e = rest_v1_event();
  e["body"] = nullptr;
  e["requestContext"].erase("requestId");
  auto req = to_webhook_request(e.dump(), "invocation-7");
  ASSERT_TRUE(req);
  EXPECT_EQ(req->body, "");
  EXPECT_EQ(req->request_id, "invocation-7");
}

TEST(ApiGatewayEvent, ScheduledEventIsNotAWebhook) {
  const std::string scheduled = R"({"version":"0","id":"x","detail-type":"Scheduled Event",
    "source":"aws.events","time":"2025-12-13T06:00:00Z","resources":[],"detail":{}})";
  auto req = to_webhook_request(scheduled, "i");
  ASSERT_FALSE(req);
  EXPECT_NE(req.error().find("API Gateway"), std::string::npos);
  EXPECT_FALSE(to_webhook_request("not json", "i"));
}

TEST(ProxyResponse, CarriesServesStatusAndBodyAsPlainText) {
  HttpReply reply;
  reply.status = 401;
  reply.body = R"({"error":-1,"message":"invalid signature","data":null})";
  const json r = json::parse(to_proxy_response(reply));
  EXPECT_EQ(r["statusCode"], 401);
  EXPECT_EQ(r["body"], reply.body);
  EXPECT_EQ(r["headers"]["Content-Type"], "application/json");
  EXPECT_EQ(r["isBase64Encoded"], false);
  EXPECT_FALSE(r["headers"].contains("Allow"));
}

TEST(ProxyResponse, MethodNotAllowedCarriesAllow) {
  HttpReply reply;
  reply.status = 405;
  reply.allow = "POST";
  const json r = json::parse(to_proxy_response(reply));
  EXPECT_EQ(r["headers"]["Allow"], "POST");
}

TEST(Base64, DecodesWithAndWithoutPadding) {
  EXPECT_EQ(decode_base64("aGVsbG8="), "hello");
  EXPECT_EQ(decode_base64("aGVsbG8"), "hello");
  EXPECT_EQ(decode_base64("aGk="), "hi");
  EXPECT_EQ(decode_base64(""), "");
  EXPECT_FALSE(decode_base64("a$=="));
}

}  // namespace
}  // namespace tbpay::lambda
