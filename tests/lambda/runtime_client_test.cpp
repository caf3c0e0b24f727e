// The Runtime API client on its own, against a loopback fake of the Runtime API: each call
// answers a typed outcome, which the loop (runtime_test.cpp) acts on.
#include "lambda/runtime_client.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lambda/fake_runtime_api.h"
#include "lambda/loop_under_test.h"

namespace tbpay::lambda {
namespace {

using nlohmann::json;
using tbpay::testing::FakeRuntimeApi;
using tbpay::testing::LoopUnderTest;
using tbpay::testing::Posted;
using tbpay::testing::QueuedEvent;

// Lambda's limit on a response is 6 MB; this is over it.
const std::string kTooLarge = json{{"body", std::string(7u << 20, 'x')}}.dump();

TEST(RuntimeApiClient, NextIsTheInvocationWithWhatItsHeadersSay) {
  FakeRuntimeApi api;
  QueuedEvent event;
  event.payload = R"({"source":"aws.events"})";
  event.request_id = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";
  event.time_left = std::chrono::seconds(60);
  event.trace_id = "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1";
  api.enqueue(event);

  RuntimeApiClient client(api.address());
  auto next = client.next();
  ASSERT_TRUE(next.ok()) << next.error().status << " " << next.error().transport;
  EXPECT_EQ(next->payload, event.payload);
  EXPECT_EQ(next->request_id, event.request_id);
  EXPECT_EQ(next->function_arn, event.function_arn);
  EXPECT_EQ(next->trace_id, event.trace_id);
  EXPECT_GT(next->remaining(), std::chrono::seconds(50));
  EXPECT_LE(next->remaining(), std::chrono::seconds(60));
}

TEST(RuntimeApiClient, PostsAreTakenForTheirRequest) {
  FakeRuntimeApi api;
  const std::string first = api.enqueue("{}");
  const std::string second = api.enqueue("{}");
  RuntimeApiClient client(api.address());
  ASSERT_TRUE(client.next().ok());
  EXPECT_TRUE(client.post_success(first, R"({"statusCode":200})").ok());
  ASSERT_TRUE(client.next().ok());
  EXPECT_TRUE(client.post_failure(second, "OutboxUnavailable", "database unreachable").ok());
  EXPECT_TRUE(client.post_init_error("Runtime.ConfigError", "bad").ok());

  const auto posts = api.wait_for_posts(3);
  ASSERT_EQ(posts.size(), 3u);
  EXPECT_EQ(posts[0].kind, Posted::Response);
  EXPECT_EQ(posts[0].request_id, first);
  EXPECT_EQ(posts[0].body, R"({"statusCode":200})");
  EXPECT_EQ(posts[1].kind, Posted::Error);
  EXPECT_EQ(posts[1].request_id, second);
  EXPECT_EQ(posts[1].error_type_header, "OutboxUnavailable");
  EXPECT_EQ(json::parse(posts[1].body)["errorMessage"], "database unreachable");
  EXPECT_EQ(posts[2].kind, Posted::InitError);
  EXPECT_EQ(posts[2].error_type_header, "Runtime.ConfigError");
}

TEST(RuntimeApiClient, AResponseLambdaRefusesIsItsStatus) {
  FakeRuntimeApi api;
  const std::string id = api.enqueue("{}");
  RuntimeApiClient client(api.address());
  ASSERT_TRUE(client.next().ok());
  const auto posted = client.post_success(id, kTooLarge);
  ASSERT_FALSE(posted.ok());
  EXPECT_EQ(posted.error().status, 413);
  // The connection is still good for what comes next.
  EXPECT_TRUE(client.post_failure(id, "Function.ResponseSizeTooLarge", "too large").ok());
}

TEST(RuntimeApiClient, NoRuntimeApiIsATransportErrorWithoutStatus) {
  FakeRuntimeApi api;
  const std::string gone = api.address();
  api.close();
  RuntimeApiClient client(gone);
  const auto next = client.next();
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.error().status, 0);
  EXPECT_FALSE(next.error().transport.empty());
}

TEST(LambdaRuntime, AResponseOverLambdasLimitIsReportedAsAnInvocationError) {
  FakeRuntimeApi api;
  const std::string id = api.enqueue("{}");
  LoopUnderTest loop(api,
                     [](const InvocationRequest&) { return InvocationResponse::ok(kTooLarge); });
  const auto posts = api.wait_for_posts(1);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].kind, Posted::Error);
  EXPECT_EQ(posts[0].request_id, id);
  EXPECT_EQ(posts[0].error_type_header, "Function.ResponseSizeTooLarge");
}

}  // namespace
}  // namespace tbpay::lambda
