// PayOS webhooks end to end through WebhookIngestion, on SQLite and PostgreSQL
// (docs/providers.md, "PayOS", and docs/state-machine.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>

#include "app/webhook_fixture.h"

namespace tbpay::test {
namespace {

using nlohmann::json;

class PayOsWebhook : public ::testing::TestWithParam<Engine> {
 protected:
  WebhookEnv env{GetParam()};
};

void expect_ok(const HttpReply& r) {
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(body_of(r), json::parse(R"({"error":0,"message":"ok","data":null})"));
}

TEST_P(PayOsWebhook, PaidWebhookCompletesPaymentAndWritesOneEvent) {
  env.create_payos("TB-PO-1", 250000, "a1b2c3d4e5f60718293a4b5c6d7e8f90");
  expect_ok(env.post("/webhook/payos", payos_webhook("a1b2c3d4e5f60718293a4b5c6d7e8f90", 250000)));

  const Payment p = env.payment("TB-PO-1");
  EXPECT_EQ(p.status, PaymentStatus::Completed);
  ASSERT_TRUE(p.completed_at.has_value());
  const auto events = env.events(p);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event_type, "PAYMENT_COMPLETED");
  const json payload = json::parse(events[0].payload);
  EXPECT_EQ(payload["provider"], "PAYOS");
  EXPECT_EQ(payload["amount_cents"], 250000);
  EXPECT_EQ(payload["order_code"], "TB-PO-1");
}

TEST_P(PayOsWebhook, FailureCodeFailsPaymentWithReason) {
  env.create_payos("TB-PO-FAIL", 250000, "link-fail");
  expect_ok(env.post("/webhook/pay-os", payos_webhook("link-fail", 250000, "01", "card declined")));

  const Payment p = env.payment("TB-PO-FAIL");
  EXPECT_EQ(p.status, PaymentStatus::Failed);
  ASSERT_TRUE(p.failed_at.has_value());
  EXPECT_FALSE(p.completed_at.has_value());
  const auto events = env.events(p);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event_type, "PAYMENT_FAILED");
  const json payload = json::parse(events[0].payload);
  EXPECT_EQ(payload["reason"], "card declined");
  EXPECT_EQ(payload["failed_at"], to_iso8601(*p.failed_at));
}

TEST_P(PayOsWebhook, FailureAfterCompletedChangesNothing) {
  env.create_payos("TB-PO-TERM", 250000, "link-term");
  expect_ok(env.post("/webhook/payos", payos_webhook("link-term", 250000)));
  const Payment completed = env.payment("TB-PO-TERM");

  expect_ok(env.post("/webhook/payos", payos_webhook("link-term", 250000, "01", "late failure")));
  const Payment after = env.payment("TB-PO-TERM");
  EXPECT_EQ(after.status, PaymentStatus::Completed);
  EXPECT_EQ(after.updated_at, completed.updated_at);
  EXPECT_FALSE(after.failed_at.has_value());
  EXPECT_EQ(env.events(after).size(), 1u);
  const auto lines = env.log_lines();
  EXPECT_EQ(lines.back()["outcome"], "duplicate");
}

TEST_P(PayOsWebhook, SuccessAfterFailureCompletesWithPreviousStatus) {
  env.create_payos("TB-PO-LATE", 250000, "link-late");
  expect_ok(env.post("/webhook/payos", payos_webhook("link-late", 250000, "01", "timeout")));
  expect_ok(env.post("/webhook/payos", payos_webhook("link-late", 250000)));

  const Payment p = env.payment("TB-PO-LATE");
  EXPECT_EQ(p.status, PaymentStatus::Completed);
  const auto events = env.events(p);
  ASSERT_EQ(events.size(), 2u);
  const auto completed = std::find_if(events.begin(), events.end(), [](const OutboxEvent& e) {
    return e.event_type == "PAYMENT_COMPLETED";
  });
  ASSERT_NE(completed, events.end());
  EXPECT_EQ(json::parse(completed->payload)["previous_status"], "FAILED");
}

TEST_P(PayOsWebhook, SuccessForCancelledPaymentCompletesIt) {
  insert_payment(env.db(), {.order_code = "TB-PO-CANC", .amount_cents = 5000,
                            .provider = Provider::PayOS,
                            .provider_transaction_id = "link-canc", .status = "CANCELLED"});
  expect_ok(env.post("/webhook/payos", payos_webhook("link-canc", 5000)));
  const Payment p = env.payment("TB-PO-CANC");
  EXPECT_EQ(p.status, PaymentStatus::Completed);
  const auto events = env.events(p);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(json::parse(events[0].payload)["previous_status"], "CANCELLED");
}

TEST_P(PayOsWebhook, BadSignatureGets401AndChangesNothing) {
  env.create_payos("TB-PO-SIG", 250000, "link-sig");
  PayOsKeys wrong = payos_keys();
  wrong.checksum_key = "wrong";
  HttpReply r = env.post("/webhook/payos", payos_webhook("link-sig", 250000, "00", "success", wrong));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(body_of(r)["error"], -1);

  // Signed for one amount, amount changed afterwards.
  json tampered = json::parse(payos_webhook("link-sig", 250000));
  tampered["data"]["amount"] = 1;
  EXPECT_EQ(env.post("/webhook/payos", tampered.dump()).status, 401);

  json empty = json::parse(payos_webhook("link-sig", 250000));
  empty["signature"] = "";
  EXPECT_EQ(env.post("/webhook/payos", empty.dump()).status, 401);

  EXPECT_EQ(env.payment("TB-PO-SIG").status, PaymentStatus::Pending);
  EXPECT_EQ(env.outbox_rows(), 0);
}

TEST_P(PayOsWebhook, UpperCaseSignatureIsAccepted) {
  env.create_payos("TB-PO-UPPER", 250000, "link-upper");
  json body = json::parse(payos_webhook("link-upper", 250000));
  std::string sig = body["signature"];
  std::transform(sig.begin(), sig.end(), sig.begin(), [](unsigned char c) { return std::toupper(c); });
  body["signature"] = sig;
  expect_ok(env.post("/webhook/payos", body.dump()));
  EXPECT_EQ(env.payment("TB-PO-UPPER").status, PaymentStatus::Completed);
}

TEST_P(PayOsWebhook, AmountMismatchGets409AndAnAlert) {
  env.create_payos("TB-PO-AMT", 250000, "link-amt");
  HttpReply r = env.post("/webhook/payos", payos_webhook("link-amt", 2500));
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(body_of(r)["error"], -1);
  EXPECT_EQ(env.payment("TB-PO-AMT").status, PaymentStatus::Pending);
  EXPECT_EQ(env.outbox_rows(), 0);
  const auto alerts = env.alerts();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0]["level"], "error");
  EXPECT_EQ(alerts[0]["provider"], "PAYOS");
  EXPECT_EQ(alerts[0]["order_code"], "TB-PO-AMT");
  EXPECT_EQ(WebhookEnv::metric(env.flush_metrics(), "WebhookAmountMismatch", "PAYOS"), 1);
}

TEST_P(PayOsWebhook, UrlConfirmationSampleForUnknownPaymentIsAcknowledged) {
  // What PayOS posts when a merchant registers the webhook URL: signed, for no real payment.
  const std::string sample = payos_webhook("124c33293c43417ab7879e14c8d9eb18", 3000, "00", "success");
  expect_ok(env.post("/webhook/payos", sample));
  EXPECT_EQ(env.outbox_rows(), 0);
  const auto lines = env.log_lines();
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back()["level"], "info");
  EXPECT_EQ(lines.back()["outcome"], "unknown_payment");
  EXPECT_EQ(WebhookEnv::metric(env.flush_metrics(), "WebhookUnknownPayment", "PAYOS"), 1);
}

TEST_P(PayOsWebhook, MalformedWebhooksGet400) {
  json no_data = json::parse(payos_webhook("link-x", 1000));
  no_data.erase("data");
  json data_array = json::parse(payos_webhook("link-x", 1000));
  data_array["data"] = json::array({1, 2});
  for (const std::string& body : {std::string("{{{"), std::string("null"), no_data.dump(),
                                 data_array.dump()}) {
    HttpReply r = env.post("/webhook/payos", body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_TRUE(json::accept(r.body)) << r.body;
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, PayOsWebhook, ::testing::ValuesIn(all_engines()), EngineName{});

}  // namespace
}  // namespace tbpay::test
