// The webhook function: API Gateway events in, serve's replies out, on PostgreSQL.
#include <gtest/gtest.h>

#include "lambda/function_fixture.h"

namespace tbpay::test {
namespace {

using lambda::Function;
using testing::Posted;

enum class Shape { RestV1, HttpV2, Hybrid, HttpV2Base64 };

json event_in(Shape shape, const std::string& path, const std::string& body) {
  switch (shape) {
    case Shape::RestV1:
      return rest_v1_event(path, body);
    case Shape::HttpV2:
      return http_v2_event(path, body);
    case Shape::Hybrid:
      return hybrid_event(path, body);
    case Shape::HttpV2Base64: {
      json e = http_v2_event(path, base64(body));
      e["isBase64Encoded"] = true;
      return e;
    }
  }
  return {};
}

class WebhookEventShapes : public ::testing::TestWithParam<Shape> {};

TEST_P(WebhookEventShapes, ZaloPayCallbackCompletesThePaymentAndRepliesAsServeDoes) {
  LambdaFunctionEnv env(Function::Webhook);
  insert_payment(env.db(), {.order_code = "TB-LAMBDA-1",
                            .amount_cents = 150000,
                            .provider_transaction_id = zalopay_transaction_id("TB-LAMBDA-1")});
  const std::string body = zalopay_callback(zalopay_transaction_id("TB-LAMBDA-1"), 150000);

  const json first = env.proxy_response(event_in(GetParam(), "/webhook/zalopay", body));
  EXPECT_EQ(first["statusCode"], 200);
  EXPECT_EQ(json::parse(first["body"].get<std::string>())["return_code"], 1);
  EXPECT_EQ(first["headers"]["Content-Type"], "application/json");
  EXPECT_EQ(first["isBase64Encoded"], false);
  EXPECT_EQ(env.db().scalar(R"(SELECT status FROM payments WHERE "orderCode" = 'TB-LAMBDA-1')"),
            "COMPLETED");
  EXPECT_EQ(env.db().count("SELECT COUNT(*) FROM outbox"), 1);

  // A repeat is a duplicate, answered exactly as serve answers the same request.
  const json again = env.proxy_response(event_in(GetParam(), "/webhook/zalopay", body));
  const HttpReply serve = env.serve_reply("/webhook/zalopay", body);
  EXPECT_EQ(again["statusCode"], serve.status);
  EXPECT_EQ(again["body"], serve.body);
  EXPECT_EQ(json::parse(serve.body)["return_code"], 2);
  EXPECT_EQ(env.db().count("SELECT COUNT(*) FROM outbox"), 1);
}

TEST_P(WebhookEventShapes, BadSignatureIsRefusedAsServeRefusesIt) {
  LambdaFunctionEnv env(Function::Webhook);
  insert_payment(env.db(), {.order_code = "TB-LAMBDA-2",
                            .amount_cents = 5000,
                            .provider = Provider::PayOS,
                            .provider_transaction_id = "link-2"});
  std::string body = payos_webhook("link-2", 5000);
  body.replace(body.find("\"signature\":\"") + 13, 4, "0000");

  const json reply = env.proxy_response(event_in(GetParam(), "/webhook/payos", body));
  const HttpReply serve = env.serve_reply("/webhook/payos", body);
  EXPECT_EQ(reply["statusCode"], 401);
  EXPECT_EQ(reply["statusCode"], serve.status);
  EXPECT_EQ(reply["body"], serve.body);
  EXPECT_EQ(env.db().scalar(R"(SELECT status FROM payments WHERE "orderCode" = 'TB-LAMBDA-2')"),
            "PENDING");
}

INSTANTIATE_TEST_SUITE_P(Lambda, WebhookEventShapes,
                         ::testing::Values(Shape::RestV1, Shape::HttpV2, Shape::Hybrid,
                                           Shape::HttpV2Base64),
                         [](const auto& info) {
                           switch (info.param) {
                             case Shape::RestV1:
                               return std::string("RestV1");
                             case Shape::HttpV2:
                               return std::string("HttpV2");
                             case Shape::Hybrid:
                               return std::string("Hybrid");
                             case Shape::HttpV2Base64:
                               return std::string("HttpV2Base64");
                           }
                           return std::string("unknown");
                         });

// The Lambda path refuses what serve refuses, as serve does: on the ZaloPay route with HTTP 200
// and return_code -1, whether junk or a signed app_trans_id holding U+0000 (which would
// otherwise name the payment before the NUL).
TEST_P(WebhookEventShapes, ZaloPayRefusalsAreHttp200AndNulIsNeverCutShort) {
  LambdaFunctionEnv env(Function::Webhook);
  insert_payment(env.db(), {.order_code = "TB-LAMBDA-NUL",
                            .amount_cents = 1000,
                            .provider_transaction_id = zalopay_transaction_id("TB-LAMBDA-NUL")});
  const std::string nul_id = zalopay_transaction_id("TB-LAMBDA-NUL") + std::string(1, '\0') + "EVIL";
  for (const std::string& body :
       {std::string(R"({"data":"{}","type":1})"), std::string("not json"), std::string("[]"),
        std::string(), zalopay_callback(nul_id, 1000)}) {
    const json reply = env.proxy_response(event_in(GetParam(), "/webhook/zalopay", body));
    EXPECT_EQ(reply["statusCode"], 200) << body;
    EXPECT_EQ(json::parse(reply["body"].get<std::string>())["return_code"], -1) << body;
  }
  EXPECT_EQ(env.db().scalar(R"(SELECT status FROM payments WHERE "orderCode" = 'TB-LAMBDA-NUL')"),
            "PENDING");
  EXPECT_EQ(env.db().count("SELECT COUNT(*) FROM outbox"), 0);
}

TEST(WebhookFunction, PayOsBase64WebhookOnTheBareRouteCompletesThePayment) {
  LambdaFunctionEnv env(Function::Webhook);
  insert_payment(env.db(), {.order_code = "TB-LAMBDA-3",
                            .amount_cents = 3000,
                            .provider = Provider::PayOS,
                            .provider_transaction_id = "link-3"});
  json e = http_v2_event("/webhook", base64(payos_webhook("link-3", 3000)));
  e["isBase64Encoded"] = true;
  const json reply = env.proxy_response(e);
  EXPECT_EQ(reply["statusCode"], 200);
  EXPECT_EQ(json::parse(reply["body"].get<std::string>())["error"], 0);
  EXPECT_EQ(env.db().scalar(R"(SELECT status FROM payments WHERE "orderCode" = 'TB-LAMBDA-3')"),
            "COMPLETED");
}

TEST(WebhookFunction, UnknownRouteAndWrongMethodGetServesStatuses) {
  LambdaFunctionEnv env(Function::Webhook);
  const json missing = env.proxy_response(rest_v1_event("/webhook/vnpay", "{}"));
  EXPECT_EQ(missing["statusCode"], env.serve_reply("/webhook/vnpay", "{}").status);
  EXPECT_EQ(missing["statusCode"], 404);

  json get = http_v2_event("/webhook/zalopay", "");
  get["requestContext"]["http"]["method"] = "GET";
  const json wrong_method = env.proxy_response(get);
  EXPECT_EQ(wrong_method["statusCode"], 405);
  EXPECT_EQ(wrong_method["headers"]["Allow"], "POST");
}

TEST(WebhookFunction, AnEventThatIsNotFromApiGatewayIsAnInvocationError) {
  LambdaFunctionEnv env(Function::Webhook);
  const Posted p = env.invoke(scheduled_event());
  EXPECT_EQ(p.kind, Posted::Error);
  EXPECT_EQ(p.error_type_header, "InvalidEvent");
}

TEST(WebhookFunction, EachInvocationWritesItsOutcomeAsEmfByProvider) {
  LambdaFunctionEnv env(Function::Webhook);
  insert_payment(env.db(), {.order_code = "TB-LAMBDA-4",
                            .amount_cents = 150000,
                            .provider_transaction_id = zalopay_transaction_id("TB-LAMBDA-4")});
  env.proxy_response(rest_v1_event(
      "/webhook/zalopay", zalopay_callback(zalopay_transaction_id("TB-LAMBDA-4"), 150000)));
  const auto lines = env.metric_lines();
  ASSERT_FALSE(lines.empty());  // flushed by the invocation itself
  bool zalopay_line = false;
  for (const json& l : lines) {
    ASSERT_TRUE(l.contains("_aws")) << l.dump();
    EXPECT_EQ(l["Function"], "webhook");
    if (l.value("Provider", "") == "ZALOPAY") zalopay_line = true;
  }
  EXPECT_TRUE(zalopay_line);
}

TEST(WebhookFunction, OneDatabaseConnectionServesManyInvocationsAndComesBackAfterARestart) {
  LambdaFunctionEnv env(Function::Webhook);
  const std::string sessions =
      "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = '" + env.db().name() + "'";
  auto complete = [&](const std::string& order_code) {
    insert_payment(env.db(), {.order_code = order_code,
                              .amount_cents = 1000,
                              .provider_transaction_id = zalopay_transaction_id(order_code)});
    const json reply = env.proxy_response(http_v2_event(
        "/webhook/zalopay", zalopay_callback(zalopay_transaction_id(order_code), 1000)));
    return json::parse(reply["body"].get<std::string>())["return_code"].get<int>();
  };

  ASSERT_EQ(complete("TB-REUSE-0"), 1);
  const auto after_first = env.db().admin_query(sessions);
  for (int i = 1; i <= 4; ++i) ASSERT_EQ(complete("TB-REUSE-" + std::to_string(i)), 1);
  // The test's own helper session is on this database too; the count must not grow.
  EXPECT_EQ(env.db().admin_query(sessions), after_first);

  // As a database restart would: every session ends. The next invocation reconnects.
  ASSERT_GT(env.db().terminate_connections(), 0);
  EXPECT_EQ(complete("TB-AFTER-RESTART"), 1);
  EXPECT_EQ(
      env.db().scalar(R"(SELECT status FROM payments WHERE "orderCode" = 'TB-AFTER-RESTART')"),
      "COMPLETED");
}

TEST(WebhookFunction, UnreachableDatabaseIsATemporaryFailureNotACrash) {
  // Nobody listens on port 1: the function starts and answers ZaloPay "try again".
  LambdaFunctionEnv env(Function::Webhook,
                        std::string("postgresql://postgres@127.0.0.1:1/tbpay?connect_timeout=2"));
  const json reply = env.proxy_response(
      rest_v1_event("/webhook/zalopay", zalopay_callback(zalopay_transaction_id("TB-X"), 1000)));
  EXPECT_EQ(reply["statusCode"], 200);
  EXPECT_EQ(json::parse(reply["body"].get<std::string>())["return_code"], 0);
}

}  // namespace
}  // namespace tbpay::test
