// The reconciler function: one scheduled invocation asks the (fake) providers about stale
// PENDING payments, settles them, replies {"statusCode": 200, "body": "<summary>"} and writes
// its counts as EMF.
#include <gtest/gtest.h>

#include "lambda/function_fixture.h"
#include "providers/fake_provider_api.h"

namespace tbpay::test {
namespace {

using namespace std::chrono_literals;
using lambda::Function;
using testing::Posted;

TEST(ReconcilerFunction, ScheduledEventSettlesStalePaymentsAndWritesItsMetrics) {
  FakeProviderApi::Options fake_options;
  fake_options.zalopay = zalopay_keys();
  fake_options.payos = payos_keys();
  FakeProviderApi fake(fake_options);
  FakeAnswer paid;
  paid.kind = FakeAnswer::Kind::Paid;
  paid.reference = "230912000777";
  fake.set_default(paid);

  Config config;
  config.zalopay.api_url = fake.url();
  config.payos.api_url = fake.url();
  LambdaFunctionEnv env(Function::Reconciler, config);
  insert_payment(env.db(), {.order_code = "TB-LAMBDA-ZP",
                            .provider = Provider::ZaloPay,
                            .created_at = now_utc() - 10min});
  insert_payment(
      env.db(),
      {.order_code = "TB-LAMBDA-PO", .provider = Provider::PayOS, .created_at = now_utc() - 10min});
  insert_payment(env.db(), {.order_code = "TB-LAMBDA-NEW", .provider = Provider::PayOS});

  const Posted p = env.invoke(scheduled_event());
  ASSERT_EQ(p.kind, Posted::Response) << p.body;
  const json reply = json::parse(p.body);
  EXPECT_EQ(reply["statusCode"], 200);
  const json result = json::parse(reply["body"].get<std::string>());
  EXPECT_EQ(result["checked"], 2);
  EXPECT_EQ(result["completed"], 2);
  EXPECT_EQ(env.db().count(R"(SELECT count(*) FROM payments WHERE status = 'COMPLETED')"), 2);
  EXPECT_EQ(env.db().count("SELECT count(*) FROM outbox"), 2);

  double completed = -1;
  for (const json& l : env.metric_lines())
    if (l.contains("ReconcileCompleted")) completed = l["ReconcileCompleted"].get<double>();
  EXPECT_EQ(completed, 2);
}

TEST(ReconcilerFunction, UnreachableDatabaseFailsTheInvocation) {
  LambdaFunctionEnv env(Function::Reconciler,
                        std::string("postgresql://postgres@127.0.0.1:1/tbpay?connect_timeout=2"));
  const Posted p = env.invoke(scheduled_event());
  EXPECT_EQ(p.kind, Posted::Error);
  EXPECT_EQ(p.error_type_header, "PaymentsUnavailable");
}

}  // namespace
}  // namespace tbpay::test
