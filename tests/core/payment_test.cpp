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
