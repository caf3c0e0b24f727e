// ZaloPay callbacks end to end through WebhookIngestion, on SQLite and PostgreSQL
// (docs/providers.md, "ZaloPay").
#include <gtest/gtest.h>

#include "app/webhook_fixture.h"
#include "crypto/crypto.h"

namespace tbpay::test {
namespace {

using nlohmann::json;

class ZaloPayWebhook : public ::testing::TestWithParam<Engine> {
 protected:
  WebhookEnv env{GetParam()};
};

TEST_P(ZaloPayWebhook, FirstCallbackCompletesPaymentAndWritesOneEvent) {
  const Payment before = env.create_zalopay("TB-ZP-1", 150000);
  HttpReply r = env.post("/webhook/zalopay", zalopay_callback(before.provider_transaction_id, 150000));

  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r)["return_code"], 1);
  const Payment after = env.payment("TB-ZP-1");
  EXPECT_EQ(after.status, PaymentStatus::Completed);
  ASSERT_TRUE(after.completed_at.has_value());
  EXPECT_GE(after.updated_at, before.updated_at);
  EXPECT_EQ(*after.completed_at, after.updated_at);
  const auto events = env.events(after);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event_type, "PAYMENT_COMPLETED");
  EXPECT_EQ(events[0].aggregate_id, after.id);
  EXPECT_EQ(events[0].aggregate_type, "Payment");
  EXPECT_FALSE(events[0].published);
  const json payload = json::parse(events[0].payload);
  EXPECT_EQ(payload["order_code"], "TB-ZP-1");
  EXPECT_EQ(payload["payment_id"], after.id);
  EXPECT_EQ(payload["amount_cents"], 150000);
  EXPECT_EQ(payload["provider"], "ZALOPAY");
  EXPECT_EQ(payload["completed_at"], to_iso8601(*after.completed_at));
  EXPECT_FALSE(payload.contains("previous_status"));
}

TEST_P(ZaloPayWebhook, RepeatedCallbackIsADuplicateAndWritesNothingMore) {
  const Payment p = env.create_zalopay("TB-ZP-DUP", 99000);
  const std::string body = zalopay_callback(p.provider_transaction_id, 99000);
  ASSERT_EQ(body_of(env.post("/webhook/zalopay", body))["return_code"], 1);
  const Payment completed = env.payment("TB-ZP-DUP");

  for (int i = 0; i < 3; ++i) {
    HttpReply r = env.post("/webhook/zalopay", body);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(body_of(r)["return_code"], 2);
  }
  const Payment after = env.payment("TB-ZP-DUP");
  EXPECT_EQ(after.updated_at, completed.updated_at);
  EXPECT_EQ(env.events(after).size(), 1u);
}

TEST_P(ZaloPayWebhook, OrderCodeFallbackWhenTransactionIdDiffers) {
  // The core service stored another app_trans_id; the order code (which has '_' in it) matches.
  env.create_zalopay("TB_UNDER_SCORE-7", 50000, "251212_OTHER");
  HttpReply r = env.post("/webhook/zalo-pay", zalopay_callback("251213_TB_UNDER_SCORE-7", 50000));
  EXPECT_EQ(body_of(r)["return_code"], 1);
  EXPECT_EQ(env.payment("TB_UNDER_SCORE-7").status, PaymentStatus::Completed);
}

TEST_P(ZaloPayWebhook, BadMacIsRejectedAndChangesNothing) {
  const Payment p = env.create_zalopay("TB-ZP-MAC", 150000);
  ZaloPayKeys wrong = zalopay_keys();
  wrong.key2 = "not-the-key";
  HttpReply r = env.post("/webhook/zalopay", zalopay_callback(p.provider_transaction_id, 150000, wrong));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r)["return_code"], -1);

  // A valid MAC with one character flipped.
  json body = json::parse(zalopay_callback(p.provider_transaction_id, 150000));
  std::string mac = body["mac"];
  mac[10] = mac[10] == 'a' ? 'b' : 'a';
  body["mac"] = mac;
  EXPECT_EQ(body_of(env.post("/webhook/zalopay", body.dump()))["return_code"], -1);

  EXPECT_EQ(env.payment("TB-ZP-MAC").status, PaymentStatus::Pending);
  EXPECT_EQ(env.outbox_rows(), 0);
}

TEST_P(ZaloPayWebhook, AppIdMismatchIsASecurityEvent) {
  const Payment p = env.create_zalopay("TB-ZP-APP", 150000);
  ZaloPayKeys other_app = zalopay_keys();
  other_app.app_id = "9999";  // correctly signed with our key2, but for another app
  HttpReply r = env.post("/webhook/zalopay", zalopay_callback(p.provider_transaction_id, 150000, other_app));

  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r)["return_code"], -1);
  EXPECT_EQ(env.payment("TB-ZP-APP").status, PaymentStatus::Pending);
  EXPECT_EQ(env.outbox_rows(), 0);
  const auto alerts = env.alerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0]["level"], "error");
  EXPECT_EQ(alerts[0]["reason"], "app_id_mismatch");
  EXPECT_EQ(alerts[0]["provider"], "ZALOPAY");
  const auto metrics = env.flush_metrics();
  EXPECT_EQ(WebhookEnv::metric(metrics, "WebhookAppIdMismatch", "ZALOPAY"), 1);
}

TEST_P(ZaloPayWebhook, AmountMismatchIsASecurityEventAndChangesNothing) {
  const Payment p = env.create_zalopay("TB-ZP-AMT", 150000);
  HttpReply r = env.post("/webhook/zalopay", zalopay_callback(p.provider_transaction_id, 1000));

  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r)["return_code"], -1);
  const Payment after = env.payment("TB-ZP-AMT");
  EXPECT_EQ(after.status, PaymentStatus::Pending);
  EXPECT_EQ(after.updated_at, p.updated_at);
  EXPECT_EQ(env.outbox_rows(), 0);
  const auto alerts = env.alerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0]["outcome"], "amount_mismatch");
  EXPECT_EQ(alerts[0]["order_code"], "TB-ZP-AMT");
  EXPECT_EQ(alerts[0]["amount"], 1000);
  EXPECT_EQ(alerts[0]["expected_amount"], 150000);
  EXPECT_EQ(WebhookEnv::metric(env.flush_metrics(), "WebhookAmountMismatch", "ZALOPAY"), 1);
}

TEST_P(ZaloPayWebhook, UnknownPaymentAsksZaloPayToRetry) {
  HttpReply r = env.post("/webhook/zalopay", zalopay_callback("251213_TB-NOBODY", 150000));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r)["return_code"], 0);
  EXPECT_EQ(env.outbox_rows(), 0);
}

TEST_P(ZaloPayWebhook, SignedButMalformedDataIsRejected) {
  const std::string data = "this is not JSON";
  const json body = {{"data", data}, {"mac", hmac_sha256_hex(kZaloPayKey2, data)}, {"type", 1}};
  HttpReply r = env.post("/webhook/zalopay", body.dump());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r)["return_code"], -1);
}

TEST_P(ZaloPayWebhook, UnsupportedTypeIsRejected) {
  const Payment p = env.create_zalopay("TB-ZP-TYPE", 150000);
  json body = json::parse(zalopay_callback(p.provider_transaction_id, 150000));
  body["type"] = 2;
  HttpReply r = env.post("/webhook/zalopay", body.dump());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(body_of(r)["return_code"], -1);
  EXPECT_EQ(env.payment("TB-ZP-TYPE").status, PaymentStatus::Pending);
}

TEST_P(ZaloPayWebhook, BodyThatIsNotACallbackGets200WithReturnCodeMinusOne) {
  for (const std::string body : {"{not json", R"({"data":"x"})", "[]", "", R"({"data":"{}","type":1})"}) {
    HttpReply r = env.post("/webhook/zalopay", body);
    EXPECT_EQ(r.status, 200) << body;
    EXPECT_EQ(body_of(r)["return_code"], -1) << body;
    EXPECT_TRUE(json::accept(r.body)) << r.body;
  }
}

TEST_P(ZaloPayWebhook, PaymentOfTheOtherProviderIsNotMatched) {
  // A PayOS payment whose paymentLinkId happens to look like an app_trans_id.
  env.create_payos("TB-ZP-OTHER", 150000, "251213_TB-ZP-OTHER");
  HttpReply r = env.post("/webhook/zalopay", zalopay_callback("251213_TB-ZP-OTHER", 150000));
  EXPECT_EQ(body_of(r)["return_code"], 0);
  EXPECT_EQ(env.payment("TB-ZP-OTHER").status, PaymentStatus::Pending);
}

INSTANTIATE_TEST_SUITE_P(Engines, ZaloPayWebhook, ::testing::ValuesIn(all_engines()), EngineName{});

}  // namespace
}  // namespace tbpay::test
