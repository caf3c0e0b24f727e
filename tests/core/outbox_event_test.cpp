#include "core/outbox_event.h"

#include <gtest/gtest.h>

namespace tbpay {
namespace {

TEST(OutboxState, UnpublishedWithRetriesLeftIsPending) {
  EXPECT_EQ(outbox_state(false, false, 0, 3), OutboxState::Pending);
  EXPECT_EQ(outbox_state(false, false, 2, 3), OutboxState::Pending);
}

TEST(OutboxState, UnpublishedAtMaxRetriesOrMoreIsDead) {
  EXPECT_EQ(outbox_state(false, false, 3, 3), OutboxState::Dead);
  EXPECT_EQ(outbox_state(false, false, 7, 3), OutboxState::Dead);
  EXPECT_EQ(outbox_state(false, false, 1, 1), OutboxState::Dead);
}

TEST(OutboxState, EitherPublishedMarkIsPublishedWhateverTheRetries) {
  EXPECT_EQ(outbox_state(true, true, 0, 3), OutboxState::Published);
  EXPECT_EQ(outbox_state(true, false, 5, 3), OutboxState::Published);
  // As the Node.js relay left its rows: only "publishedAt" set.
  EXPECT_EQ(outbox_state(false, true, 0, 3), OutboxState::Published);
  EXPECT_EQ(outbox_state(false, true, 3, 3), OutboxState::Published);
}

TEST(OutboxState, OfAnEventReadsItsColumns) {
  OutboxEvent e;
  e.retry_count = 2;
  EXPECT_EQ(outbox_state(e, 3), OutboxState::Pending);
  EXPECT_EQ(outbox_state(e, 2), OutboxState::Dead);
  e.published_at = Timestamp{};
  EXPECT_EQ(outbox_state(e, 2), OutboxState::Published);
}

TEST(DeadAfterFailure, TheFailureThatBringsTheRetriesToTheMaximum) {
  EXPECT_FALSE(dead_after_failure(0, 3));
  EXPECT_FALSE(dead_after_failure(1, 3));
  EXPECT_TRUE(dead_after_failure(2, 3));
  EXPECT_TRUE(dead_after_failure(0, 1));
}

}  // namespace
}  // namespace tbpay
