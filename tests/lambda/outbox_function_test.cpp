// The scheduled functions: outbox-processor drains within the invocation's deadline,
// outbox-cleanup deletes what retention allows; both reply {"statusCode": 200, "body": "<JSON>"}.
#include <gtest/gtest.h>

#include "lambda/function_fixture.h"

namespace tbpay::test {
namespace {

using namespace std::chrono_literals;
using lambda::Function;
using testing::Posted;
using testing::QueuedEvent;

// Pending events of distinct payments, as webhooks would have left them.
void seed_pending_events(PgTestDatabase& db, int n) {
  for (int i = 0; i < n; ++i) {
    const std::string code = "TB-OUTBOX-" + std::to_string(i);
    const std::string payment = insert_payment(db, {.order_code = code, .status = "COMPLETED"});
    insert_event(db, {.aggregate_id = payment,
                      .payload = R"({"order_code":")" + code + R"("})",
                      .created_at = now_utc() - 1min});
  }
}

json reply_body(const Posted& p) {
  EXPECT_EQ(p.kind, Posted::Response) << p.body;
  const json reply = json::parse(p.body);
  EXPECT_EQ(reply["statusCode"], 200);
  return json::parse(reply["body"].get<std::string>());
}

TEST(OutboxProcessorFunction, ScheduledEventPublishesEveryPendingEventAndReportsIt) {
  LambdaFunctionEnv env(Function::OutboxProcessor);
  seed_pending_events(env.db(), 3);
  const json result = reply_body(env.invoke(scheduled_event()));
  EXPECT_EQ(result["processed"], 3);
  EXPECT_EQ(result["succeeded"], 3);
  EXPECT_EQ(result["budget_exhausted"], false);
  EXPECT_EQ(env.event_lines().size(), 3u);
  EXPECT_EQ(
      env.db().count("SELECT COUNT(*) FROM outbox WHERE published AND \"publishedAt\" IS NOT NULL"),
      3);
}

TEST(OutboxProcessorFunction, TheInvocationDeadlineBoundsTheDrain) {
  LambdaFunctionEnv env(Function::OutboxProcessor);
  seed_pending_events(env.db(), 2);
  // No time left before the safety margin: nothing is claimed, the reply still goes out.
  QueuedEvent late;
  late.payload = scheduled_event();
  late.time_left = 0ms;
  const json bounded = reply_body(env.invoke(late));
  EXPECT_EQ(bounded["processed"], 0);
  EXPECT_EQ(bounded["budget_exhausted"], true);
  EXPECT_EQ(env.db().count("SELECT COUNT(*) FROM outbox WHERE NOT published"), 2);

  // The next minute's invocation, with time, publishes them.
  const json next = reply_body(env.invoke(scheduled_event()));
  EXPECT_EQ(next["succeeded"], 2);
  EXPECT_EQ(env.db().count("SELECT COUNT(*) FROM outbox WHERE NOT published"), 0);
}

TEST(OutboxProcessorFunction, EmfCarriesRelayCountsAndTheBacklog) {
  LambdaFunctionEnv env(Function::OutboxProcessor);
  seed_pending_events(env.db(), 2);
  reply_body(env.invoke(scheduled_event()));
  double succeeded = -1, dead = -1;
  for (const json& l : env.metric_lines()) {
    EXPECT_EQ(l["Function"], "outbox-processor");
    if (l.contains("RelaySucceeded")) succeeded = l["RelaySucceeded"].get<double>();
    if (l.contains("OutboxDeadEvents")) dead = l["OutboxDeadEvents"].get<double>();
  }
  EXPECT_EQ(succeeded, 2);
  EXPECT_EQ(dead, 0);
}

// An invocation that finds nothing writes zeros, as `serve`'s idle runs do.
TEST(OutboxProcessorFunction, EmfCarriesZerosWhenNothingIsPending) {
  LambdaFunctionEnv env(Function::OutboxProcessor);
  EXPECT_EQ(reply_body(env.invoke(scheduled_event()))["processed"], 0);
  std::optional<double> processed, pending;
  for (const json& l : env.metric_lines()) {
    if (l.contains("RelayProcessed")) processed = l["RelayProcessed"].get<double>();
    if (l.contains("OutboxPendingEvents")) pending = l["OutboxPendingEvents"].get<double>();
  }
  EXPECT_EQ(processed, 0.0);
  EXPECT_EQ(pending, 0.0);
}

TEST(OutboxProcessorFunction, UnreachableDatabaseFailsTheInvocation) {
  LambdaFunctionEnv env(Function::OutboxProcessor,
                        std::string("postgresql://postgres@127.0.0.1:1/tbpay?connect_timeout=2"));
  const Posted p = env.invoke(scheduled_event());
  EXPECT_EQ(p.kind, Posted::Error);
  EXPECT_EQ(p.error_type_header, "OutboxUnavailable");
}

TEST(OutboxProcessorFunction, AfterADatabaseRestartTheNextInvocationPublishes) {
  LambdaFunctionEnv env(Function::OutboxProcessor);
  seed_pending_events(env.db(), 1);
  EXPECT_EQ(reply_body(env.invoke(scheduled_event()))["succeeded"], 1);
  ASSERT_GT(env.db().terminate_connections(), 0);
  const std::string payment =
      insert_payment(env.db(), {.order_code = "TB-LATER", .status = "COMPLETED"});
  insert_event(env.db(), {.aggregate_id = payment, .created_at = now_utc() - 1min});
  EXPECT_EQ(reply_body(env.invoke(scheduled_event()))["succeeded"], 1);
}

TEST(OutboxCleanupFunction, DeletesPublishedEventsPastRetentionAndReportsTheRest) {
  LambdaFunctionEnv env(Function::OutboxCleanup);
  const std::string payment =
      insert_payment(env.db(), {.order_code = "TB-CLEAN", .status = "COMPLETED"});
  insert_event(env.db(), {.aggregate_id = payment,
                          .created_at = now_utc() - 24h * 30,
                          .published = true,
                          .published_at = now_utc() - 24h * 30});
  insert_event(env.db(), {.aggregate_id = payment,
                          .created_at = now_utc() - 1h,
                          .published = true,
                          .published_at = now_utc() - 1h});
  insert_event(env.db(), {.aggregate_id = payment,
                          .created_at = now_utc() - 2h,
                          .retry_count = 3,
                          .last_error = "broker said no"});

  const json result = reply_body(env.invoke(scheduled_event()));
  EXPECT_EQ(result["deleted"], 1);
  EXPECT_EQ(result["dead"], 1);
  EXPECT_EQ(result["stats"]["total"], 2);
  EXPECT_EQ(result["stats"]["published"], 1);
  EXPECT_EQ(env.db().count("SELECT COUNT(*) FROM outbox"), 2);
  bool dead_metric = false;
  for (const json& l : env.metric_lines()) {
    EXPECT_EQ(l["Function"], "outbox-cleanup");
    if (l.contains("OutboxDeadEvents")) dead_metric = l["OutboxDeadEvents"].get<double>() == 1;
  }
  EXPECT_TRUE(dead_metric);
}

}  // namespace
}  // namespace tbpay::test
