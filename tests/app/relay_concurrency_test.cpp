// Several relays on one PostgreSQL database at once (overlapping Lambda invocations, several
// servers): each event is published once, and each payment's events in createdAt order.
#include <cstdio>
#include <thread>

#include "app/relay.h"
#include "app/relay_fixture.h"

namespace tbpay::test {
namespace {

TEST(RelayConcurrency, TwoRelaysAtOnceOnPostgresPublishEachEventOnceAndInOrderPerPayment) {
  RelayEnvironment env(Engine::Postgres);
  constexpr int kPayments = 60;
  constexpr int kEventsPerPayment = 5;
  const auto ids = seed_events(env.db(), kPayments, kEventsPerPayment);
  Config config = env.config();
  config.outbox_batch_size = 16;  // many small batches: the relays interleave
  auto first_ctx = env.context(config);
  auto second_ctx = env.context(config);

  RelayReport first, second;
  {
    std::jthread a([&] { first = OutboxRelay(*first_ctx).drain(in(std::chrono::seconds(120))); });
    std::jthread b([&] { second = OutboxRelay(*second_ctx).drain(in(std::chrono::seconds(120))); });
  }

  std::printf("relays: %lld + %lld events, %lld + %lld batches\n", (long long)first.succeeded,
              (long long)second.succeeded, (long long)first.batches, (long long)second.batches);
  EXPECT_EQ(first.failed + second.failed, 0);
  EXPECT_EQ(first.succeeded + second.succeeded, static_cast<std::int64_t>(ids.size()));
  for (const auto& r : outbox_rows(env.db())) EXPECT_TRUE(r.published) << r.id;

  auto consumed = consume_payment_topics(env.bootstrap(), ids.size());
  ASSERT_EQ(consumed.size(), ids.size());  // nothing twice
  std::set<std::string> distinct;
  for (const auto& m : consumed) distinct.insert(m.headers.at("eventId"));
  EXPECT_EQ(distinct.size(), ids.size());

  // One payment, one key, one partition: offsets give Kafka's order.
  std::sort(consumed.begin(), consumed.end(),
            [](const auto& a, const auto& b) { return a.offset < b.offset; });
  std::map<std::string, std::vector<int>> sequences;
  for (const auto& m : consumed)
    sequences[m.key].push_back(nlohmann::json::parse(m.value)["sequence"]);
  ASSERT_EQ(sequences.size(), static_cast<std::size_t>(kPayments));
  for (const auto& [key, seq] : sequences) EXPECT_EQ(seq, (std::vector<int>{0, 1, 2, 3, 4})) << key;
}

}  // namespace
}  // namespace tbpay::test
