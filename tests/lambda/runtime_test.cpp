// The Runtime API loop against a loopback fake of the Runtime API.
#include "lambda/runtime.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <vector>

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

TEST(LambdaRuntime, HandlerGetsTheInvocationAndItsResponseIsPostedForThatRequest) {
  FakeRuntimeApi api;
  QueuedEvent event;
  event.payload = R"({"hello":"world"})";
  event.request_id = "req-1";
  event.time_left = std::chrono::seconds(30);
  event.function_arn = "arn:aws:lambda:ap-southeast-1:123:function:f";
  api.enqueue(event);

  std::promise<InvocationRequest> seen;
  LoopUnderTest loop(api, [&seen](const InvocationRequest& inv) {
    seen.set_value(inv);
    return InvocationResponse::ok(R"({"statusCode":200})");
  });
  const auto posts = api.wait_for_posts(1);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].kind, Posted::Response);
  EXPECT_EQ(posts[0].request_id, "req-1");
  EXPECT_EQ(posts[0].body, R"({"statusCode":200})");

  const InvocationRequest inv = seen.get_future().get();
  EXPECT_EQ(inv.payload, R"({"hello":"world"})");
  EXPECT_EQ(inv.request_id, "req-1");
  EXPECT_EQ(inv.function_arn, "arn:aws:lambda:ap-southeast-1:123:function:f");
  // The deadline header (epoch milliseconds) becomes a time point about 30 s ahead.
  EXPECT_GT(inv.remaining(), std::chrono::seconds(20));
  EXPECT_LE(inv.remaining(), std::chrono::seconds(30));
}

TEST(LambdaRuntime, HandlerFailureIsPostedAsInvocationErrorWithTypeHeader) {
  FakeRuntimeApi api;
  const std::string id = api.enqueue("{}");
  LoopUnderTest loop(api, [](const InvocationRequest&) {
    return InvocationResponse::failure("OutboxUnavailable", "database unreachable");
  });
  const auto posts = api.wait_for_posts(1);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].kind, Posted::Error);
  EXPECT_EQ(posts[0].request_id, id);
  EXPECT_EQ(posts[0].error_type_header, "OutboxUnavailable");
  const json body = json::parse(posts[0].body);
  EXPECT_EQ(body["errorType"], "OutboxUnavailable");
  EXPECT_EQ(body["errorMessage"], "database unreachable");
}

TEST(LambdaRuntime, ThrowingHandlerReportsAnErrorAndTheNextInvocationStillRuns) {
  FakeRuntimeApi api;
  const std::string first = api.enqueue(R"({"boom":true})");
  const std::string second = api.enqueue(R"({"boom":false})");
  LoopUnderTest loop(api, [](const InvocationRequest& inv) {
    if (json::parse(inv.payload)["boom"].get<bool>()) throw std::runtime_error("kaboom");
    return InvocationResponse::ok("{}");
  });
  const auto posts = api.wait_for_posts(2);
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_EQ(posts[0].kind, Posted::Error);
  EXPECT_EQ(posts[0].request_id, first);
  EXPECT_EQ(json::parse(posts[0].body)["errorMessage"], "kaboom");
  EXPECT_FALSE(posts[0].error_type_header.empty());
  EXPECT_EQ(posts[1].kind, Posted::Response);
  EXPECT_EQ(posts[1].request_id, second);
}

// Work the invoker must not wait for runs once the result is posted, before the next request
// (Lambda freezes the environment only then); a throw there loses no invocation.
TEST(LambdaRuntime, AfterPostRunsOncePerInvocationBetweenItsPostAndTheNextRequest) {
  FakeRuntimeApi api;
  const std::string first = api.enqueue(R"({"n":1})");
  const std::string second = api.enqueue(R"({"n":2})");
  struct Seen {
    std::size_t posts;
    std::size_t next_requests;
  };
  std::mutex m;
  std::vector<Seen> seen;
  LoopUnderTest loop(
      api, [](const InvocationRequest&) { return InvocationResponse::ok("{}"); },
      [&api, &m, &seen] {
        std::unique_lock lock(m);
        const std::size_t n = seen.size() + 1;
        // The loop is one thread: a result not yet sent would never arrive while this waits.
        seen.push_back({api.wait_for_posts(n, std::chrono::seconds(10)).size(), api.next_requests()});
        if (n == 1) throw std::runtime_error("after the first");
      });
  const auto posts = api.wait_for_posts(2);
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_EQ(posts[0].request_id, first);
  EXPECT_EQ(posts[1].request_id, second);
  ASSERT_TRUE(api.wait_for_idle_poll());
  std::unique_lock lock(m);
  ASSERT_EQ(seen.size(), 2u);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].posts, i + 1) << "invocation " << i + 1 << ": its result was posted first";
    EXPECT_EQ(seen[i].next_requests, i + 1) << "invocation " << i + 1 << ": no next request yet";
  }
}

TEST(LambdaRuntime, TraceIdIsInTheEnvironmentForItsInvocationOnly) {
  FakeRuntimeApi api;
  QueuedEvent traced;
  traced.payload = "{}";
  traced.trace_id = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
  api.enqueue(traced);
  api.enqueue("{}");  // no trace header
  LoopUnderTest loop(api, [](const InvocationRequest& inv) {
    const char* env = std::getenv("_X_AMZN_TRACE_ID");
    return InvocationResponse::ok(
        json{{"env", env ? env : "<unset>"}, {"field", inv.trace_id}}.dump());
  });
  const auto posts = api.wait_for_posts(2);
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_EQ(json::parse(posts[0].body)["env"], traced.trace_id);
  EXPECT_EQ(json::parse(posts[0].body)["field"], traced.trace_id);
  EXPECT_EQ(json::parse(posts[1].body)["env"], "<unset>");
}

TEST(LambdaRuntime, AllInvocationsShareOneConnectionToTheRuntimeApi) {
  FakeRuntimeApi api;
  for (int i = 0; i < 5; ++i) api.enqueue("{}");
  LoopUnderTest loop(api, [](const InvocationRequest&) { return InvocationResponse::ok("{}"); });
  ASSERT_EQ(api.wait_for_posts(5).size(), 5u);
  ASSERT_TRUE(api.wait_for_idle_poll());
  EXPECT_EQ(api.next_requests(), 6u);  // five invocations and the poll now waiting
  EXPECT_EQ(api.connections_accepted(), 1u);
}

TEST(LambdaRuntime, ConnectionClosedByTheRuntimeApiIsReopenedAndNoResultIsLost) {
  FakeRuntimeApi api;
  api.drop_connections_after_each_answer();
  const std::string first = api.enqueue(R"({"n":1})");
  const std::string second = api.enqueue(R"({"n":2})");
  LoopUnderTest loop(api, [](const InvocationRequest& inv) {
    if (json::parse(inv.payload)["n"] == 2) return InvocationResponse::failure("Bad", "two");
    return InvocationResponse::ok(inv.payload);
  });
  const auto posts = api.wait_for_posts(2);
  ASSERT_EQ(posts.size(), 2u);
  EXPECT_EQ(posts[0].kind, Posted::Response);
  EXPECT_EQ(posts[0].request_id, first);
  EXPECT_EQ(posts[0].body, R"({"n":1})");
  EXPECT_EQ(posts[1].kind, Posted::Error);
  EXPECT_EQ(posts[1].request_id, second);
  EXPECT_EQ(posts[1].error_type_header, "Bad");
  ASSERT_TRUE(api.wait_for_idle_poll());
  // Each GET and each POST on a connection of its own: 2 x (next + result) + the waiting poll.
  EXPECT_EQ(api.connections_accepted(), 5u);
}

TEST(LambdaRuntime, LargeEventAndLongHeadersReachTheHandlerWhole) {
  FakeRuntimeApi api;
  QueuedEvent event;
  // Lambda accepts synchronous events of up to 6 MB.
  event.payload = json{{"body", std::string(5u << 20, 'x')}}.dump();
  event.trace_id = "Root=1-" + std::string(12000, 'a');
  api.enqueue(event);
  LoopUnderTest loop(api, [](const InvocationRequest& inv) {
    return InvocationResponse::ok(
        json{{"size", inv.payload.size()}, {"trace", inv.trace_id.size()}}.dump());
  });
  const auto posts = api.wait_for_posts(1);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].kind, Posted::Response);
  EXPECT_EQ(json::parse(posts[0].body)["size"], event.payload.size());
  EXPECT_EQ(json::parse(posts[0].body)["trace"], event.trace_id.size());
}

TEST(LambdaRuntime, LoopEndsWithFailureWhenTheRuntimeApiGoesAway) {
  FakeRuntimeApi api;
  api.enqueue("{}");
  LoopUnderTest loop(api, [](const InvocationRequest&) { return InvocationResponse::ok("{}"); });
  ASSERT_EQ(api.wait_for_posts(1).size(), 1u);
  EXPECT_NE(loop.stop(), 0);
}

TEST(LambdaRuntime, InitErrorIsPostedWithItsType) {
  FakeRuntimeApi api;
  EXPECT_TRUE(
      report_init_error(api.address(), "Runtime.ConfigError", "OUTBOX_BATCH_SIZE: not a number"));
  const auto posts = api.wait_for_posts(1);
  ASSERT_EQ(posts.size(), 1u);
  EXPECT_EQ(posts[0].kind, Posted::InitError);
  EXPECT_EQ(posts[0].error_type_header, "Runtime.ConfigError");
  const json body = json::parse(posts[0].body);
  EXPECT_EQ(body["errorType"], "Runtime.ConfigError");
  EXPECT_EQ(body["errorMessage"], "OUTBOX_BATCH_SIZE: not a number");
}

TEST(LambdaRuntime, InitErrorReportFailsWhenNoRuntimeApiListens) {
  FakeRuntimeApi api;
  const std::string gone = api.address();
  api.close();
  EXPECT_FALSE(report_init_error(gone, "Runtime.ConfigError", "x"));
}

}  // namespace
}  // namespace tbpay::lambda
