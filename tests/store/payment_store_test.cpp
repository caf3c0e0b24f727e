#include <array>
#include <atomic>
#include <latch>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/event_payload.h"
#include "crypto/crypto.h"
#include "store/open.h"
#include "store/store_fixture.h"

namespace tbpay::test {
namespace {

using nlohmann::json;

const Timestamp kAt = *parse_timestamp("2025-12-13T06:05:18.385Z");

// A ZaloPay callback as ZaloPay sends it: its app_trans_id, and the order code read from that.
TransitionRequest zalopay_callback(const std::string& app_trans_id, std::int64_t amount = 150000) {
  TransitionRequest r;
  r.callback.provider = Provider::ZaloPay;
  r.callback.transaction_id = app_trans_id;
  r.callback.fallback_order_code = zalopay_fallback_order_code(app_trans_id);
  r.callback.amount = amount;
  r.event_id = uuid_v4();
  r.at = kAt;
  return r;
}
constexpr const char* kOrder = "TB-LTDTNL-20251213-8D39986M";

class PaymentStoreTest : public StoreTest {
 protected:
  // A callback for the payment `order_code` seeded with insert_payment().
  TransitionRequest callback(const std::string& order_code, PaymentStatus outcome,
                             std::int64_t amount = 150000) {
    auto found = payments().find_by_order_code(order_code);
    EXPECT_TRUE(found && *found) << order_code;
    TransitionRequest r;
    r.callback.provider = (*found)->provider;
    r.callback.transaction_id = (*found)->provider_transaction_id;
    r.callback.amount = amount;
    r.callback.outcome = outcome;
    r.callback.reason = outcome == PaymentStatus::Failed ? "Giao dịch thất bại" : "";
    r.callback.provider_reference = "240000123";
    r.event_id = uuid_v4();
    r.at = kAt;
    return r;
  }

  std::string status_of(const std::string& order_code) {
    return db_->scalar(R"(SELECT status FROM payments WHERE "orderCode" = $1)", {order_code});
  }
  std::int64_t event_count() { return db_->count("SELECT count(*) FROM outbox"); }
  Timestamp column_time(const std::string& column, const std::string& order_code) {
    auto text = db_->scalar("SELECT \"" + column + "\" FROM payments WHERE \"orderCode\" = $1",
                            {order_code});
    auto t = parse_timestamp(text);
    EXPECT_TRUE(t) << text;
    return t.value_or(Timestamp{});
  }
};

TEST_P(PaymentStoreTest, FirstSuccessCompletesThePaymentAndWritesOneEvent) {
  const auto id = insert_payment(*db_, {.order_code = kOrder});
  auto request = callback(kOrder, PaymentStatus::Completed);

  auto outcome = payments().apply(request);

  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->result, TransitionResult::Applied);
  EXPECT_EQ(outcome->payment_id, id);
  EXPECT_EQ(outcome->order_code, kOrder);
  EXPECT_EQ(outcome->previous_status, PaymentStatus::Pending);
  EXPECT_EQ(outcome->status, PaymentStatus::Completed);
  EXPECT_EQ(outcome->event_id, request.event_id);
  EXPECT_EQ(status_of(kOrder), "COMPLETED");
  EXPECT_EQ(column_time("completedAt", kOrder), kAt);
  EXPECT_EQ(column_time("updatedAt", kOrder), kAt);
  EXPECT_EQ(db_->query(R"(SELECT "failedAt" FROM payments)")[0][0], std::nullopt);

  auto rows = db_->query(
      R"(SELECT id, "aggregateId", "aggregateType", "eventType", payload, published,
                "publishedAt", "createdAt", "retryCount", "lastError" FROM outbox)");
  ASSERT_EQ(rows.size(), 1u);
  const auto& e = rows[0];
  EXPECT_EQ(e[0], request.event_id);
  EXPECT_EQ(e[1], id);
  EXPECT_EQ(e[2], "Payment");
  EXPECT_EQ(e[3], "PAYMENT_COMPLETED");
  EXPECT_EQ(json::parse(*e[4]), json({{"order_code", kOrder},
                                      {"payment_id", id},
                                      {"amount_cents", 150000},
                                      {"currency", "VND"},
                                      {"provider", "ZALOPAY"},
                                      {"transaction_id", request.callback.transaction_id},
                                      {"provider_reference", "240000123"},
                                      {"completed_at", "2025-12-13T06:05:18.385Z"}}));
  EXPECT_FALSE(is_true(e[5]));
  EXPECT_EQ(e[6], std::nullopt);
  EXPECT_EQ(parse_timestamp(*e[7]), kAt);
  EXPECT_EQ(e[8], "0");
  EXPECT_EQ(e[9], std::nullopt);
}

TEST_P(PaymentStoreTest, RepeatedCallbackIsADuplicateAndWritesNoSecondEvent) {
  insert_payment(*db_, {.order_code = kOrder});
  ASSERT_EQ(payments().apply(callback(kOrder, PaymentStatus::Completed))->result,
            TransitionResult::Applied);
  auto again = callback(kOrder, PaymentStatus::Completed);
  again.at = kAt + std::chrono::minutes(5);

  auto outcome = payments().apply(again);

  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->result, TransitionResult::Duplicate);
  EXPECT_EQ(outcome->previous_status, PaymentStatus::Completed);
  EXPECT_EQ(outcome->status, PaymentStatus::Completed);
  EXPECT_TRUE(outcome->event_id.empty());
  EXPECT_EQ(event_count(), 1);
  EXPECT_EQ(column_time("updatedAt", kOrder), kAt);
}

TEST_P(PaymentStoreTest, TwentyConcurrentIdenticalCallbacksMakeExactlyOneTransition) {
  insert_payment(*db_, {.order_code = kOrder});
  const auto request = callback(kOrder, PaymentStatus::Completed);
  constexpr int kCallers = 20;
  std::vector<Result<TransitionOutcome>> outcomes(kCallers, Error{});
  std::latch start(kCallers);
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([&, i] {
      auto mine = request;
      mine.event_id = uuid_v4();  // each delivery generates its own event id
      start.arrive_and_wait();
      outcomes[i] = payments().apply(mine);
    });
  }
  for (auto& t : callers) t.join();

  int applied = 0, duplicates = 0;
  for (const auto& o : outcomes) {
    ASSERT_TRUE(o) << o.error().message;
    applied += o->result == TransitionResult::Applied;
    duplicates += o->result == TransitionResult::Duplicate;
  }
  EXPECT_EQ(applied, 1);
  EXPECT_EQ(duplicates, kCallers - 1);
  EXPECT_EQ(event_count(), 1);
  EXPECT_EQ(status_of(kOrder), "COMPLETED");
}

TEST_P(PaymentStoreTest, FailureAfterCompletionChangesNothing) {
  insert_payment(*db_, {.order_code = kOrder, .provider = Provider::PayOS});
  ASSERT_EQ(payments().apply(callback(kOrder, PaymentStatus::Completed))->result,
            TransitionResult::Applied);

  auto outcome = payments().apply(callback(kOrder, PaymentStatus::Failed));

  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->result, TransitionResult::Duplicate);
  EXPECT_EQ(outcome->status, PaymentStatus::Completed);
  EXPECT_EQ(status_of(kOrder), "COMPLETED");
  EXPECT_EQ(db_->query(R"(SELECT "failedAt" FROM payments)")[0][0], std::nullopt);
  EXPECT_EQ(event_count(), 1);
}

TEST_P(PaymentStoreTest, FailureThenLateSuccessCompletesWithPreviousStatus) {
  const auto id = insert_payment(*db_, {.order_code = kOrder, .provider = Provider::PayOS});
  auto failure = callback(kOrder, PaymentStatus::Failed);
  auto failed = payments().apply(failure);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->result, TransitionResult::Applied);
  EXPECT_EQ(failed->status, PaymentStatus::Failed);
  EXPECT_EQ(status_of(kOrder), "FAILED");
  EXPECT_EQ(column_time("failedAt", kOrder), kAt);

  auto success = callback(kOrder, PaymentStatus::Completed);
  success.at = kAt + std::chrono::seconds(90);
  auto completed = payments().apply(success);

  ASSERT_TRUE(completed);
  EXPECT_EQ(completed->result, TransitionResult::Applied);
  EXPECT_EQ(completed->previous_status, PaymentStatus::Failed);
  EXPECT_EQ(status_of(kOrder), "COMPLETED");
  EXPECT_EQ(column_time("completedAt", kOrder), success.at);
  EXPECT_EQ(column_time("failedAt", kOrder), kAt);  // kept: it did fail first

  auto events = payments().events_for_payment(id);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].event_type, "PAYMENT_FAILED");
  auto first = json::parse((*events)[0].payload);
  EXPECT_EQ(first["reason"], "Giao dịch thất bại");
  EXPECT_EQ(first["failed_at"], "2025-12-13T06:05:18.385Z");
  EXPECT_FALSE(first.contains("completed_at"));
  EXPECT_FALSE(first.contains("previous_status"));
  EXPECT_EQ((*events)[1].event_type, "PAYMENT_COMPLETED");
  auto second = json::parse((*events)[1].payload);
  EXPECT_EQ(second["previous_status"], "FAILED");
  EXPECT_EQ(second["completed_at"], "2025-12-13T06:06:48.385Z");
}

TEST_P(PaymentStoreTest, CancelledPaymentThatIsPaidCompletes) {
  insert_payment(*db_, {.order_code = kOrder, .status = "CANCELLED"});

  auto outcome = payments().apply(callback(kOrder, PaymentStatus::Completed));

  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->result, TransitionResult::Applied);
  EXPECT_EQ(outcome->previous_status, PaymentStatus::Cancelled);
  EXPECT_EQ(status_of(kOrder), "COMPLETED");
  auto payload = json::parse(db_->scalar("SELECT payload FROM outbox"));
  EXPECT_EQ(payload["previous_status"], "CANCELLED");
}

TEST_P(PaymentStoreTest, AmountMismatchChangesNothing) {
  insert_payment(*db_, {.order_code = kOrder, .amount_cents = 150000});
  const auto updated_before = column_time("updatedAt", kOrder);

  auto outcome = payments().apply(callback(kOrder, PaymentStatus::Completed, 1000));

  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->result, TransitionResult::AmountMismatch);
  EXPECT_EQ(outcome->expected_amount, 150000);
  EXPECT_EQ(outcome->status, PaymentStatus::Pending);
  EXPECT_EQ(status_of(kOrder), "PENDING");
  EXPECT_EQ(column_time("updatedAt", kOrder), updated_before);
  EXPECT_EQ(event_count(), 0);
}

// Text the database cannot keep as given is refused, never stored cut short: a transaction id
// "<id>\0EVIL" must not match <id>, a reason must not lose its tail.
TEST_P(PaymentStoreTest, TextHoldingNulOrInvalidUtf8IsRefusedNotCutShort) {
  insert_payment(*db_, {.order_code = kOrder});
  const auto good = callback(kOrder, PaymentStatus::Failed);
  std::vector<TransitionRequest> bad(5, good);
  bad[0].callback.transaction_id += std::string(1, '\0') + "EVIL";
  bad[1].callback.reason = std::string("expired\0cut", 11);
  bad[2].callback.provider_reference = std::string("FT1\0", 4);
  bad[3].callback.reason = "expired \xff\xfe";
  bad[4].callback.reason = "\xed\xa0\x80";  // a UTF-16 surrogate written as UTF-8
  for (const auto& r : bad) {
    auto outcome = payments().apply(r);
    ASSERT_FALSE(outcome);
    EXPECT_EQ(outcome.error().kind, ErrorKind::Invalid) << outcome.error().message;
  }
  EXPECT_EQ(status_of(kOrder), "PENDING");
  EXPECT_EQ(event_count(), 0);
  ASSERT_TRUE(payments().apply(good));
  EXPECT_EQ(status_of(kOrder), "FAILED");
}

TEST_P(PaymentStoreTest, UnknownTransactionIsNotFound) {
  insert_payment(*db_, {.order_code = kOrder});
  TransitionRequest r;
  r.callback.provider = Provider::PayOS;
  r.callback.transaction_id = "0123456789abcdef0123456789abcdef";
  r.callback.amount = 150000;
  r.event_id = uuid_v4();
  r.at = kAt;

  auto outcome = payments().apply(r);

  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->result, TransitionResult::PaymentNotFound);
  EXPECT_TRUE(outcome->payment_id.empty());
  EXPECT_EQ(event_count(), 0);
}

TEST_P(PaymentStoreTest, ZaloPayFallsBackToTheOrderCodeAfterTheFirstUnderscore) {
  // The core service stored another app_trans_id (e.g. created just before midnight).
  const std::string order = "TB_LTD_20251213_X1";
  const auto id =
      insert_payment(*db_, {.order_code = order, .provider_transaction_id = "251212_" + order});
  TransitionRequest r = zalopay_callback("251213_" + order);

  auto outcome = payments().apply(r);

  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->result, TransitionResult::Applied);
  EXPECT_EQ(outcome->payment_id, id);
  // The event names the payment's own transaction id.
  auto payload = json::parse(db_->scalar("SELECT payload FROM outbox"));
  EXPECT_EQ(payload["transaction_id"], "251212_" + order);
}

TEST_P(PaymentStoreTest, ZaloPayTransactionIdMatchWinsOverTheOrderCodeAfterTheFirstUnderscore) {
  // app_trans_id 251213_A_B: "A_B" follows its first '_', but the payment whose
  // providerTransactionId is exactly 251213_A_B (order code "B") is the one it names.
  const auto by_order_code =
      insert_payment(*db_, {.order_code = "A_B", .provider_transaction_id = "251212_A_B"});
  const auto by_transaction =
      insert_payment(*db_, {.order_code = "B", .provider_transaction_id = "251213_A_B"});
  TransitionRequest r = zalopay_callback("251213_A_B");

  auto outcome = payments().apply(r);

  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->result, TransitionResult::Applied);
  EXPECT_EQ(outcome->payment_id, by_transaction);
  EXPECT_EQ(status_of("B"), "COMPLETED");
  EXPECT_EQ(status_of("A_B"), "PENDING");
  EXPECT_NE(by_order_code, by_transaction);
}

TEST_P(PaymentStoreTest, ZaloPayOrderCodeWithUnderscoresIsFoundByItsTransactionId) {
  const std::string order = "TB_2025_12_13_Z9";
  const auto id = insert_payment(*db_, {.order_code = order});  // 251213_TB_2025_12_13_Z9
  auto outcome = payments().apply(callback(order, PaymentStatus::Completed));
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->result, TransitionResult::Applied);
  EXPECT_EQ(outcome->payment_id, id);
  EXPECT_EQ(status_of(order), "COMPLETED");
}

TEST_P(PaymentStoreTest, OrderCodeFallbackIsForZaloPayPaymentsOnly) {
  insert_payment(*db_, {.order_code = kOrder, .provider = Provider::PayOS});
  TransitionRequest r = zalopay_callback(std::string("251213_") + kOrder);
  auto zalopay = payments().apply(r);
  r.callback.provider = Provider::PayOS;  // PayOS matches by paymentLinkId only
  auto payos = payments().apply(r);

  ASSERT_TRUE(zalopay && payos);
  EXPECT_EQ(zalopay->result, TransitionResult::PaymentNotFound);
  EXPECT_EQ(payos->result, TransitionResult::PaymentNotFound);
  EXPECT_EQ(status_of(kOrder), "PENDING");
}

// The PostgreSQL store builds the payload in SQL; it must equal core::event_payload().
TEST_P(PaymentStoreTest, PayloadEqualsTheCoreEventPayload) {
  struct Case {
    std::string order;
    Provider provider;
    std::string start;
    PaymentStatus outcome;
    std::string reference;
  };
  const std::vector<Case> cases = {
      {"TB-P-1", Provider::ZaloPay, "PENDING", PaymentStatus::Completed, "240000123"},
      {"TB-P-2", Provider::PayOS, "PENDING", PaymentStatus::Completed, ""},
      {"TB-P-3", Provider::PayOS, "PENDING", PaymentStatus::Failed, "FT25347"},
      {"TB-P-4", Provider::PayOS, "FAILED", PaymentStatus::Completed, "FT25348"},
      {"TB-P-5", Provider::ZaloPay, "CANCELLED", PaymentStatus::Completed, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.order);
    insert_payment(*db_, {.order_code = c.order, .provider = c.provider, .status = c.start});
    auto before = payments().find_by_order_code(c.order);
    ASSERT_TRUE(before && *before);
    auto request = callback(c.order, c.outcome);
    request.callback.provider_reference = c.reference;
    request.callback.reason = c.outcome == PaymentStatus::Failed ? "\"quoted\" \\ ünïcode" : "";

    ASSERT_EQ(payments().apply(request)->result, TransitionResult::Applied);

    auto stored = db_->scalar("SELECT payload FROM outbox WHERE id = $1", {request.event_id});
    EXPECT_EQ(json::parse(stored),
              json::parse(event_payload(**before, (*before)->status, request)));
  }
}

// The PostgreSQL statement decides in SQL (the amount, the state machine, the transition's
// time) to keep a callback to one round trip; every store must decide as the core does.
// Every start a callback may meet: status, amount, and when the payment failed or was
// cancelled relative to the writer's clock.
struct DecisionCase {
  std::string start;
  std::int64_t amount;  // the callback's; the payment's is 150000
  PaymentStatus outcome;
  std::optional<std::chrono::milliseconds> failed, cancelled;  // relative to kAt
};

std::vector<DecisionCase> decision_cases() {
  using std::chrono::milliseconds;
  const auto C = PaymentStatus::Completed, F = PaymentStatus::Failed;
  return {
      {"PENDING", 150000, C, {}, {}},
      {"PENDING", 150000, F, {}, {}},
      {"PENDING", 149999, C, {}, {}},
      {"PENDING", 150001, F, {}, {}},
      {"COMPLETED", 150000, C, {}, {}},
      {"COMPLETED", 150000, F, {}, {}},
      {"COMPLETED", 1, C, {}, {}},
      {"FAILED", 150000, C, milliseconds(-1), {}},    // failed 1 ms before the writer's clock
      {"FAILED", 150000, C, milliseconds(0), {}},     // in the same millisecond
      {"FAILED", 150000, C, milliseconds(4000), {}},  // the clock is behind the failure
      {"FAILED", 150000, F, milliseconds(-1), {}},
      {"FAILED", 7, C, milliseconds(0), {}},
      {"CANCELLED", 150000, C, {}, milliseconds(-1)},
      {"CANCELLED", 150000, C, {}, milliseconds(0)},
      {"CANCELLED", 150000, C, milliseconds(30), milliseconds(20)},  // the later of the two
      {"CANCELLED", 150000, F, {}, milliseconds(0)},
      {"CANCELLED", 150001, C, {}, milliseconds(0)},
  };
}

class DecisionTest : public PaymentStoreTest {
 protected:
  struct Seeded {
    Payment was;
    TransitionRequest request;
  };
  // The payment of case `c` (order code `order`), as seeded, and its callback.
  Seeded seed(const std::string& order, const DecisionCase& c) {
    const auto id = insert_payment(*db_, {.order_code = order, .status = c.start});
    if (c.failed)
      db_->exec(R"(UPDATE payments SET "failedAt" = $1 WHERE id = $2)",
                {to_sql_timestamp(kAt + *c.failed), id});
    if (c.cancelled)
      db_->exec(R"(UPDATE payments SET "cancelledAt" = $1 WHERE id = $2)",
                {to_sql_timestamp(kAt + *c.cancelled), id});
    auto before = payments().find_by_order_code(order);
    EXPECT_TRUE(before && *before) << order;
    return {**before, callback(order, c.outcome, c.amount)};
  }

  // The store's outcome, row and event are what the core decides for that payment.
  void expect_decided_as_the_core_decides(const Seeded& seeded,
                                          const Result<TransitionOutcome>& outcome) {
    const Payment& was = seeded.was;
    const TransitionRequest& request = seeded.request;
    ASSERT_TRUE(outcome) << outcome.error().message;
    const auto expected =
        transition_outcome(was.id, was.order_code, was.status, was.amount_cents, request);
    EXPECT_EQ(outcome->result, expected.result);
    EXPECT_EQ(outcome->previous_status, expected.previous_status);
    EXPECT_EQ(outcome->status, expected.status);
    EXPECT_EQ(outcome->expected_amount, expected.expected_amount);
    EXPECT_EQ(outcome->event_id, expected.event_id);
    EXPECT_EQ(status_of(was.order_code), to_string(expected.status));
    auto events = payments().events_for_payment(was.id);
    ASSERT_TRUE(events);
    if (expected.result != TransitionResult::Applied) {
      EXPECT_TRUE(events->empty());
      EXPECT_EQ(column_time("updatedAt", was.order_code), was.updated_at);
      return;
    }
    TransitionRequest timed = request;
    timed.at = transition_time(was, request.at);
    EXPECT_EQ(column_time("updatedAt", was.order_code), timed.at);
    EXPECT_EQ(column_time(request.callback.outcome == PaymentStatus::Failed ? "failedAt"
                                                                            : "completedAt",
                          was.order_code),
              timed.at);
    ASSERT_EQ(events->size(), 1u);
    EXPECT_EQ((*events)[0].created_at, timed.at);
    EXPECT_EQ(json::parse((*events)[0].payload),
              json::parse(event_payload(was, was.status, timed)));
  }
};

TEST_P(DecisionTest, TransitionsAreDecidedAsTheCoreDecidesThem) {
  const auto cases = decision_cases();
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string order = "TB-T-" + std::to_string(i);
    SCOPED_TRACE(order + " " + cases[i].start + " -> " + std::string(to_string(cases[i].outcome)));
    const Seeded seeded = seed(order, cases[i]);

    auto outcome = payments().apply(seeded.request);

    expect_decided_as_the_core_decides(seeded, outcome);
  }
}

// Group commit: every case above in one call, with a callback for no payment, one the
// database cannot store, and a second callback for a payment the group moves. Each gets the
// answer it would get alone, exactly once.
TEST_P(DecisionTest, CallbacksCommittedTogetherAreEachDecidedAsAlone) {
  const auto cases = decision_cases();
  std::vector<Seeded> seeded;
  for (std::size_t i = 0; i < cases.size(); ++i)
    seeded.push_back(seed("TB-G-" + std::to_string(i), cases[i]));
  std::vector<TransitionRequest> requests;
  for (const auto& s : seeded) requests.push_back(s.request);
  auto unknown = callback("TB-G-0", PaymentStatus::Completed);
  unknown.callback.transaction_id = "no-such-payment";
  requests.push_back(unknown);
  auto unstorable = callback("TB-G-1", PaymentStatus::Failed);
  unstorable.callback.reason = std::string("declined\0", 9);
  requests.push_back(unstorable);
  auto again = callback("TB-G-0", PaymentStatus::Completed);  // case 0 moves PENDING -> COMPLETED
  requests.push_back(again);

  std::vector<std::optional<Result<TransitionOutcome>>> outcomes(requests.size());
  int answers = 0;
  payments().apply_all(requests, [&](std::size_t i, Result<TransitionOutcome> outcome) {
    ++answers;
    ASSERT_LT(i, outcomes.size());
    EXPECT_FALSE(outcomes[i]) << "request " << i << " answered twice";
    outcomes[i] = std::move(outcome);
  });

  EXPECT_EQ(answers, static_cast<int>(requests.size()));
  for (std::size_t i = 0; i < seeded.size(); ++i) {
    SCOPED_TRACE("TB-G-" + std::to_string(i) + " " + cases[i].start + " -> " +
                 std::string(to_string(cases[i].outcome)));
    ASSERT_TRUE(outcomes[i]);
    expect_decided_as_the_core_decides(seeded[i], *outcomes[i]);
  }
  const std::size_t n = seeded.size();
  ASSERT_TRUE(outcomes[n] && *outcomes[n]) << outcomes[n]->error().message;
  EXPECT_EQ((*outcomes[n])->result, TransitionResult::PaymentNotFound);
  ASSERT_TRUE(outcomes[n + 1]);
  ASSERT_FALSE(*outcomes[n + 1]);
  EXPECT_EQ(outcomes[n + 1]->error().kind, ErrorKind::Invalid);
  ASSERT_TRUE(outcomes[n + 2] && *outcomes[n + 2]) << outcomes[n + 2]->error().message;
  EXPECT_EQ((*outcomes[n + 2])->result, TransitionResult::Duplicate);
  EXPECT_EQ(db_->count("SELECT count(*) FROM outbox WHERE \"aggregateId\" = $1",
                       {seeded[0].was.id}),
            1);
}

INSTANTIATE_TEST_SUITE_P(Stores, DecisionTest, ::testing::ValuesIn(store_setups()),
                         StoreSetupName{});

// PostgreSQL picks the payment a ZaloPay callback names in SQL; every store must pick the one
// payment_named_by() picks among the payments its order codes name.
TEST_P(PaymentStoreTest, ZaloPayCallbacksNameThePaymentTheCoreNames) {
  struct Seed {
    std::string order, transaction;
    Provider provider = Provider::ZaloPay;
  };
  const std::vector<Seed> seeds = {
      {"A_B", "251212_A_B"},
      {"B", "251213_A_B"},
      {"TB_X_1", "251212_TB_X_1"},
      {"X_1", "251213_TB_X_1_9"},
      {"P_Q", "251213_P_Q", Provider::PayOS},
      {"Q", "251212_Q"},
      {"M", "251213_M"},
  };
  for (const auto& s : seeds)
    insert_payment(
        *db_,
        {.order_code = s.order, .provider = s.provider, .provider_transaction_id = s.transaction});
  std::vector<Payment> all;
  for (const auto& s : seeds) all.push_back(**payments().find_by_order_code(s.order));

  for (const std::string app_trans_id :
       {"251213_A_B", "251212_A_B", "251214_TB_X_1", "251213_TB_X_1_9", "251213_P_Q", "251212_Q",
        "251213_M", "251213_N", "251213_X_1", "nounderscore", "251213_"}) {
    SCOPED_TRACE(app_trans_id);
    // Amount 1, a mismatch: found, and nothing changes for the next callback.
    const TransitionRequest r = zalopay_callback(app_trans_id, 1);
    std::vector<Payment> candidates;  // what the order codes name, as the stores read them
    for (const auto& code : zalopay_order_codes(app_trans_id))
      for (const auto& p : all)
        if (p.order_code == code) candidates.push_back(p);
    if (zalopay_order_codes(app_trans_id).empty()) candidates = all;  // by transaction id
    const Payment* named = payment_named_by(r.callback, candidates);

    auto outcome = payments().apply(r);

    ASSERT_TRUE(outcome) << outcome.error().message;
    EXPECT_EQ(outcome->payment_id, named ? named->id : "");
    EXPECT_EQ(outcome->result,
              named ? TransitionResult::AmountMismatch : TransitionResult::PaymentNotFound);
  }
}

TEST_P(PaymentStoreTest, TimestampsAreStoredInUtcWhateverTheServerTimeZone) {
  if (on_postgres())
    db_->exec("ALTER DATABASE \"" + static_cast<PgTestDatabase&>(*db_).name() +
              "\" SET timezone TO 'Asia/Ho_Chi_Minh'");
  store_ = db_->open();  // new sessions pick up the database's time zone
  NewPayment n;
  n.id = uuid_v4();
  n.order_code = kOrder;
  n.amount_cents = 150000;
  n.provider_transaction_id = std::string("251213_") + kOrder;
  n.idempotency_key = uuid_v4();
  n.redirect_url = "https://ticketbottle.example/r";
  n.payment_url = "https://pay.example/p";
  n.at = now_utc();
  ASSERT_TRUE(payments().create(n));
  auto request = callback(kOrder, PaymentStatus::Completed);
  request.at = n.at + std::chrono::seconds(3);

  ASSERT_EQ(payments().apply(request)->result, TransitionResult::Applied);

  EXPECT_EQ(column_time("createdAt", kOrder), n.at);
  EXPECT_EQ(column_time("updatedAt", kOrder), request.at);
  EXPECT_EQ(column_time("completedAt", kOrder), request.at);
  auto created = parse_timestamp(db_->scalar(R"(SELECT "createdAt" FROM outbox)"));
  EXPECT_EQ(created, request.at);
}

// The reconciler's read: PENDING payments of the providers asked for, created in [from, before),
// oldest first, at most `limit` on each side of `split` (the window, and the payments that left
// it since the previous run), so that a crowd on one side never starves the other.
TEST_P(PaymentStoreTest, PendingCreatedBetweenTakesTheOldestOfEachPartUpToTheLimit) {
  const Timestamp from = kAt;
  const Timestamp split = from + std::chrono::minutes(10);
  const Timestamp before = from + std::chrono::minutes(20);
  int made = 0;
  auto make = [&](Timestamp at, Provider provider = Provider::ZaloPay) {
    NewPayment n;
    n.id = uuid_v4();
    n.order_code = "TB-RECONCILE-" + std::to_string(++made);
    n.amount_cents = 150000;
    n.provider = provider;
    n.provider_transaction_id = "251213_" + n.order_code;
    n.idempotency_key = uuid_v4();
    n.redirect_url = "https://ticketbottle.example/r";
    n.payment_url = "https://pay.example/p";
    n.at = at;
    EXPECT_TRUE(payments().create(n));
    return n.order_code;
  };
  using std::chrono::minutes;
  make(from - std::chrono::milliseconds(1));                     // before the range
  const auto first = make(from);                                 // the range starts here
  const auto second = make(from + minutes(2));
  make(from + minutes(3));                                       // past the limit of its part
  const auto settled = make(from + minutes(1));                  // not PENDING
  make(from + minutes(4), Provider::PayOS);                      // a provider not asked for
  const auto third = make(split);                                // the second part starts here
  const auto fourth = make(split + minutes(5));
  make(split + minutes(6));                                      // past the limit of its part
  make(before);                                                  // after the range
  db_->exec(R"(UPDATE payments SET status = 'COMPLETED' WHERE "orderCode" = $1)", {settled});

  const std::array<Provider, 1> zalopay{Provider::ZaloPay};
  auto both = payments().pending_created_between(from, split, before, zalopay, 2);
  auto one = payments().pending_created_between(split, split, before, zalopay, 2);

  auto codes = [](const Result<std::vector<Payment>>& found) {
    std::vector<std::string> out;
    if (found)
      for (const auto& p : *found) out.push_back(p.order_code);
    return out;
  };
  ASSERT_TRUE(both) << both.error().message;
  EXPECT_EQ(codes(both), (std::vector<std::string>{first, second, third, fourth}));
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_EQ(codes(one), (std::vector<std::string>{third, fourth}));
}

TEST_P(PaymentStoreTest, CreateInsertsAPendingPaymentThatFindReturns) {
  NewPayment n;
  n.id = uuid_v4();
  n.order_code = kOrder;
  n.amount_cents = 250000;
  n.provider = Provider::PayOS;
  n.provider_transaction_id = "8f2c0d1e3b4a59687766554433221100";
  n.idempotency_key = uuid_v4();
  n.redirect_url = "https://ticketbottle.example/r";
  n.payment_url = "https://pay.payos.vn/web/8f2c";
  n.at = kAt;

  auto created = payments().create(n);
  auto found = payments().find_by_order_code(kOrder);
  auto again = payments().create(n);
  auto missing = payments().find_by_order_code("TB-NOPE");

  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(created->id, n.id);
  EXPECT_EQ(created->status, PaymentStatus::Pending);
  EXPECT_EQ(created->created_at, kAt);
  EXPECT_EQ(created->updated_at, kAt);
  ASSERT_TRUE(found && *found);
  const Payment& p = **found;
  EXPECT_EQ(p.id, n.id);
  EXPECT_EQ(p.amount_cents, 250000);
  EXPECT_EQ(p.currency, "VND");
  EXPECT_EQ(p.provider, Provider::PayOS);
  EXPECT_EQ(p.provider_transaction_id, n.provider_transaction_id);
  EXPECT_EQ(p.idempotency_key, n.idempotency_key);
  EXPECT_EQ(p.redirect_url, n.redirect_url);
  EXPECT_EQ(p.payment_url, n.payment_url);
  EXPECT_EQ(p.completed_at, std::nullopt);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, ErrorKind::Conflict);
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
  EXPECT_TRUE(payments().ping());
}

TEST_P(PaymentStoreTest, SeededPaymentReadsBackWithItsMetadata) {
  insert_payment(*db_, {.order_code = kOrder});
  auto found = payments().find_by_order_code(kOrder);
  ASSERT_TRUE(found && *found);
  ASSERT_TRUE((*found)->metadata);
  EXPECT_EQ(json::parse(*(*found)->metadata), json({{"source", "core"}}));
}

INSTANTIATE_TEST_SUITE_P(Stores, PaymentStoreTest, ::testing::ValuesIn(store_setups()),
                         StoreSetupName{});

// --- PostgreSQL connections ---------------------------------------------------------------

TEST(PostgresConnection, ReconnectsOnTheNextCallAfterTheServerDroppedEveryConnection) {
  PgTestDatabase db;
  db.migrate();
  auto store = db.open();
  insert_payment(db, {.order_code = "TB-R-1"});
  insert_payment(db, {.order_code = "TB-R-2"});
  ASSERT_TRUE(store->payments().find_by_order_code("TB-R-1"));

  EXPECT_GE(db.terminate_connections(), 1);  // what a restart does to every session

  auto found = store->payments().find_by_order_code("TB-R-1");
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_TRUE(*found);

  TransitionRequest r;
  r.callback.provider = Provider::ZaloPay;
  r.callback.transaction_id =
      db.scalar(R"(SELECT "providerTransactionId" FROM payments WHERE "orderCode" = 'TB-R-2')");
  r.callback.amount = 150000;
  r.event_id = uuid_v4();
  r.at = kAt;
  db.terminate_connections();
  auto applied = store->payments().apply(r);
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ(applied->result, TransitionResult::Applied);
  EXPECT_TRUE(store->payments().ping());
}

// Group commit on PostgreSQL: one callback of a group meets a row lock another session holds
// (the core service's long transaction, an operator's SELECT ... FOR UPDATE). The rest of its
// group commits and is answered while the lock is still held; that one then waits for the
// lock alone and moves its payment once the lock goes.
TEST(GroupCommit, ACallbackWaitingForARowLockHoldsUpNoneOfItsGroup) {
  PgTestDatabase db;
  db.migrate();
  // A lock_timeout far longer than the test waits for the others: they are answered while the
  // lock is held only if the group does not wait for it.
  Config config;
  config.database_url =
      db.url() + (db.url().find('?') == std::string::npos ? "?" : "&") +
      "lock_timeout=120&socket_timeout=300";
  auto store = open_database(config);
  constexpr std::size_t kGroup = 5;
  std::vector<TransitionRequest> requests;
  for (std::size_t i = 0; i < kGroup; ++i) {
    const std::string order = "TB-L-" + std::to_string(i);
    insert_payment(db, {.order_code = order});
    requests.push_back(zalopay_callback(
        db.scalar(R"(SELECT "providerTransactionId" FROM payments WHERE "orderCode" = $1)",
                  {order})));
  }
  // The test database's own session holds the first payment's row: another session.
  db.exec(R"(BEGIN; SELECT 1 FROM payments WHERE "orderCode" = 'TB-L-0' FOR UPDATE)");

  std::vector<std::optional<Result<TransitionOutcome>>> outcomes(kGroup);
  std::atomic<std::size_t> others_answered{0};
  std::mutex mutex;
  std::thread group([&] {
    store->payments().apply_all(requests, [&](std::size_t i, Result<TransitionOutcome> outcome) {
      std::lock_guard lock(mutex);
      outcomes[i] = std::move(outcome);
      if (i > 0) ++others_answered;
    });
  });
  for (int waited = 0; others_answered < kGroup - 1 && waited < 6000; ++waited)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));

  EXPECT_EQ(others_answered.load(), kGroup - 1) << "answered while the lock is held";
  EXPECT_EQ(db.count("SELECT count(*) FROM payments WHERE status = 'COMPLETED'"),
            static_cast<std::int64_t>(kGroup - 1));
  db.exec("ROLLBACK");
  group.join();

  for (std::size_t i = 0; i < kGroup; ++i) {
    ASSERT_TRUE(outcomes[i] && *outcomes[i]) << i;
    EXPECT_EQ((*outcomes[i])->result, TransitionResult::Applied) << i;
  }
  EXPECT_EQ(db.count("SELECT count(*) FROM payments WHERE status = 'COMPLETED'"),
            static_cast<std::int64_t>(kGroup));
  EXPECT_EQ(db.count("SELECT count(*) FROM outbox"), static_cast<std::int64_t>(kGroup));
}

TEST(PostgresConnection, UnreachableServerIsUnavailableAndDescribeHidesThePassword) {
  Config config;
  config.database_url = "postgresql://tbpay:s3cret-pw@127.0.0.1:1/payments?connect_timeout=2";
  auto store = open_database(config);

  TransitionRequest r;
  r.callback.transaction_id = "251213_X";
  r.event_id = uuid_v4();
  auto applied = store->payments().apply(r);
  auto ping = store->payments().ping();

  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().kind, ErrorKind::Unavailable);
  ASSERT_FALSE(ping);
  EXPECT_EQ(ping.error().kind, ErrorKind::Unavailable);
  EXPECT_EQ(store->describe(), "postgresql 127.0.0.1:1/payments");
  EXPECT_EQ(applied.error().message.find("s3cret"), std::string::npos);
}

TEST(SqliteStore, DescribeNamesTheFile) {
  SqliteTestDatabase db;
  EXPECT_EQ(db.open()->describe(), "sqlite " + db.path());
}

}  // namespace
}  // namespace tbpay::test
