// Webhook ingestion as a whole: routing, unconfigured providers, an unreachable database,
// concurrent duplicates, log lines and metrics. On SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "app/webhook_fixture.h"

namespace tbpay::test {
namespace {

using nlohmann::json;

class Webhook : public ::testing::TestWithParam<Engine> {
 protected:
  WebhookEnv env{GetParam()};
};

TEST_P(Webhook, PlainWebhookPathTellsProviderByBodyShape) {
  const Payment zp = env.create_zalopay("TB-SHAPE-ZP", 1000);
  env.create_payos("TB-SHAPE-PO", 2000, "link-shape");

  HttpReply r1 = env.post("/webhook", zalopay_callback(zp.provider_transaction_id, 1000));
  EXPECT_EQ(body_of(r1)["return_code"], 1);
  HttpReply r2 = env.post("/webhook", payos_webhook("link-shape", 2000));
  EXPECT_EQ(body_of(r2)["error"], 0);
  EXPECT_EQ(env.payment("TB-SHAPE-ZP").status, PaymentStatus::Completed);
  EXPECT_EQ(env.payment("TB-SHAPE-PO").status, PaymentStatus::Completed);
}

TEST_P(Webhook, PlainWebhookPathRefusesUnknownShapesAndBadJson) {
  HttpReply shape = env.post("/webhook", R"({"hello":"world"})");
  EXPECT_EQ(shape.status, 400);
  EXPECT_EQ(body_of(shape)["error"], "not a ZaloPay or PayOS callback");
  HttpReply bad = env.post("/webhook", R"({"data": )");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(body_of(bad)["error"], "malformed JSON");
  EXPECT_EQ(bad.content_type, "application/json");
  // JSON that could be read two ways is no callback, but JSON all the same.
  for (const std::string& body : {std::string(R"({"data":"x","data":"y","mac":"","type":1})"),
                                  R"({"data":"x","mac":"","type":1})" + std::string(1, '\0')}) {
    HttpReply twice = env.post("/webhook", body);
    EXPECT_EQ(twice.status, 400);
    EXPECT_EQ(body_of(twice)["error"], "not a ZaloPay or PayOS callback");
  }
}

TEST_P(Webhook, AliasesAndTrailingSlashReachTheSameProvider) {
  const Payment a = env.create_zalopay("TB-ALIAS-1", 1000);
  const Payment b = env.create_zalopay("TB-ALIAS-2", 1000);
  env.create_payos("TB-ALIAS-3", 1000, "link-alias-3");
  EXPECT_EQ(body_of(env.post("/webhook/zalo-pay", zalopay_callback(a.provider_transaction_id, 1000)))["return_code"], 1);
  EXPECT_EQ(body_of(env.post("/webhook/zalopay/", zalopay_callback(b.provider_transaction_id, 1000)))["return_code"], 1);
  EXPECT_EQ(env.post("/webhook/pay-os", payos_webhook("link-alias-3", 1000)).status, 200);
  EXPECT_EQ(env.payment("TB-ALIAS-3").status, PaymentStatus::Completed);
}

TEST_P(Webhook, UnknownPathsAndWrongMethods) {
  for (const char* path : {"/", "/webhook/vnpay", "/webhooks/zalopay", "/healthz/x"}) {
    HttpReply r = env.post(path, "{}");
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(body_of(r)["error"], "not found");
  }
  HttpReply get = env.get("/webhook/zalopay");
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(get.allow, "POST");
  EXPECT_TRUE(json::accept(get.body));
  HttpReply put = env.ingestion().handle({"PUT", "/webhook", "{}", ""});
  EXPECT_EQ(put.status, 405);
  HttpReply post_health = env.post("/healthz", "");
  EXPECT_EQ(post_health.status, 405);
  EXPECT_EQ(post_health.allow, "GET, HEAD");
}

TEST_P(Webhook, HealthAndReadiness) {
  HttpReply health = env.get("/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(body_of(health), json::parse(R"({"status":"ok"})"));
  HttpReply ready = env.get("/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(body_of(ready)["status"], "ready");
}

TEST_P(Webhook, TwentyIdenticalCallbacksAtOnceMakeOneTransitionAndOneEvent) {
  const Payment zp = env.create_zalopay("TB-STORM-ZP", 70000);
  env.create_payos("TB-STORM-PO", 80000, "link-storm");
  const std::string zp_body = zalopay_callback(zp.provider_transaction_id, 70000);
  const std::string po_body = payos_webhook("link-storm", 80000);

  std::vector<HttpReply> zp_replies(20), po_replies(20);
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < 20; ++i) {
      threads.emplace_back([&, i] { zp_replies[i] = env.post("/webhook/zalopay", zp_body); });
      threads.emplace_back([&, i] { po_replies[i] = env.post("/webhook/payos", po_body); });
    }
  }
  int processed = 0, duplicates = 0;
  for (auto& r : zp_replies) {
    const int code = body_of(r)["return_code"];
    processed += code == 1;
    duplicates += code == 2;
  }
  EXPECT_EQ(processed, 1);
  EXPECT_EQ(duplicates, 19);
  for (auto& r : po_replies) EXPECT_EQ(r.status, 200) << r.body;

  EXPECT_EQ(env.events(env.payment("TB-STORM-ZP")).size(), 1u);
  EXPECT_EQ(env.events(env.payment("TB-STORM-PO")).size(), 1u);
  EXPECT_EQ(env.outbox_rows(), 2);
  const auto metrics = env.flush_metrics();
  EXPECT_EQ(WebhookEnv::metric(metrics, "WebhookProcessed", "PAYOS"), 1);
  EXPECT_EQ(WebhookEnv::metric(metrics, "WebhookDuplicate", "PAYOS"), 19);
  EXPECT_EQ(WebhookEnv::metric(metrics, "WebhookReceived", "ZALOPAY"), 20);
}

TEST_P(Webhook, OneLogLinePerCallbackWithItsOutcome) {
  const Payment zp = env.create_zalopay("TB-LOG-1", 1000);
  env.post("/webhook/zalopay", zalopay_callback(zp.provider_transaction_id, 1000));
  env.ingestion().handle({"POST", "/webhook/zalopay",
                          zalopay_callback(zp.provider_transaction_id, 1000), "req-from-proxy"});

  const auto lines = env.log_lines();
  ASSERT_EQ(lines.size(), 2u);
  const json& first = lines[0];
  for (const char* field : {"time", "level", "message", "request_id", "provider", "order_code",
                            "outcome", "payment_id", "latency_ms"})
    EXPECT_TRUE(first.contains(field)) << field << " in " << first.dump();
  EXPECT_EQ(first["provider"], "ZALOPAY");
  EXPECT_EQ(first["order_code"], "TB-LOG-1");
  EXPECT_EQ(first["outcome"], "processed");
  EXPECT_EQ(first["payment_id"], zp.id);
  EXPECT_EQ(first["level"], "info");
  EXPECT_EQ(lines[1]["outcome"], "duplicate");
  EXPECT_EQ(lines[1]["request_id"], "req-from-proxy");
  EXPECT_NE(first["request_id"], "");
}

TEST_P(Webhook, LogsNeverContainKeysMacsOrSignatures) {
  const Payment zp = env.create_zalopay("TB-SECRET-ZP", 1000);
  env.create_payos("TB-SECRET-PO", 1000, "link-secret");
  const std::string zp_ok = zalopay_callback(zp.provider_transaction_id, 1000);
  const std::string zp_amount = zalopay_callback(zp.provider_transaction_id, 5);
  ZaloPayKeys other_app = zalopay_keys();
  other_app.app_id = "1";
  const std::string zp_app = zalopay_callback(zp.provider_transaction_id, 1000, other_app);
  const std::string po_ok = payos_webhook("link-secret", 1000);
  const std::string po_amount = payos_webhook("link-secret", 7);
  PayOsKeys wrong = payos_keys();
  wrong.checksum_key = "x";
  const std::string po_bad = payos_webhook("link-secret", 1000, "00", "success", wrong);
  for (const auto* body : {&zp_amount, &zp_app, &zp_ok, &zp_ok}) env.post("/webhook/zalopay", *body);
  for (const auto* body : {&po_bad, &po_amount, &po_ok, &po_ok}) env.post("/webhook", *body);

  const std::string logs = env.log_text();
  ASSERT_EQ(env.log_lines().size(), 8u);
  for (const char* secret : {kZaloPayKey1, kZaloPayKey2, kPayOsApiKey, kPayOsChecksumKey})
    EXPECT_EQ(logs.find(secret), std::string::npos) << secret;
  for (const auto* body : {&zp_ok, &zp_amount, &zp_app})
    EXPECT_EQ(logs.find(json::parse(*body)["mac"].get<std::string>()), std::string::npos);
  for (const auto* body : {&po_ok, &po_amount, &po_bad})
    EXPECT_EQ(logs.find(json::parse(*body)["signature"].get<std::string>()), std::string::npos);
}

TEST_P(Webhook, MetricsAreEmbeddedMetricFormatLines) {
  const Payment zp = env.create_zalopay("TB-EMF", 1000);
  env.post("/webhook/zalopay", zalopay_callback(zp.provider_transaction_id, 1000));
  const auto lines = env.flush_metrics();
  ASSERT_EQ(lines.size(), 1u);
  const json& line = lines[0];
  EXPECT_EQ(line["Function"], "webhook");
  EXPECT_EQ(line["Provider"], "ZALOPAY");
  EXPECT_EQ(line["WebhookProcessed"], 1);
  EXPECT_EQ(line["WebhookReceived"], 1);
  const json& cw = line["_aws"]["CloudWatchMetrics"][0];
  EXPECT_EQ(cw["Namespace"], "TicketBottle/Payments");
  EXPECT_EQ(cw["Dimensions"], json::parse(R"([["Function","Provider"]])"));
  EXPECT_TRUE(line["_aws"]["Timestamp"].is_number_integer());
  bool declared = false;
  for (const auto& m : cw["Metrics"])
    declared |= m["Name"] == "WebhookProcessed" && m["Unit"] == "Count";
  EXPECT_TRUE(declared);
  EXPECT_TRUE(env.flush_metrics().empty()) << "a flush forgets what it wrote";
}

INSTANTIATE_TEST_SUITE_P(Engines, Webhook, ::testing::ValuesIn(all_engines()), EngineName{});

TEST(WebhookKeys, ProviderWithoutKeysAnswers503WhileTheOtherWorks) {
  WebhookEnv env(Engine::Sqlite, Keys{.zalopay = false, .payos = true});
  const Payment zp = env.create_zalopay("TB-NOKEY-ZP", 1000);
  env.create_payos("TB-NOKEY-PO", 1000, "link-nokey");

  HttpReply zr = env.post("/webhook/zalopay", zalopay_callback(zp.provider_transaction_id, 1000));
  EXPECT_EQ(zr.status, 503);
  EXPECT_NE(body_of(zr)["return_message"].get<std::string>().find("ZALOPAY_KEY2"), std::string::npos)
      << zr.body;
  EXPECT_EQ(env.payment("TB-NOKEY-ZP").status, PaymentStatus::Pending);
  EXPECT_EQ(env.post("/webhook/payos", payos_webhook("link-nokey", 1000)).status, 200);
  EXPECT_EQ(env.payment("TB-NOKEY-PO").status, PaymentStatus::Completed);

  WebhookEnv no_payos(Engine::Sqlite, Keys{.zalopay = true, .payos = false});
  HttpReply pr = no_payos.post("/webhook/payos", payos_webhook("link-nokey", 1000));
  EXPECT_EQ(pr.status, 503);
  EXPECT_NE(body_of(pr)["message"].get<std::string>().find("PAYOS_CHECKSUM_KEY"), std::string::npos);
}

TEST(WebhookDatabaseDown, CallbacksAskForARetryAndReadinessFails) {
  // Nothing listens on port 1: every connection attempt is refused.
  WebhookEnv env("postgresql://postgres@127.0.0.1:1/tbpay");
  HttpReply zr = env.post("/webhook/zalopay", zalopay_callback("251213_TB-DOWN", 1000));
  EXPECT_EQ(zr.status, 200);
  EXPECT_EQ(body_of(zr)["return_code"], 0);
  HttpReply pr = env.post("/webhook/payos", payos_webhook("link-down", 1000));
  EXPECT_EQ(pr.status, 503);
  EXPECT_EQ(env.get("/readyz").status, 503);
  EXPECT_EQ(env.get("/healthz").status, 200);
  const auto lines = env.log_lines();
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[0]["outcome"], "temporary_failure");
  EXPECT_EQ(lines[0]["level"], "error");
  EXPECT_EQ(WebhookEnv::metric(env.flush_metrics(), "WebhookTemporaryFailure", "PAYOS"), 1);
}

}  // namespace
}  // namespace tbpay::test
