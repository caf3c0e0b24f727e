#include "core/event_payload.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tbpay {
namespace {

Payment payment() {
  Payment p;
  p.id = "7d1f6a52-3c1e-4c55-9a1b-2f0a4b5c6d7e";
  p.order_code = "TB-LTDTNL-20251213-8D39986M";
  p.amount_cents = 150000;
  p.provider = Provider::ZaloPay;
  p.provider_transaction_id = "251213_TB-LTDTNL-20251213-8D39986M";
  return p;
}

TransitionRequest request(PaymentStatus outcome) {
  TransitionRequest r;
  r.callback.outcome = outcome;
  r.callback.reason = outcome == PaymentStatus::Failed ? "card declined" : "";
  r.callback.provider_reference = "240000123";
  r.at = *parse_timestamp("2025-12-13T06:05:18.385Z");
  return r;
}

TEST(EventPayload, CompletedCarriesTheFieldsTheOrderServiceDecodes) {
  auto body = nlohmann::json::parse(
      event_payload(payment(), PaymentStatus::Pending, request(PaymentStatus::Completed)));
  EXPECT_EQ(body["order_code"], "TB-LTDTNL-20251213-8D39986M");
  EXPECT_EQ(body["payment_id"], "7d1f6a52-3c1e-4c55-9a1b-2f0a4b5c6d7e");
  EXPECT_EQ(body["amount_cents"], 150000);
  EXPECT_TRUE(body["amount_cents"].is_number_integer());
  EXPECT_EQ(body["currency"], "VND");
  EXPECT_EQ(body["provider"], "ZALOPAY");
  EXPECT_EQ(body["transaction_id"], "251213_TB-LTDTNL-20251213-8D39986M");
  EXPECT_EQ(body["completed_at"], "2025-12-13T06:05:18.385Z");
  EXPECT_FALSE(body.contains("previous_status"));
  EXPECT_FALSE(body.contains("failed_at"));
}

TEST(EventPayload, CompletionAfterFailureNamesThePreviousStatus) {
  auto body = nlohmann::json::parse(
      event_payload(payment(), PaymentStatus::Failed, request(PaymentStatus::Completed)));
  EXPECT_EQ(body["previous_status"], "FAILED");
}

TEST(EventPayload, FailedCarriesFailedAtAndReason) {
  auto body = nlohmann::json::parse(
      event_payload(payment(), PaymentStatus::Pending, request(PaymentStatus::Failed)));
  EXPECT_EQ(body["failed_at"], "2025-12-13T06:05:18.385Z");
  EXPECT_EQ(body["reason"], "card declined");
  EXPECT_FALSE(body.contains("completed_at"));
}

}  // namespace
}  // namespace tbpay
