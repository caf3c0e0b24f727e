#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "crypto/crypto.h"
#include "store/store_fixture.h"

namespace tbpay::test {
namespace {

using std::chrono::minutes;

const Timestamp kT0 = *parse_timestamp("2025-12-13T06:00:00.000Z");
constexpr int kMaxRetries = 3;

std::vector<std::string> ids_of(const std::vector<OutboxEvent>& events) {
  std::vector<std::string> ids;
  for (const auto& e : events) ids.push_back(e.id);
  return ids;
}

class OutboxStoreTest : public StoreTest {
 protected:
  // A payment with events at kT0 + the given minutes; returns the event ids in that order.
  std::vector<std::string> payment_with_events(const std::string& order, std::vector<int> at) {
    const auto payment = insert_payment(*db_, {.order_code = order});
    std::vector<std::string> ids;
    for (int m : at)
      ids.push_back(insert_event(*db_, {.aggregate_id = payment, .created_at = kT0 + minutes(m)}));
    return ids;
  }

  std::unique_ptr<OutboxClaim> claim(std::size_t limit = 100,
                                     std::vector<std::string> exclude = {}) {
    ClaimOptions options;
    options.limit = limit;
    options.max_retries = kMaxRetries;
    options.exclude_ids = std::move(exclude);
    auto c = outbox().claim_batch(options);
    EXPECT_TRUE(c) << c.error().message;
    return c ? std::move(c).value() : nullptr;
  }

  Row event_row(const std::string& id) {
    auto rows = db_->query(
        R"(SELECT published, "publishedAt", "retryCount", "lastError" FROM outbox WHERE id = $1)",
        {id});
    EXPECT_EQ(rows.size(), 1u);
    return rows.empty() ? Row(4) : rows[0];
  }
};

TEST_P(OutboxStoreTest, ClaimTakesTheOldestPendingEventOfEachPaymentInCreatedAtOrder) {
  const auto a = payment_with_events("TB-A", {1, 5});
  const auto b = payment_with_events("TB-B", {3});
  const auto c = insert_payment(*db_, {.order_code = "TB-C"});
  insert_event(
      *db_,
      {.aggregate_id = c, .created_at = kT0, .published = true, .published_at = kT0 + minutes(1)});
  insert_event(*db_, {.aggregate_id = c,
                      .created_at = kT0 + minutes(2),
                      .retry_count = kMaxRetries,
                      .last_error = "dead"});

  auto batch = claim();

  ASSERT_TRUE(batch);
  EXPECT_EQ(ids_of(batch->events()), (std::vector<std::string>{a[0], b[0]}));
  const auto& first = batch->events()[0];
  EXPECT_EQ(first.aggregate_type, "Payment");
  EXPECT_EQ(first.event_type, "PAYMENT_COMPLETED");
  EXPECT_EQ(first.payload.find("TB-SEED") != std::string::npos, true);
  EXPECT_EQ(first.created_at, kT0 + minutes(1));
  EXPECT_FALSE(first.published);
  EXPECT_EQ(first.retry_count, 0);
}

TEST_P(OutboxStoreTest, ExcludedEventHoldsBackItsPaymentsLaterEvents) {
  const auto a = payment_with_events("TB-A", {1, 2});
  const auto b = payment_with_events("TB-B", {3});

  auto batch = claim(100, {a[0]});

  ASSERT_TRUE(batch);
  EXPECT_EQ(ids_of(batch->events()), (std::vector<std::string>{b[0]}));
}

TEST_P(OutboxStoreTest, LimitBoundsTheBatch) {
  for (int i = 0; i < 7; ++i) payment_with_events("TB-" + std::to_string(i), {i});
  auto batch = claim(5);
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->events().size(), 5u);
}

TEST_P(OutboxStoreTest, FinishMarksPublishedFailedAndDead) {
  const auto a = payment_with_events("TB-A", {1, 4});
  const auto b = payment_with_events("TB-B", {2});
  const auto c = payment_with_events("TB-C", {3});
  const Timestamp at = kT0 + minutes(10);
  const std::string long_error = std::string(600, 'x');
  auto batch = claim();
  ASSERT_EQ(batch->events().size(), 3u);

  const std::vector<DeliveryOutcome> outcomes = {
      {a[0], true, "", false},
      {b[0], false, long_error, false},
      {c[0], false, "unknown event type 'Refunded': no topic", true},
      {"not-claimed", true, "", false},
  };
  auto finished = batch->finish(outcomes, at);

  ASSERT_TRUE(finished) << finished.error().message;
  auto ra = event_row(a[0]);
  EXPECT_TRUE(is_true(ra[0]));
  EXPECT_EQ(parse_timestamp(ra[1].value_or("")), at);
  EXPECT_EQ(ra[2], "0");
  auto rb = event_row(b[0]);
  EXPECT_FALSE(is_true(rb[0]));
  EXPECT_EQ(rb[1], std::nullopt);
  EXPECT_EQ(rb[2], "1");
  EXPECT_EQ(rb[3], std::string(500, 'x'));
  auto rc = event_row(c[0]);
  EXPECT_FALSE(is_true(rc[0]));
  EXPECT_EQ(rc[2], std::to_string(kMaxRetries));
  EXPECT_EQ(rc[3], "unknown event type 'Refunded': no topic");
  // Next run: A's second event (its first is out) and B's retry; C is dead.
  auto next = claim();
  EXPECT_EQ(ids_of(next->events()), (std::vector<std::string>{b[0], a[1]}));
}

// A failed try rewrote the row (on PostgreSQL a new row version, somewhere else in the table):
// the later claim and its finish still mark that event, and only it.
TEST_P(OutboxStoreTest, AnEventDeliveredAfterAFailedTryIsMarkedPublishedAndNothingElse) {
  const auto a = payment_with_events("TB-A", {1});
  const auto b = payment_with_events("TB-B", {2});
  auto first = claim();
  ASSERT_EQ(ids_of(first->events()), (std::vector<std::string>{a[0], b[0]}));
  ASSERT_TRUE(first->finish(
      std::vector<DeliveryOutcome>{{a[0], false, "broker down", false},
                                   {b[0], false, "broker down", false}},
      kT0 + minutes(5)));

  auto second = claim(1);
  ASSERT_EQ(ids_of(second->events()), std::vector<std::string>{a[0]});
  ASSERT_TRUE(second->finish(std::vector<DeliveryOutcome>{{a[0], true, "", false}},
                             kT0 + minutes(6)));

  EXPECT_TRUE(is_true(event_row(a[0])[0]));
  EXPECT_EQ(parse_timestamp(event_row(a[0])[1].value_or("")), kT0 + minutes(6));
  EXPECT_FALSE(is_true(event_row(b[0])[0]));
  EXPECT_EQ(event_row(b[0])[2], "1");
  EXPECT_EQ(db_->count("SELECT count(*) FROM outbox WHERE published"), 1);
}

TEST_P(OutboxStoreTest, LastErrorIsCutTo500CharactersOfValidText) {
  const auto a = payment_with_events("TB-A", {1});
  std::string error("bad \xff\x00 byte", 11);
  for (int i = 0; i < 300; ++i) error += "lỗi";  // 3 characters each time
  auto batch = claim();
  ASSERT_TRUE(batch->finish(std::vector<DeliveryOutcome>{{a[0], false, error, false}}, kT0));

  const auto stored = *event_row(a[0])[3];
  std::string expected = "bad ?? byte";  // 11 characters, then 163 x 3 = 489
  for (int i = 0; i < 163; ++i) expected += "lỗi";
  EXPECT_EQ(stored, expected);
}

TEST_P(OutboxStoreTest, ClaimDroppedWithoutFinishLeavesEventsUnchanged) {
  const auto a = payment_with_events("TB-A", {1});
  {
    auto batch = claim();
    ASSERT_EQ(batch->events().size(), 1u);
  }
  auto row = event_row(a[0]);
  EXPECT_FALSE(is_true(row[0]));
  EXPECT_EQ(row[2], "0");
  EXPECT_EQ(ids_of(claim()->events()), std::vector<std::string>{a[0]});
}

// The relay claims the next batch while one is on the wire only where the store says a claim
// holds its rows (OutboxStore::claim_holds_rows): each engine's answer is what a second claim
// then sees.
TEST_P(OutboxStoreTest, ClaimHoldsRowsSaysWhetherASecondClaimSeesTheUnfinishedBatch) {
  const auto a = payment_with_events("TB-A", {1});
  auto first = claim();
  ASSERT_EQ(ids_of(first->events()), std::vector<std::string>{a[0]});

  auto second = claim();

  if (outbox().claim_holds_rows())
    EXPECT_TRUE(second->events().empty());
  else
    EXPECT_EQ(ids_of(second->events()), std::vector<std::string>{a[0]});
}

TEST_P(OutboxStoreTest, OneRelayDrainsEveryEventOnceInPerPaymentOrder) {
  std::map<std::string, std::vector<std::string>> expected;  // payment order -> event ids
  for (int p = 0; p < 30; ++p) {
    const std::string order = "TB-D-" + std::to_string(p);
    expected[order] = payment_with_events(order, {p, p + 40, p + 80});
  }
  std::vector<std::string> published;
  for (int round = 0; round < 20; ++round) {
    auto batch = claim(25);
    if (batch->events().empty()) break;
    std::vector<DeliveryOutcome> outcomes;
    for (const auto& e : batch->events()) {
      published.push_back(e.id);
      outcomes.push_back({e.id, true, "", false});
    }
    ASSERT_TRUE(batch->finish(outcomes, kT0 + minutes(100)));
  }
  EXPECT_EQ(published.size(), 90u);
  for (const auto& [order, ids] : expected) {
    auto pos = [&](const std::string& id) {
      return std::find(published.begin(), published.end(), id) - published.begin();
    };
    EXPECT_LT(pos(ids[0]), pos(ids[1])) << order;
    EXPECT_LT(pos(ids[1]), pos(ids[2])) << order;
  }
}

TEST_P(OutboxStoreTest, CleanupDeletesOnlyPublishedEventsPastTheCutoffInChunks) {
  const auto p = insert_payment(*db_, {.order_code = "TB-A"});
  const Timestamp cutoff = kT0 + minutes(60);
  std::set<std::string> kept;
  for (int i = 0; i < 5; ++i)  // old and published: deleted
    insert_event(*db_, {.aggregate_id = p,
                        .created_at = kT0 + minutes(i),
                        .published = true,
                        .published_at = kT0 + minutes(i + 1)});
  kept.insert(insert_event(*db_, {.aggregate_id = p,
                                  .created_at = kT0,
                                  .published = true,
                                  .published_at = cutoff + minutes(1)}));
  kept.insert(insert_event(*db_, {.aggregate_id = p, .created_at = kT0}));  // pending
  kept.insert(insert_event(
      *db_, {.aggregate_id = p, .created_at = kT0, .retry_count = kMaxRetries}));  // dead

  std::vector<std::size_t> chunks;
  for (;;) {
    auto deleted = outbox().delete_published_before(cutoff, 2);
    ASSERT_TRUE(deleted) << deleted.error().message;
    chunks.push_back(*deleted);
    if (*deleted == 0) break;
  }

  EXPECT_EQ(chunks, (std::vector<std::size_t>{2, 2, 1, 0}));
  std::set<std::string> left;
  for (const auto& row : db_->query("SELECT id FROM outbox")) left.insert(*row[0]);
  EXPECT_EQ(left, kept);
}

TEST_P(OutboxStoreTest, StatsCountEveryKindAndTheOldestPendingAge) {
  const auto p = insert_payment(*db_, {.order_code = "TB-A"});
  insert_event(*db_,
               {.aggregate_id = p, .created_at = kT0, .published = true, .published_at = kT0});
  insert_event(*db_, {.aggregate_id = p, .created_at = kT0 + minutes(30)});
  insert_event(*db_, {.aggregate_id = p, .created_at = kT0 + minutes(45), .retry_count = 1});
  insert_event(*db_, {.aggregate_id = p, .created_at = kT0 + minutes(10), .retry_count = 3});

  auto stats = outbox().stats(kT0 + minutes(120), kMaxRetries);
  auto empty_db = make_test_database(GetParam().engine);
  empty_db->migrate();
  auto none = empty_db->open()->outbox().stats(kT0, kMaxRetries);

  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->total, 4);
  EXPECT_EQ(stats->published, 1);
  EXPECT_EQ(stats->pending, 2);
  EXPECT_EQ(stats->dead, 1);
  ASSERT_TRUE(stats->oldest_pending_age_minutes);
  EXPECT_DOUBLE_EQ(*stats->oldest_pending_age_minutes, 90.0);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->total, 0);
  EXPECT_FALSE(none->oldest_pending_age_minutes);
}

TEST_P(OutboxStoreTest, DeadEventsAreListedAndRequeued) {
  const auto p = insert_payment(*db_, {.order_code = "TB-A"});
  const auto d1 = insert_event(
      *db_,
      {.aggregate_id = p, .created_at = kT0, .retry_count = 3, .last_error = "broker said no"});
  const auto d2 = insert_event(*db_, {.aggregate_id = p,
                                      .created_at = kT0 + minutes(1),
                                      .retry_count = 5,
                                      .last_error = "unknown type"});
  const auto pending =
      insert_event(*db_, {.aggregate_id = p, .created_at = kT0 + minutes(2), .retry_count = 2});

  auto dead = outbox().dead_events(kMaxRetries, 10);
  ASSERT_TRUE(dead) << dead.error().message;
  ASSERT_EQ(ids_of(*dead), (std::vector<std::string>{d1, d2}));
  EXPECT_EQ((*dead)[0].last_error, "broker said no");
  EXPECT_EQ((*dead)[1].retry_count, 5);

  const std::vector<std::string> one{d1}, not_dead{pending}, all{};
  EXPECT_EQ(outbox().requeue(not_dead, kMaxRetries).value(), 0u);
  EXPECT_EQ(outbox().requeue(one, kMaxRetries).value(), 1u);
  EXPECT_EQ(event_row(d1)[2], "0");
  EXPECT_EQ(event_row(d1)[3], "broker said no");  // kept for the record
  EXPECT_EQ(event_row(d2)[2], "5");
  EXPECT_EQ(outbox().requeue(all, kMaxRetries).value(), 1u);
  EXPECT_EQ(event_row(d2)[2], "0");
  EXPECT_EQ(event_row(pending)[2], "2");
  EXPECT_TRUE(outbox().dead_events(kMaxRetries, 10)->empty());
}

// The Node.js relay marked what it published by setting only "publishedAt".
TEST_P(OutboxStoreTest, RowsOnlyPublishedAtMarksArePublishedForEveryRead) {
  const auto p = insert_payment(*db_, {.order_code = "TB-A"});
  std::vector<std::string> node_rows;
  for (int i = 0; i < 3; ++i)
    node_rows.push_back(insert_event(*db_, {.aggregate_id = p,
                                            .created_at = kT0 + minutes(i),
                                            .published_at = kT0 + minutes(i + 1),
                                            .retry_count = i == 2 ? 5 : 0}));
  const auto pending = insert_event(*db_, {.aggregate_id = p, .created_at = kT0 + minutes(10)});
  const auto dead =
      insert_event(*db_, {.aggregate_id = p, .created_at = kT0 + minutes(5), .retry_count = 3});

  auto c = claim();
  ASSERT_TRUE(c);
  EXPECT_EQ(ids_of(c->events()), (std::vector<std::string>{pending}));
  c.reset();
  auto stats = outbox().stats(kT0 + minutes(20), kMaxRetries);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->total, 5);
  EXPECT_EQ(stats->published, 3);
  EXPECT_EQ(stats->published_at_only, 3);
  EXPECT_EQ(stats->pending, 1);
  EXPECT_EQ(stats->dead, 1);
  EXPECT_DOUBLE_EQ(stats->oldest_pending_age_minutes.value_or(-1), 10.0);
  EXPECT_EQ(ids_of(outbox().dead_events(kMaxRetries, 10).value()),
            (std::vector<std::string>{dead}));
  EXPECT_EQ(outbox().requeue({}, kMaxRetries).value(), 1u);  // the dead one only
  EXPECT_EQ(event_row(node_rows[2])[2], "5") << "not requeued";
}

// Each engine writes the outbox states as SQL predicates; every read must sort a row as
// core's outbox_state() does, including the rows the Node.js relay left (only "publishedAt").
TEST_P(OutboxStoreTest, EveryReadSortsRowsAsTheCoreOutboxState) {
  std::vector<OutboxEvent> rows;  // each of its own payment: the claim may take every pending one
  int minute = 0;
  for (bool published : {false, true})
    for (bool published_at : {false, true})
      for (int retries : {0, kMaxRetries - 1, kMaxRetries, kMaxRetries + 2}) {
        OutboxEvent e;
        e.aggregate_id = insert_payment(*db_, {.order_code = "TB-" + std::to_string(minute)});
        e.created_at = kT0 + minutes(minute++);
        e.published = published;
        if (published_at) e.published_at = e.created_at + minutes(1);
        e.retry_count = retries;
        e.id = insert_event(*db_, {.aggregate_id = e.aggregate_id,
                                   .created_at = e.created_at,
                                   .published = e.published,
                                   .published_at = e.published_at,
                                   .retry_count = e.retry_count});
        rows.push_back(e);
      }
  std::vector<std::string> pending, dead, published;
  for (const auto& e : rows) {
    switch (outbox_state(e, kMaxRetries)) {
      case OutboxState::Pending:
        pending.push_back(e.id);
        break;
      case OutboxState::Dead:
        dead.push_back(e.id);
        break;
      case OutboxState::Published:
        published.push_back(e.id);
        break;
    }
  }
  ASSERT_FALSE(pending.empty() || dead.empty() || published.empty());

  auto stats = outbox().stats(kT0 + minutes(100), kMaxRetries);
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->total, std::ssize(rows));
  EXPECT_EQ(stats->pending, std::ssize(pending));
  EXPECT_EQ(stats->dead, std::ssize(dead));
  EXPECT_EQ(stats->published, std::ssize(published));
  EXPECT_EQ(outbox().oldest_pending(kMaxRetries, std::nullopt).value(), rows[0].created_at);
  auto c = claim();
  ASSERT_TRUE(c);
  EXPECT_EQ(ids_of(c->events()), pending);
  c.reset();
  EXPECT_EQ(ids_of(outbox().dead_events(kMaxRetries, 100).value()), dead);
  EXPECT_EQ(outbox().requeue({}, kMaxRetries).value(), dead.size());
  EXPECT_TRUE(outbox().dead_events(kMaxRetries, 100).value().empty());
}

TEST_P(OutboxStoreTest, NormalizeFlagsRowsOnlyPublishedAtMarksInBoundedChunks) {
  const auto p = insert_payment(*db_, {.order_code = "TB-A"});
  std::map<std::string, std::string> published_at;
  for (int i = 0; i < 5; ++i) {
    const auto id = insert_event(
        *db_,
        {.aggregate_id = p, .created_at = kT0 + minutes(i), .published_at = kT0 + minutes(i + 1)});
    published_at[id] = *event_row(id)[1];
  }
  const auto pending = insert_event(*db_, {.aggregate_id = p, .created_at = kT0});

  std::vector<std::size_t> chunks;
  for (;;) {
    auto marked = outbox().normalize_published(2);
    ASSERT_TRUE(marked) << marked.error().message;
    chunks.push_back(*marked);
    if (*marked == 0) break;
  }

  EXPECT_EQ(chunks, (std::vector<std::size_t>{2, 2, 1, 0}));
  for (const auto& [id, at] : published_at) {
    EXPECT_TRUE(is_true(event_row(id)[0])) << id;
    EXPECT_EQ(event_row(id)[1], at) << "publishedAt kept: " << id;
  }
  EXPECT_FALSE(is_true(event_row(pending)[0]));
  EXPECT_FALSE(event_row(pending)[1].has_value());
  auto stats = outbox().stats(kT0 + minutes(20), kMaxRetries);
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->published, 5);
  EXPECT_EQ(stats->published_at_only, 0);
  EXPECT_EQ(stats->pending, 1);
}

INSTANTIATE_TEST_SUITE_P(Stores, OutboxStoreTest, ::testing::ValuesIn(store_setups()),
                         StoreSetupName{});

// --- Several relays on PostgreSQL ---------------------------------------------------------

class PostgresRelays : public OutboxStoreTest {};

TEST_P(PostgresRelays, ConcurrentClaimsNeverOverlapNorTakeAnEventWhosePredecessorIsClaimed) {
  std::vector<std::vector<std::string>> events;
  for (int p = 0; p < 20; ++p)
    events.push_back(payment_with_events("TB-" + std::to_string(p), {p, 30 + p}));

  auto first = claim(8);     // holds the first events of payments 0..7
  auto second = claim(100);  // concurrently, from another relay

  ASSERT_EQ(first->events().size(), 8u);
  const auto first_ids = ids_of(first->events());
  const std::set<std::string> held(first_ids.begin(), first_ids.end());
  const auto taken = ids_of(second->events());
  EXPECT_EQ(taken.size(), 12u);  // the first events of payments 8..19, nothing else
  for (int p = 0; p < 20; ++p) {
    const bool in_first = held.contains(events[p][0]);
    const bool in_second = std::count(taken.begin(), taken.end(), events[p][0]) == 1;
    EXPECT_NE(in_first, in_second) << "payment " << p;
    EXPECT_EQ(std::count(taken.begin(), taken.end(), events[p][1]), 0) << "payment " << p;
  }
}

TEST_P(PostgresRelays, AnEventPublishedByAnotherRelayIsNotClaimedAgain) {
  const auto a = payment_with_events("TB-A", {1, 2});
  auto first = claim();
  ASSERT_EQ(ids_of(first->events()), std::vector<std::string>{a[0]});
  auto second = claim();
  EXPECT_TRUE(second->events().empty());  // a[1] waits for a[0]

  ASSERT_TRUE(first->finish(std::vector<DeliveryOutcome>{{a[0], true, "", false}}, kT0));
  auto third = claim();
  EXPECT_EQ(ids_of(third->events()), std::vector<std::string>{a[1]});
}

TEST_P(PostgresRelays, FourRelaysDrainEveryEventExactlyOnceInPerPaymentOrder) {
  constexpr int kPayments = 120, kPerPayment = 3;
  std::vector<std::vector<std::string>> events;
  for (int p = 0; p < kPayments; ++p)
    events.push_back(
        payment_with_events("TB-" + std::to_string(p), {p % 7, 10 + p % 5, 20 + p % 3}));

  std::mutex log_mutex;
  std::vector<std::string> published;  // in the order relays "sent" them
  std::atomic<int> errors{0};
  auto relay = [&] {
    auto db = db_->open();
    for (int idle = 0; idle < 3;) {
      ClaimOptions options;
      options.limit = 16;
      auto batch = db->outbox().claim_batch(options);
      if (!batch) {
        ++errors;
        return;
      }
      if ((*batch)->events().empty()) {
        ++idle;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      idle = 0;
      std::vector<DeliveryOutcome> outcomes;
      for (const auto& e : (*batch)->events()) {
        {
          std::lock_guard lock(log_mutex);
          published.push_back(e.id);
        }
        outcomes.push_back({e.id, true, "", false});
      }
      if (!(*batch)->finish(outcomes, now_utc())) ++errors;
    }
  };
  std::vector<std::thread> relays;
  for (int i = 0; i < 4; ++i) relays.emplace_back(relay);
  for (auto& t : relays) t.join();

  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(published.size(), std::size_t(kPayments * kPerPayment));
  std::map<std::string, std::size_t> position;
  for (std::size_t i = 0; i < published.size(); ++i)
    EXPECT_TRUE(position.emplace(published[i], i).second) << "published twice: " << published[i];
  for (int p = 0; p < kPayments; ++p) {
    EXPECT_LT(position[events[p][0]], position[events[p][1]]) << "payment " << p;
    EXPECT_LT(position[events[p][1]], position[events[p][2]]) << "payment " << p;
  }
  EXPECT_EQ(db_->count("SELECT count(*) FROM outbox WHERE published"), kPayments * kPerPayment);
}

INSTANTIATE_TEST_SUITE_P(Postgres, PostgresRelays,
                         ::testing::Values(store_setups()[0], store_setups()[1]), StoreSetupName{});

}  // namespace
}  // namespace tbpay::test
