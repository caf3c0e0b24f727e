// Handler names and the processor's time budget.
#include "lambda/functions.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "lambda/fake_runtime_api.h"

namespace tbpay::lambda {
namespace {

using namespace std::chrono_literals;

TEST(LambdaHandlers, TheFourTemplateHandlersAreAccepted) {
  EXPECT_EQ(function_for_handler("webhook"), Function::Webhook);
  EXPECT_EQ(function_for_handler("outbox-processor"), Function::OutboxProcessor);
  EXPECT_EQ(function_for_handler("outbox-cleanup"), Function::OutboxCleanup);
  EXPECT_EQ(function_for_handler("reconciler"), Function::Reconciler);
  ASSERT_EQ(handler_names().size(), 4u);
  for (auto name : handler_names()) {
    auto f = function_for_handler(name);
    ASSERT_TRUE(f) << name;
    EXPECT_EQ(handler_name(*f), name);
  }
}

TEST(LambdaHandlers, NodeDeploymentFunctionNamesMapToTheirFunction) {
  EXPECT_EQ(function_for_handler("payment-webhook-handler"), Function::Webhook);
  EXPECT_EQ(function_for_handler("payment-webhook-handler/index.handler"), Function::Webhook);
  EXPECT_EQ(function_for_handler("outbox-processor/index.handler"), Function::OutboxProcessor);
  EXPECT_EQ(function_for_handler("outbox-cleanup/index.handler"), Function::OutboxCleanup);
}

TEST(LambdaHandlers, AmbiguousOrUnknownNamesAreRefused) {
  EXPECT_FALSE(function_for_handler("index.handler"));  // the same in all three Node functions
  EXPECT_FALSE(function_for_handler(""));
  EXPECT_FALSE(function_for_handler("Webhook"));
  EXPECT_FALSE(function_for_handler("outbox"));
}

TEST(DrainDeadline, LeavesTenPercentOfALongInvocation) {
  const auto now = std::chrono::system_clock::now();
  const auto steady = std::chrono::steady_clock::now();
  EXPECT_EQ(drain_deadline(now + 300s, now, steady), steady + 270s);
}

TEST(DrainDeadline, LeavesAtLeastTwoSeconds) {
  const auto now = std::chrono::system_clock::now();
  const auto steady = std::chrono::steady_clock::now();
  EXPECT_EQ(drain_deadline(now + 10s, now, steady), steady + 8s);
}

TEST(DrainDeadline, ShortInvocationKeepsHalfAndAPassedDeadlineLeavesNothing) {
  const auto now = std::chrono::system_clock::now();
  const auto steady = std::chrono::steady_clock::now();
  EXPECT_EQ(drain_deadline(now + 3s, now, steady), steady + 1500ms);
  EXPECT_EQ(drain_deadline(now - 1s, now, steady), steady);
}

TEST(RunFunction, UnknownHandlerIsAnInitErrorNamingTheValidOnes) {
  tbpay::testing::FakeRuntimeApi api;
  EXPECT_NE(run_function("index.handler", api.address()), 0);
  const auto posts = api.wait_for_posts(1);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].kind, tbpay::testing::Posted::InitError);
  const auto body = nlohmann::json::parse(posts[0].body);
  const std::string message = body["errorMessage"];
  for (auto name : handler_names()) EXPECT_NE(message.find(name), std::string::npos) << message;
  EXPECT_EQ(api.next_requests(), 0u);  // never asked for an invocation
}

TEST(RunFunction, BadConfigurationIsAnInitErrorNamingTheVariable) {
  tbpay::testing::FakeRuntimeApi api;
  setenv("OUTBOX_BATCH_SIZE", "fifty", 1);
  const int code = run_function("outbox-processor", api.address());
  unsetenv("OUTBOX_BATCH_SIZE");
  EXPECT_NE(code, 0);
  const auto posts = api.wait_for_posts(1);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].kind, tbpay::testing::Posted::InitError);
  EXPECT_EQ(posts[0].error_type_header, "Runtime.ConfigError");
  const std::string message = nlohmann::json::parse(posts[0].body)["errorMessage"];
  EXPECT_NE(message.find("OUTBOX_BATCH_SIZE"), std::string::npos) << message;
  EXPECT_EQ(api.next_requests(), 0u);
}

}  // namespace
}  // namespace tbpay::lambda
