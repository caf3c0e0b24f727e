// Which topic each outbox event type goes to (app/event_topics.h).
#include "app/event_topics.h"

#include <gtest/gtest.h>

namespace tbpay {
namespace {

TEST(EventTopics, KnownEventTypesMapToTheirTopics) {
  EXPECT_EQ(topic_for("PAYMENT_COMPLETED"), "payment.completed");
  EXPECT_EQ(topic_for("PAYMENT_FAILED"), "payment.failed");
  EXPECT_EQ(topic_for("PAYMENT_CANCELLED"), "payment.cancelled");
  EXPECT_EQ(topic_for("PaymentCancelled"), "payment.cancelled");
}

TEST(EventTopics, ThePrefixIsPrependedAsIs) {
  EXPECT_EQ(topic_for("PAYMENT_COMPLETED", "staging."), "staging.payment.completed");
  EXPECT_EQ(topic_for("PaymentCancelled", "tb-"), "tb-payment.cancelled");
}

TEST(EventTopics, UnknownTypesHaveNoTopicNotAGuessedOne) {
  EXPECT_EQ(topic_for("PAYMENT_REFUNDED"), std::nullopt);
  EXPECT_EQ(topic_for("payment_completed"), std::nullopt);  // case matters
  EXPECT_EQ(topic_for("PaymentCompleted"), std::nullopt);
  EXPECT_EQ(topic_for(""), std::nullopt);
  EXPECT_EQ(topic_for("PAYMENT_REFUNDED", "staging."), std::nullopt);
}

}  // namespace
}  // namespace tbpay
