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
