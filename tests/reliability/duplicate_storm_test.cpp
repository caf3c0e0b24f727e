// Scenario 1, duplicate storm: providers retry in bursts. Every callback of 2,000 PENDING
// payments arrives 5 times at once, over HTTP, at a real `tbpay serve` on PostgreSQL.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "reliability/support/serve.h"
#include "support/promtool.h"
#include "support/test_database.h"

namespace tbpay::reliability {
namespace {

constexpr int kPayments = 2000;
constexpr int kCopies = 5;
constexpr int kClients = 20;  // connections, each sending one request at a time

// Group commit was at work: every callback that reached the database went in a group, and
// callbacks arriving together shared one (more callbacks than groups).
void expect_callbacks_were_committed_in_groups(ServeUnderTest& serve, std::size_t callbacks) {
  HttpClient probe(serve.port());
  auto metrics = probe.request("GET", "/metrics");
  ASSERT_TRUE(metrics);
  auto samples = test::samples(metrics->body());
  const double grouped = samples["tbpay_webhook_grouped_callbacks_total"];
  const double groups = samples["tbpay_webhook_commit_groups_total"];
  EXPECT_EQ(grouped, static_cast<double>(callbacks));
  EXPECT_GT(grouped, groups) << "no group held more than one callback";
  std::printf("group commit: %.0f callbacks in %.0f groups\n", grouped, groups);
}

struct Delivery {
  std::size_t payment = 0;
  std::string path;
  std::string body;
  int status = 0;
  std::string reply;
  bool answered = false;
};

TEST(DuplicateStorm, FiveConcurrentCopiesOfEveryCallbackMakeExactlyOneTransitionAndOneEventEach) {
  test::PgTestDatabase db;
  db.migrate();
  TempFolder folder;
  const auto payments = seed_payments(db.url(), "TB-STORM-", kPayments);
  ASSERT_EQ(payments.size(), static_cast<std::size_t>(kPayments));

  // Every tenth PayOS payment fails (code "01"); the others complete.
  auto fails = [&](std::size_t i) {
    return payments[i].provider == Provider::PayOS && i % 10 == 1;
  };
  // The copies of one callback sit next to each other in the queue, so that the clients take
  // them at the same moment; they come in by the provider's route and by plain /webhook.
  std::vector<std::size_t> order(payments.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::mt19937 rng(20251213);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<Delivery> deliveries;
  for (std::size_t i : order) {
    const std::string body = signed_callback(payments[i], fails(i));
    for (int copy = 0; copy < kCopies; ++copy)
      deliveries.push_back({i,
                            copy % 2 ? std::string("/webhook") : webhook_path(payments[i].provider),
                            body,
                            0,
                            {},
                            false});
  }

  ServeUnderTest serve(tbpay_env(db.url()), folder.path());
  std::atomic<std::size_t> next{0};
  std::atomic<int> connection_failures{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      std::unique_ptr<HttpClient> conn;
      for (std::size_t k; (k = next.fetch_add(1)) < deliveries.size();) {
        auto& d = deliveries[k];
        if (!conn) conn = std::make_unique<HttpClient>(serve.port());
        auto r = conn->post(d.path, d.body);
        if (!r) {
          ++connection_failures;
          conn.reset();
          continue;
        }
        d.answered = true;
        d.status = status_of(*r);
        d.reply = r->body();
      }
    });
  }
  for (auto& t : clients) t.join();

  // Every reply is a success or a duplicate, never a retry or a rejection.
  EXPECT_EQ(connection_failures.load(), 0);
  expect_callbacks_were_committed_in_groups(serve, deliveries.size());
  std::map<ReplyMeaning, int> meanings;
  std::vector<int> zalopay_processed(payments.size(), 0);
  for (const auto& d : deliveries) {
    ASSERT_TRUE(d.answered) << "no reply for payment " << payments[d.payment].order_code;
    const auto m = meaning_of(payments[d.payment].provider, d.status, d.reply);
    ++meanings[m];
    EXPECT_TRUE(m == ReplyMeaning::Success || m == ReplyMeaning::Duplicate)
        << payments[d.payment].order_code << " got " << d.status << " " << d.reply;
    if (payments[d.payment].provider == Provider::ZaloPay && m == ReplyMeaning::Success)
      ++zalopay_processed[d.payment];
  }
  // ZaloPay's reply tells processed (1) from duplicate (2): exactly one copy was processed.
  for (std::size_t i = 0; i < payments.size(); ++i) {
    if (payments[i].provider == Provider::ZaloPay) {
      EXPECT_EQ(zalopay_processed[i], 1) << payments[i].order_code;
    }
  }

  // Exactly 2,000 transitions and 2,000 outbox events, one per payment, matching its state.
  EXPECT_EQ(pg_count(db.url(), "SELECT count(*) FROM outbox"), kPayments);
  EXPECT_EQ(pg_count(db.url(), "SELECT count(*) FROM payments WHERE status = 'PENDING'"), 0);
  EXPECT_EQ(pg_count(db.url(), R"(SELECT count(*) FROM payments p WHERE
              (SELECT count(*) FROM outbox o WHERE o."aggregateId" = p.id) <> 1)"),
            0);
  std::int64_t expected_failed = 0;
  for (std::size_t i = 0; i < payments.size(); ++i) expected_failed += fails(i) ? 1 : 0;
  EXPECT_EQ(
      pg_count(db.url(), R"(SELECT count(*) FROM payments p JOIN outbox o ON o."aggregateId" = p.id
              WHERE p.status = 'FAILED' AND o."eventType" = 'PAYMENT_FAILED' AND p."failedAt" IS NOT NULL)"),
      expected_failed);
  EXPECT_EQ(
      pg_count(db.url(), R"(SELECT count(*) FROM payments p JOIN outbox o ON o."aggregateId" = p.id
              WHERE p.status = 'COMPLETED' AND o."eventType" = 'PAYMENT_COMPLETED' AND p."completedAt" IS NOT NULL)"),
      kPayments - expected_failed);

  // The server's own account agrees: one "processed" line per payment, the rest duplicates.
  std::map<std::string, int> outcomes;
  for (const auto& line : serve.process().log_lines())
    if (line.contains("outcome")) ++outcomes[line["outcome"].get<std::string>()];
  EXPECT_EQ(outcomes["processed"], kPayments);
  EXPECT_EQ(outcomes["duplicate"], kPayments * (kCopies - 1));
  EXPECT_TRUE(serve.process().running());
  std::printf(
      "storm: %zu requests (%d payments x %d copies) on %d connections; %d success, %d duplicate "
      "replies\n",
      deliveries.size(), kPayments, kCopies, kClients, meanings[ReplyMeaning::Success],
      meanings[ReplyMeaning::Duplicate]);
}

// The same storm where PayOS reports each payment both failed and paid (the money arrived
// after all), the two callbacks racing, on both engines: whatever the order, each payment ends
// COMPLETED with one PAYMENT_COMPLETED event and at most one PAYMENT_FAILED event, the failure
// strictly earlier (the relay publishes a payment's events in createdAt order, so the order
// service must not see "completed" before "failed"), and the completion names FAILED as its
// previous status exactly when that failure was applied.
class RacingCallbacks : public ::testing::TestWithParam<test::Engine> {};

TEST_P(RacingCallbacks, FailureAndSuccessRacingEndCompletedWithEventsInTransitionOrder) {
  constexpr int kRacing = 300;
  auto db = test::make_test_database(GetParam());
  db->migrate();
  TempFolder folder;
  std::vector<SeededPayment> payos;
  for (int i = 1; i <= kRacing; ++i) {
    SeededPayment p{"TB-RACE-" + std::to_string(i), Provider::PayOS, "", 200000 + i};
    test::insert_payment(
        *db, {.order_code = p.order_code, .amount_cents = p.amount, .provider = Provider::PayOS});
    p.provider_transaction_id = db->scalar(
        R"(SELECT "providerTransactionId" FROM payments WHERE "orderCode" = $1)", {p.order_code});
    payos.push_back(p);
  }
  std::vector<std::string> bodies;
  for (const auto& p : payos) {
    for (int copy = 0; copy < 4; ++copy) {
      bodies.push_back(signed_callback(p, /*failed=*/true));
      bodies.push_back(signed_callback(p, /*failed=*/false));
    }
  }

  ServeUnderTest serve(tbpay_env(db->url()), folder.path());
  std::atomic<std::size_t> next{0};
  std::atomic<int> not_ok{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      HttpClient conn(serve.port());
      for (std::size_t k; (k = next.fetch_add(1)) < bodies.size();) {
        auto r = conn.post("/webhook/payos", bodies[k]);
        if (!r || meaning_of(Provider::PayOS, status_of(*r), r->body()) != ReplyMeaning::Success)
          ++not_ok;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(not_ok.load(), 0);
  expect_callbacks_were_committed_in_groups(serve, bodies.size());

  EXPECT_EQ(db->count("SELECT count(*) FROM payments WHERE status = 'COMPLETED'"), kRacing);
  EXPECT_EQ(db->count(R"(SELECT count(*) FROM payments p WHERE
              (SELECT count(*) FROM outbox o WHERE o."aggregateId" = p.id AND o."eventType" = 'PAYMENT_COMPLETED') <> 1
              OR (SELECT count(*) FROM outbox o WHERE o."aggregateId" = p.id AND o."eventType" = 'PAYMENT_FAILED') > 1)"),
            0);
  const auto inverted = db->query(R"(SELECT c."aggregateId", f."createdAt", c."createdAt"
              FROM outbox f JOIN outbox c ON c."aggregateId" = f."aggregateId"
             WHERE f."eventType" = 'PAYMENT_FAILED' AND c."eventType" = 'PAYMENT_COMPLETED'
               AND f."createdAt" >= c."createdAt")");
  EXPECT_EQ(inverted.size(), 0u) << inverted.size() << " payments, e.g. " << *inverted[0][0]
                                 << ": PAYMENT_FAILED at " << *inverted[0][1]
                                 << ", PAYMENT_COMPLETED at " << *inverted[0][2];
  EXPECT_EQ(db->count(R"(SELECT count(*) FROM outbox c WHERE c."eventType" = 'PAYMENT_COMPLETED'
              AND (CASE WHEN c.payload->>'previous_status' = 'FAILED' THEN 1 ELSE 0 END) <>
                  (CASE WHEN EXISTS (SELECT 1 FROM outbox f WHERE f."aggregateId" = c."aggregateId"
                                        AND f."eventType" = 'PAYMENT_FAILED') THEN 1 ELSE 0 END))"),
            0);
  // The payment's times are its events' times.
  EXPECT_EQ(db->count(R"(SELECT count(*) FROM payments p JOIN outbox c ON c."aggregateId" = p.id
              WHERE c."eventType" = 'PAYMENT_COMPLETED' AND (p."completedAt" <> c."createdAt" OR p."updatedAt" <> c."createdAt"))"),
            0);
  EXPECT_EQ(db->count(R"(SELECT count(*) FROM payments p JOIN outbox f ON f."aggregateId" = p.id
              WHERE f."eventType" = 'PAYMENT_FAILED' AND p."failedAt" <> f."createdAt")"),
            0);
  const auto failures =
      db->count(R"(SELECT count(*) FROM outbox WHERE "eventType" = 'PAYMENT_FAILED')");
  EXPECT_TRUE(serve.process().running());
  std::printf(
      "race (%s): %zu requests for %d PayOS payments; %lld failures applied before the success\n",
      test::to_string(GetParam()).c_str(), bodies.size(), kRacing,
      static_cast<long long>(failures));
}

INSTANTIATE_TEST_SUITE_P(Engines, RacingCallbacks, ::testing::ValuesIn(test::all_engines()),
                         test::EngineName{});

}  // namespace
}  // namespace tbpay::reliability
