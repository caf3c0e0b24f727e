#include <array>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "store/postgres/apply_callback_sql.h"
#include "store/postgres/pending_between_sql.h"
#include "store/postgres/stores.h"

namespace tbpay::pg {

namespace {

constexpr Statement kApplyPending{"apply_callback_pending", kApplyPendingSql};
constexpr Statement kApplyPendingGroup{"apply_callback_pending_group", kApplyPendingGroupSql};
constexpr Statement kApply{"apply_callback", kApplyCallbackSql};

// How long callbacks committed together wait for a row lock: a lock held longer (a long
// transaction of the core service, an operator's SELECT ... FOR UPDATE) fails the group, which
// then commits without that callback; it runs alone afterwards, waiting up to lock_timeout.
constexpr std::chrono::milliseconds kTogetherLockWait{100};

// Column lists in the order payment_from() / event_from() read them.
constexpr Statement kCreate{"create_payment", R"sql(
INSERT INTO payments AS p (id, "orderCode", "amountCents", currency, provider,
                           "providerTransactionId", "idempotencyKey", "redirectUrl",
                           "paymentUrl", status, "createdAt", "updatedAt")
VALUES ($1::text, $2::text, $3::integer, $4::"Currency", $5::text, $6::text, $7::text, $8::text,
        $9::text, 'PENDING', $10::timestamp(3), $10::timestamp(3))
RETURNING p.id, p."orderCode", p."amountCents", p.currency, p.provider, p."providerTransactionId",
          p."idempotencyKey", p."redirectUrl", p."paymentUrl", p.status, p.metadata::text,
          p."createdAt", p."updatedAt", p."completedAt", p."failedAt", p."cancelledAt"
)sql"};

constexpr Statement kFindByOrderCode{"find_payment_by_order_code", R"sql(
SELECT p.id, p."orderCode", p."amountCents", p.currency, p.provider, p."providerTransactionId",
       p."idempotencyKey", p."redirectUrl", p."paymentUrl", p.status, p.metadata::text,
       p."createdAt", p."updatedAt", p."completedAt", p."failedAt", p."cancelledAt"
  FROM payments p
 WHERE p."orderCode" = $1::text
)sql"};

constexpr Statement kEventsForPayment{"events_for_payment", R"sql(
SELECT o.id, o."aggregateId", o."aggregateType", o."eventType", o.payload::text, o.published,
       o."publishedAt", o."createdAt", o."retryCount", o."lastError"
  FROM outbox o
 WHERE o."aggregateId" = $1::text
 ORDER BY o."createdAt", o.id
)sql"};

constexpr Statement kPendingBetween{"pending_created_between", kPendingBetweenSql};

constexpr Statement kPing{"ping", "SELECT 1"};

std::string allowed_from(PaymentStatus outcome) {
  std::vector<std::string> from;
  for (auto s : {PaymentStatus::Pending, PaymentStatus::Completed, PaymentStatus::Failed,
                 PaymentStatus::Cancelled})
    if (can_transition(s, outcome)) from.emplace_back(to_string(s));
  return text_array(from);
}

Error unstorable(const char* field) {
  return Error{ErrorKind::Invalid, std::string("the callback's ") + field +
                                       " holds a NUL byte or invalid UTF-8: refused, not stored"};
}

// $1..$11 of both transition statements (apply_callback_sql.h).
Params transition_params(const TransitionRequest& request) {
  const auto& cb = request.callback;
  const bool zalopay = cb.provider == Provider::ZaloPay;
  return {std::string(to_string(cb.provider)), cb.transaction_id,
          text_array(zalopay ? zalopay_order_codes(cb.transaction_id) : std::vector<std::string>()),
          std::to_string(cb.amount), std::string(to_string(cb.outcome)), allowed_from(cb.outcome),
          cb.provider_reference, cb.reason, to_sql_timestamp(request.at), request.event_id,
          std::string(event_type_for(cb.outcome))};
}

// The group statement's parameters ($1..$13 of kApplyPendingGroupSql) for the callbacks
// `which` of `requests`, numbered from 1 in that order.
Params group_params(std::span<const TransitionRequest> requests,
                    std::span<const std::size_t> which) {
  std::array<TextArray, 13> c;
  for (std::size_t k = 0; k < which.size(); ++k) {
    const TransitionRequest& request = requests[which[k]];
    const auto& cb = request.callback;
    const auto codes = cb.provider == Provider::ZaloPay ? zalopay_order_codes(cb.transaction_id)
                                                        : std::vector<std::string>();
    c[0].add(to_string(cb.provider));
    c[1].add(cb.transaction_id);
    c[2].add(codes.empty() ? std::string_view() : std::string_view(codes.front()));
    c[3].add(std::to_string(cb.amount));
    c[4].add(to_string(cb.outcome));
    c[5].add(can_transition(PaymentStatus::Pending, cb.outcome) ? "t" : "f");
    c[6].add(cb.provider_reference);
    c[7].add(cb.reason);
    c[8].add(to_sql_timestamp(request.at));
    c[9].add(request.event_id);
    c[10].add(event_type_for(cb.outcome));
    for (const std::string& code : codes) {
      c[11].add(std::to_string(k + 1));
      c[12].add(code);
    }
  }
  Params params;
  params.reserve(c.size());
  for (auto& column : c) params.emplace_back(std::move(column).done());
  return params;
}

// What a statement's row tells (id, orderCode, amountCents, status, applied): the state
// machine's outcome for the payment as the row shows it, and whether the statement applied it.
// No row (`row` -1): no such payment.
struct RowOutcome {
  TransitionOutcome outcome;
  bool applied = false;
};
Result<RowOutcome> read_row(const Rows& rows, int row, const TransitionRequest& request) {
  if (row < 0) return RowOutcome{};  // PaymentNotFound
  const auto status = parse_payment_status(rows.text(row, 3));
  if (!status) return internal_error("payment " + rows.text(row, 0) + " has unknown status");
  return RowOutcome{transition_outcome(rows.text(row, 0), rows.text(row, 1), *status,
                                       rows.integer(row, 2), request),
                    rows.integer(row, 4) == 1};
}
int first_row(const Rows& rows) { return rows.size() == 0 ? -1 : 0; }

// The statement decided in SQL; the state machine's own answer for the row it returned must be
// the same, else a rule changed on one side only.
Result<TransitionOutcome> checked(RowOutcome row) {
  if (row.applied != (row.outcome.result == TransitionResult::Applied))
    return internal_error("payment " + row.outcome.payment_id + ": the callback statement " +
                          (row.applied ? "applied" : "did not apply") +
                          " a transition the state machine decides otherwise");
  return std::move(row.outcome);
}

// kApply's answer: the row it locked, every answer decided there.
Result<TransitionOutcome> outcome_of(const Rows& rows, const TransitionRequest& request) {
  auto row = read_row(rows, first_row(rows), request);
  if (!row) return row.error();
  return checked(std::move(row).value());
}

// What the first attempt (kApplyPending) settled; nullopt when kApply must decide. Its row is
// the payment it moved, or as its snapshot saw it when nothing moved. A mismatched amount
// never changes, and a status that may not move to the outcome never will (statuses only move
// on: FAILED and CANCELLED to COMPLETED): those answers are final. A status that may move but
// did not (FAILED or CANCELLED for a COMPLETED callback; PENDING changed by a concurrent
// writer after the snapshot) is for kApply, which locks the row and reads it as committed.
std::optional<Result<TransitionOutcome>> settled(const Rows& rows, int row_index,
                                                 const TransitionRequest& request) {
  auto row = read_row(rows, row_index, request);
  if (!row) return row.error();
  if (!row->applied && row->outcome.result == TransitionResult::Applied) return std::nullopt;
  return checked(std::move(row).value());
}

}  // namespace

Result<TransitionOutcome> PgPaymentStore::apply(const TransitionRequest& request) {
  if (const char* field = unstorable_field(request.callback)) return unstorable(field);
  const Params params = transition_params(request);
  // Not retried on a broken connection: the statement may have committed. The provider
  // retries on "unavailable" and then gets Duplicate, which is the truth.
  // A row lock held elsewhere (a long transaction of the core service, an operator's
  // SELECT ... FOR UPDATE) is waited for at most the URL's lock_timeout, then "retry".
  auto rows = pool_.run_lock_bounded(kApplyPending, params);
  if (!rows) return rows.error();
  if (auto done = settled(*rows, first_row(*rows), request)) return std::move(*done);
  return apply_locked(request, params);
}

Result<TransitionOutcome> PgPaymentStore::apply_locked(const TransitionRequest& request,
                                                       const Params& params) {
  auto rows = pool_.run_lock_bounded(kApply, params);
  if (!rows) return rows.error();
  return outcome_of(*rows, request);
}

void PgPaymentStore::apply_all(std::span<const TransitionRequest> requests, const Applied& done) {
  std::vector<std::size_t> together;  // by index into `requests`
  for (std::size_t i = 0; i < requests.size(); ++i) {
    if (const char* field = unstorable_field(requests[i].callback))
      done(i, unstorable(field));
    else
      together.push_back(i);
  }
  std::vector<std::size_t> locked;  // committed nothing; kApply decides, once the rest committed
  std::vector<std::size_t> alone;   // to run by themselves once the others are answered
  // Callback i's row `row` of `rows` (-1: none) settles it, or leaves it for kApply.
  const auto conclude = [&](std::size_t i, const Rows& rows, int row) {
    if (auto out = settled(rows, row, requests[i]))
      done(i, std::move(*out));
    else
      locked.push_back(i);
  };
  if (together.size() > 1) {
    // One statement for the whole group.
    const Params params = group_params(requests, together);
    auto group = pool_.run_together(kApplyPendingGroup, std::span(&params, 1), kTogetherLockWait);
    if (!group.error) {
      const Rows& rows = group.rows.front();
      std::vector<int> row_of(together.size(), -1);
      for (int r = 0; r < rows.size(); ++r) {
        const auto n = rows.integer(r, 5);
        if (n >= 1 && n <= static_cast<std::int64_t>(row_of.size()))
          row_of[static_cast<std::size_t>(n - 1)] = r;
      }
      for (std::size_t k = 0; k < together.size(); ++k) conclude(together[k], rows, row_of[k]);
      together.clear();
    } else if (!group.rolled_back) {
      // No connection, or the connection was lost with the commit's fate unknown: none can be
      // answered but "retry", which then finds the truth (Duplicate if it committed).
      for (std::size_t i : together) done(i, *group.error);
      together.clear();
    }
    // Else the statement failed and committed nothing (a row lock held too long, a deadlock, a
    // value the database refused): a statement each, below, finds which callback it was.
  }
  std::vector<Params> params;
  if (together.size() > 1)
    for (std::size_t i : together) params.push_back(transition_params(requests[i]));
  while (together.size() > 1) {
    auto group = pool_.run_together(kApplyPending, params, kTogetherLockWait);
    if (!group.error) {
      for (std::size_t k = 0; k < together.size(); ++k)
        conclude(together[k], group.rows[k], first_row(group.rows[k]));
      together.clear();
    } else if (group.rolled_back && group.failed) {
      // That callback's statement failed: the others commit again without it, and it runs
      // alone afterwards.
      const auto failed = static_cast<std::ptrdiff_t>(*group.failed);
      alone.push_back(together[*group.failed]);
      together.erase(together.begin() + failed);
      params.erase(params.begin() + failed);
    } else {
      for (std::size_t i : together) done(i, *group.error);
      together.clear();
    }
  }
  alone.insert(alone.end(), together.begin(), together.end());
  for (std::size_t i : locked) done(i, apply_locked(requests[i], transition_params(requests[i])));
  for (std::size_t i : alone) done(i, apply(requests[i]));
}

Result<Payment> PgPaymentStore::create(const NewPayment& n) {
  auto rows = pool_.run(kCreate,
                        {n.id, n.order_code, std::to_string(n.amount_cents), n.currency,
                         std::string(to_string(n.provider)), n.provider_transaction_id,
                         n.idempotency_key, n.redirect_url, n.payment_url, to_sql_timestamp(n.at)},
                        Pool::Retry::No);
  if (!rows) return rows.error();
  return payment_from(*rows, 0);
}

Result<std::optional<Payment>> PgPaymentStore::find_by_order_code(std::string_view order_code) {
  auto rows = pool_.run(kFindByOrderCode, {std::string(order_code)}, Pool::Retry::Once);
  if (!rows) return rows.error();
  if (rows->size() == 0) return std::optional<Payment>();
  auto p = payment_from(*rows, 0);
  if (!p) return p.error();
  return std::optional<Payment>(std::move(p).value());
}

Result<std::vector<OutboxEvent>> PgPaymentStore::events_for_payment(std::string_view payment_id) {
  auto rows = pool_.run(kEventsForPayment, {std::string(payment_id)}, Pool::Retry::Once);
  if (!rows) return rows.error();
  std::vector<OutboxEvent> events;
  for (int i = 0; i < rows->size(); ++i) {
    auto event = event_from(*rows, i);
    if (!event) return event.error();
    events.push_back(std::move(event).value());
  }
  return events;
}

Result<std::vector<Payment>> PgPaymentStore::pending_created_between(
    Timestamp from, Timestamp split, Timestamp before, std::span<const Provider> providers,
    std::size_t limit) {
  std::vector<std::string> names;
  for (Provider p : providers) names.emplace_back(to_string(p));
  auto rows = pool_.run(kPendingBetween,
                        {to_sql_timestamp(from), to_sql_timestamp(split), to_sql_timestamp(before),
                         text_array(names), std::to_string(limit)},
                        Pool::Retry::Once);
  if (!rows) return rows.error();
  std::vector<Payment> payments;
  payments.reserve(static_cast<std::size_t>(rows->size()));
  for (int i = 0; i < rows->size(); ++i) {
    auto p = payment_from(*rows, i);
    if (!p) return p.error();
    payments.push_back(std::move(p).value());
  }
  return payments;
}

Status<> PgPaymentStore::ping() {
  auto rows = pool_.run(kPing, {}, Pool::Retry::Once);
  if (!rows) return rows.error();
  return Ok{};
}

}  // namespace tbpay::pg
