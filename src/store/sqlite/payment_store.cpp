#include <nlohmann/json.hpp>

#include "core/event_payload.h"
#include "store/sqlite/stores.h"

namespace tbpay::lite {

namespace {

constexpr const char* kFindByTransaction = R"sql(
SELECT id, "orderCode", "amountCents", currency, provider, "providerTransactionId",
       "idempotencyKey", "redirectUrl", "paymentUrl", status, metadata,
       "createdAt", "updatedAt", "completedAt", "failedAt", "cancelledAt"
  FROM payments
 WHERE provider = ?1 AND "providerTransactionId" = ?2
 LIMIT 1
)sql";

// ZaloPay: through the unique index on "orderCode", ?1 the order codes app_trans_id can name
// (zalopay_order_codes()); payment_named_by() picks among them.
constexpr const char* kFindByOrderCodes = R"sql(
SELECT id, "orderCode", "amountCents", currency, provider, "providerTransactionId",
       "idempotencyKey", "redirectUrl", "paymentUrl", status, metadata,
       "createdAt", "updatedAt", "completedAt", "failedAt", "cancelledAt"
  FROM payments
 WHERE "orderCode" IN (SELECT value FROM json_each(?1))
)sql";

constexpr const char* kFindByOrderCode = R"sql(
SELECT id, "orderCode", "amountCents", currency, provider, "providerTransactionId",
       "idempotencyKey", "redirectUrl", "paymentUrl", status, metadata,
       "createdAt", "updatedAt", "completedAt", "failedAt", "cancelledAt"
  FROM payments
 WHERE "orderCode" = ?1
)sql";

constexpr const char* kMove = R"sql(
UPDATE payments
   SET status = ?2,
       "updatedAt" = ?3,
       "completedAt" = CASE WHEN ?2 = 'COMPLETED' THEN ?3 ELSE "completedAt" END,
       "failedAt" = CASE WHEN ?2 = 'FAILED' THEN ?3 ELSE "failedAt" END
 WHERE id = ?1
)sql";

constexpr const char* kInsertEvent = R"sql(
INSERT INTO outbox (id, "aggregateId", "aggregateType", "eventType", payload, "createdAt")
VALUES (?1, ?2, ?3, ?4, ?5, ?6)
)sql";

constexpr const char* kCreate = R"sql(
INSERT INTO payments (id, "orderCode", "amountCents", currency, provider, "providerTransactionId",
                      "idempotencyKey", "redirectUrl", "paymentUrl", status, "createdAt",
                      "updatedAt")
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'PENDING', ?10, ?10)
)sql";

constexpr const char* kEventsForPayment = R"sql(
SELECT id, "aggregateId", "aggregateType", "eventType", payload, published,
       "publishedAt", "createdAt", "retryCount", "lastError"
  FROM outbox
 WHERE "aggregateId" = ?1
 ORDER BY "createdAt", id
)sql";

// Timestamps are TEXT in one fixed form ("2025-12-13 06:05:18.385"), so they compare as text.
// ?1 from, ?2 split, ?3 before, ?4 providers (a JSON array), ?5 limit per part.
constexpr const char* kPendingBetween = R"sql(
WITH pending AS (
    SELECT id, "orderCode", "amountCents", currency, provider, "providerTransactionId",
           "idempotencyKey", "redirectUrl", "paymentUrl", status, metadata,
           "createdAt", "updatedAt", "completedAt", "failedAt", "cancelledAt"
      FROM payments
     WHERE status = 'PENDING' AND "createdAt" >= ?1 AND "createdAt" < ?3
       AND provider IN (SELECT value FROM json_each(?4))
)
SELECT * FROM (SELECT * FROM pending WHERE "createdAt" < ?2 ORDER BY "createdAt", id LIMIT ?5)
UNION ALL
SELECT * FROM (SELECT * FROM pending WHERE "createdAt" >= ?2 ORDER BY "createdAt", id LIMIT ?5)
 ORDER BY "createdAt", id
)sql";

Result<std::optional<Payment>> find_one(Query& query) {
  auto found = read_all(query, payment_from);
  if (!found) return found.error();
  if (found->empty()) return std::optional<Payment>();
  return std::optional<Payment>(std::move(found->front()));
}

Result<Timestamp> timestamp_at(const Query& row, int col) {
  auto t = parse_timestamp(row.text(col));
  if (!t) return internal_error("unreadable timestamp '" + row.text(col) + "'");
  return *t;
}

std::optional<Timestamp> optional_timestamp(const Query& row, int col) {
  if (row.null(col)) return std::nullopt;
  return parse_timestamp(row.text(col));
}

}  // namespace

Result<Payment> payment_from(const Query& row) {
  Payment p;
  p.id = row.text(0);
  p.order_code = row.text(1);
  p.amount_cents = row.integer(2);
  p.currency = row.text(3);
  auto provider = parse_provider(row.text(4));
  if (!provider)
    return internal_error("payment " + p.id + " has unsupported provider " + row.text(4));
  p.provider = *provider;
  p.provider_transaction_id = row.text(5);
  p.idempotency_key = row.text(6);
  p.redirect_url = row.text(7);
  p.payment_url = row.text(8);
  auto status = parse_payment_status(row.text(9));
  if (!status) return internal_error("payment " + p.id + " has unknown status " + row.text(9));
  p.status = *status;
  p.metadata = row.optional_text(10);
  auto created = timestamp_at(row, 11);
  if (!created) return created.error();
  auto updated = timestamp_at(row, 12);
  if (!updated) return updated.error();
  p.created_at = *created;
  p.updated_at = *updated;
  p.completed_at = optional_timestamp(row, 13);
  p.failed_at = optional_timestamp(row, 14);
  p.cancelled_at = optional_timestamp(row, 15);
  return p;
}

Result<OutboxEvent> event_from(const Query& row) {
  OutboxEvent e;
  e.id = row.text(0);
  e.aggregate_id = row.text(1);
  e.aggregate_type = row.text(2);
  e.event_type = row.text(3);
  e.payload = row.text(4);
  e.published = row.integer(5) != 0;
  e.published_at = optional_timestamp(row, 6);
  auto created = timestamp_at(row, 7);
  if (!created) return created.error();
  e.created_at = *created;
  e.retry_count = static_cast<int>(row.integer(8));
  e.last_error = row.optional_text(9);
  return e;
}

std::string json_array(std::span<const std::string> values) {
  return nlohmann::json(std::vector<std::string>(values.begin(), values.end())).dump();
}

// The webhook's transition. BEGIN IMMEDIATE serialises writers (threads and processes), so
// the status read below is the one the update replaces.
Result<TransitionOutcome> LitePaymentStore::apply(const TransitionRequest& request) {
  const auto& cb = request.callback;
  if (const char* field = unstorable_field(cb))
    return Error{ErrorKind::Invalid, std::string("the callback's ") + field +
                                         " holds a NUL byte or invalid UTF-8: refused, not stored"};
  auto db = pool_.acquire();
  if (!db) return db.error();
  auto tx = Transaction::begin(db->get());
  if (!tx) return tx.error();

  Result<std::vector<Payment>> candidates = std::vector<Payment>();
  if (const auto codes = cb.provider == Provider::ZaloPay ? zalopay_order_codes(cb.transaction_id)
                                                          : std::vector<std::string>();
      !codes.empty()) {
    Query q(db->get(), kFindByOrderCodes);
    q.bind(1, json_array(codes));
    candidates = read_all(q, payment_from);
  } else {
    Query q(db->get(), kFindByTransaction);
    q.bind(1, to_string(cb.provider)).bind(2, cb.transaction_id);
    candidates = read_all(q, payment_from);
  }
  if (!candidates) return candidates.error();
  const Payment* named = payment_named_by(cb, *candidates);
  if (!named) return TransitionOutcome{};  // PaymentNotFound
  const Payment& payment = *named;
  TransitionOutcome out = transition_outcome(payment.id, payment.order_code, payment.status,
                                             payment.amount_cents, request);
  if (out.result != TransitionResult::Applied) return out;
  TransitionRequest timed = request;
  timed.at = transition_time(payment, request.at);
  const std::string at = to_sql_timestamp(timed.at);
  {
    Query q(db->get(), kMove);
    q.bind(1, payment.id).bind(2, to_string(cb.outcome)).bind(3, at);
    if (auto r = q.run(); !r) return r.error();
  }
  {
    Query q(db->get(), kInsertEvent);
    q.bind(1, request.event_id)
        .bind(2, payment.id)
        .bind(3, kAggregatePayment)
        .bind(4, event_type_for(cb.outcome))
        .bind(5, event_payload(payment, payment.status, timed))
        .bind(6, at);
    if (auto r = q.run(); !r) return r.error();
  }
  if (auto s = tx->commit(); !s) return s.error();
  return out;
}

Result<Payment> LitePaymentStore::create(const NewPayment& n) {
  auto db = pool_.acquire();
  if (!db) return db.error();
  {
    Query q(db->get(), kCreate);
    q.bind(1, n.id)
        .bind(2, n.order_code)
        .bind(3, n.amount_cents)
        .bind(4, n.currency)
        .bind(5, to_string(n.provider))
        .bind(6, n.provider_transaction_id)
        .bind(7, n.idempotency_key)
        .bind(8, n.redirect_url)
        .bind(9, n.payment_url)
        .bind(10, to_sql_timestamp(n.at));
    if (auto r = q.run(); !r) return r.error();
  }
  Query q(db->get(), kFindByOrderCode);
  q.bind(1, n.order_code);
  auto found = find_one(q);
  if (!found) return found.error();
  if (!*found) return internal_error("payment " + n.order_code + " vanished after insert");
  return std::move(**found);
}

Result<std::optional<Payment>> LitePaymentStore::find_by_order_code(std::string_view order_code) {
  auto db = pool_.acquire();
  if (!db) return db.error();
  Query q(db->get(), kFindByOrderCode);
  q.bind(1, order_code);
  return find_one(q);
}

Result<std::vector<OutboxEvent>> LitePaymentStore::events_for_payment(std::string_view payment_id) {
  auto db = pool_.acquire();
  if (!db) return db.error();
  Query q(db->get(), kEventsForPayment);
  q.bind(1, payment_id);
  return read_all(q, event_from);
}

Result<std::vector<Payment>> LitePaymentStore::pending_created_between(
    Timestamp from, Timestamp split, Timestamp before, std::span<const Provider> providers,
    std::size_t limit) {
  std::vector<std::string> names;
  for (Provider p : providers) names.emplace_back(to_string(p));
  auto db = pool_.acquire();
  if (!db) return db.error();
  Query q(db->get(), kPendingBetween);
  q.bind(1, to_sql_timestamp(from))
      .bind(2, to_sql_timestamp(split))
      .bind(3, to_sql_timestamp(before))
      .bind(4, json_array(names))
      .bind(5, static_cast<std::int64_t>(limit));
  return read_all(q, payment_from);
}

Status<> LitePaymentStore::ping() {
  auto db = pool_.acquire();
  if (!db) return db.error();
  Query q(db->get(), "SELECT count(*) FROM sqlite_master");
  if (auto row = q.step(); !row) return row.error();
  return Ok{};
}

}  // namespace tbpay::lite
