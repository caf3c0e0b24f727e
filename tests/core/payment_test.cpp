#include "core/payment.h"

#include <gtest/gtest.h>

namespace tbpay {
namespace {

TEST(PaymentStateMachine, PendingMovesToCompletedOrFailed) {
  EXPECT_TRUE(can_transition(PaymentStatus::Pending, PaymentStatus::Completed));
  EXPECT_TRUE(can_transition(PaymentStatus::Pending, PaymentStatus::Failed));
}

TEST(PaymentStateMachine, CompletedIsTerminal) {
  EXPECT_FALSE(can_transition(PaymentStatus::Completed, PaymentStatus::Completed));
  EXPECT_FALSE(can_transition(PaymentStatus::Completed, PaymentStatus::Failed));
}

TEST(PaymentStateMachine, MoneyArrivingAfterFailureOrCancellationCompletes) {
  EXPECT_TRUE(can_transition(PaymentStatus::Failed, PaymentStatus::Completed));
  EXPECT_TRUE(can_transition(PaymentStatus::Cancelled, PaymentStatus::Completed));
}

TEST(PaymentStateMachine, OnlyPendingPaymentsFail) {
  EXPECT_FALSE(can_transition(PaymentStatus::Failed, PaymentStatus::Failed));
  EXPECT_FALSE(can_transition(PaymentStatus::Cancelled, PaymentStatus::Failed));
}

TEST(PaymentNames, RoundTripDatabaseSpellings) {
  for (auto s : {PaymentStatus::Pending, PaymentStatus::Completed, PaymentStatus::Failed,
                 PaymentStatus::Cancelled})
    EXPECT_EQ(parse_payment_status(to_string(s)), s);
  EXPECT_EQ(parse_provider("zalopay"), Provider::ZaloPay);
  EXPECT_EQ(parse_provider("PAYOS"), Provider::PayOS);
  EXPECT_EQ(parse_provider("VNPAY"), std::nullopt);
  EXPECT_EQ(parse_payment_status("paid"), std::nullopt);
}

}  // namespace
}  // namespace tbpay

namespace tbpay {
namespace {

TEST(ZaloPayOrderCodes, TheTextAfterEachUnderscoreTheFirstFirst) {
  EXPECT_EQ(zalopay_order_codes("251213_TB-1"), (std::vector<std::string>{"TB-1"}));
  EXPECT_EQ(zalopay_order_codes("251213_TB_2025_X"),
            (std::vector<std::string>{"TB_2025_X", "2025_X", "X"}));
  EXPECT_TRUE(zalopay_order_codes("no-underscore").empty());
  EXPECT_TRUE(zalopay_order_codes("251213_").empty());
  EXPECT_EQ(zalopay_order_codes("a_b__c"), (std::vector<std::string>{"b__c", "_c", "c"}));
  EXPECT_EQ(zalopay_order_codes("0_1_2_3_4_5_6_7_8_9_10").size(), 8u);
}

}  // namespace
}  // namespace tbpay

namespace tbpay {
namespace {

using std::chrono::milliseconds;

const Timestamp kClock = *parse_timestamp("2025-12-13T06:05:18.385Z");

PaymentCallback paid(std::int64_t amount, PaymentStatus outcome = PaymentStatus::Completed) {
  PaymentCallback cb;
  cb.amount = amount;
  cb.outcome = outcome;
  return cb;
}

TEST(DecideTransition, AMatchingCallbackMovesWhatTheStateMachineAllows) {
  EXPECT_EQ(decide_transition(PaymentStatus::Pending, 150000, paid(150000)),
            TransitionResult::Applied);
  EXPECT_EQ(decide_transition(PaymentStatus::Pending, 150000, paid(150000, PaymentStatus::Failed)),
            TransitionResult::Applied);
  EXPECT_EQ(decide_transition(PaymentStatus::Failed, 150000, paid(150000)),
            TransitionResult::Applied);
  EXPECT_EQ(decide_transition(PaymentStatus::Cancelled, 150000, paid(150000)),
            TransitionResult::Applied);
}

TEST(DecideTransition, WhatTheStateMachineRefusesIsADuplicate) {
  EXPECT_EQ(decide_transition(PaymentStatus::Completed, 150000, paid(150000)),
            TransitionResult::Duplicate);
  EXPECT_EQ(decide_transition(PaymentStatus::Failed, 150000, paid(150000, PaymentStatus::Failed)),
            TransitionResult::Duplicate);
  EXPECT_EQ(
      decide_transition(PaymentStatus::Cancelled, 150000, paid(150000, PaymentStatus::Failed)),
      TransitionResult::Duplicate);
}

TEST(DecideTransition, AnAmountThatDiffersIsAMismatchWhateverTheStatus) {
  for (auto s : {PaymentStatus::Pending, PaymentStatus::Completed, PaymentStatus::Failed,
                 PaymentStatus::Cancelled}) {
    EXPECT_EQ(decide_transition(s, 150000, paid(149999)), TransitionResult::AmountMismatch);
    EXPECT_EQ(decide_transition(s, 150000, paid(150001, PaymentStatus::Failed)),
              TransitionResult::AmountMismatch);
  }
}

TEST(TransitionOutcome, AnAppliedOneCarriesTheNewStatusAndTheEvent) {
  TransitionRequest r;
  r.callback = paid(150000);
  r.event_id = "e-1";
  auto applied = transition_outcome("p-1", "TB-1", PaymentStatus::Failed, 150000, r);
  EXPECT_EQ(applied.result, TransitionResult::Applied);
  EXPECT_EQ(applied.payment_id, "p-1");
  EXPECT_EQ(applied.order_code, "TB-1");
  EXPECT_EQ(applied.expected_amount, 150000);
  EXPECT_EQ(applied.previous_status, PaymentStatus::Failed);
  EXPECT_EQ(applied.status, PaymentStatus::Completed);
  EXPECT_EQ(applied.event_id, "e-1");

  auto mismatch = transition_outcome("p-1", "TB-1", PaymentStatus::Pending, 150001, r);
  EXPECT_EQ(mismatch.result, TransitionResult::AmountMismatch);
  EXPECT_EQ(mismatch.expected_amount, 150001);
  EXPECT_EQ(mismatch.status, PaymentStatus::Pending);
  EXPECT_EQ(mismatch.event_id, "");
}

TEST(TransitionTime, TheWritersClockUnlessThePaymentFailedOrWasCancelledLater) {
  Payment p;
  EXPECT_EQ(transition_time(p, kClock), kClock);
  p.failed_at = kClock - milliseconds(1);
  EXPECT_EQ(transition_time(p, kClock), kClock);  // 1 ms after the failure already
  p.failed_at = kClock;
  EXPECT_EQ(transition_time(p, kClock), kClock + milliseconds(1));
  p.failed_at = kClock + milliseconds(250);
  EXPECT_EQ(transition_time(p, kClock), kClock + milliseconds(251));
  p.failed_at.reset();
  p.cancelled_at = kClock + milliseconds(40);
  EXPECT_EQ(transition_time(p, kClock), kClock + milliseconds(41));
  p.failed_at = kClock + milliseconds(90);
  EXPECT_EQ(transition_time(p, kClock), kClock + milliseconds(91));  // the later of the two
}

Payment candidate(std::string order_code, std::string transaction_id,
                  Provider provider = Provider::ZaloPay) {
  Payment p;
  p.id = "id-" + order_code;
  p.order_code = std::move(order_code);
  p.provider_transaction_id = std::move(transaction_id);
  p.provider = provider;
  return p;
}

PaymentCallback from(Provider provider, std::string transaction_id) {
  PaymentCallback cb;
  cb.provider = provider;
  cb.transaction_id = std::move(transaction_id);
  return cb;
}

TEST(PaymentNamedBy, TheTransactionIdFirstThenZaloPaysFallbackOrderCode) {
  const std::vector<Payment> rows = {candidate("A_B", "251213_X"), candidate("B", "251213_B"),
                                     candidate("TB-1", "other")};
  // "B" carries 251213_B as its transaction id.
  EXPECT_EQ(payment_named_by(from(Provider::ZaloPay, "251213_B"), rows), &rows[1]);
  // No one carries 251213_A_B: the order code after the first '_'.
  EXPECT_EQ(payment_named_by(from(Provider::ZaloPay, "251213_A_B"), rows), &rows[0]);
  // 251213_TB-1 is not TB-1's transaction id, but TB-1 is its fallback order code.
  EXPECT_EQ(payment_named_by(from(Provider::ZaloPay, "251213_TB-1"), rows), &rows[2]);
  EXPECT_EQ(payment_named_by(from(Provider::ZaloPay, "251213_C"), rows), nullptr);
}

TEST(PaymentNamedBy, OnlyThePaymentsOfTheCallbacksProvider) {
  const std::vector<Payment> rows = {candidate("TB-1", "251213_TB-1", Provider::PayOS),
                                     candidate("TB-2", "8f2c", Provider::PayOS)};
  EXPECT_EQ(payment_named_by(from(Provider::ZaloPay, "251213_TB-1"), rows), nullptr);
  EXPECT_EQ(payment_named_by(from(Provider::ZaloPay, "8f2c"), rows), nullptr);
  EXPECT_EQ(payment_named_by(from(Provider::PayOS, "8f2c"), rows), &rows[1]);
  // PayOS has no fallback: its paymentLinkId names the payment or nothing does.
  EXPECT_EQ(payment_named_by(from(Provider::PayOS, "x_TB-2"), rows), nullptr);
}

TEST(ZaloPayFallbackOrderCode, TheTextAfterTheFirstUnderscore) {
  EXPECT_EQ(zalopay_fallback_order_code("251213_TB-LTDTNL-20251213-8D39986M"),
            "TB-LTDTNL-20251213-8D39986M");
  EXPECT_EQ(zalopay_fallback_order_code("251213_TB_A_B"), "TB_A_B");
  EXPECT_EQ(zalopay_fallback_order_code("no-underscore"), "");
  EXPECT_EQ(zalopay_fallback_order_code("251213_"), "");
}

}  // namespace
}  // namespace tbpay
