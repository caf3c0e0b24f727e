// SQLite has no row locks (nor SKIP LOCKED): a claim is a plain SELECT and nothing stops a
// second relay on the same file from taking the same events. One relay per SQLite file;
// PostgreSQL is the engine for several.
#include <algorithm>
#include <unordered_set>

#include "store/last_error.h"
#include "store/sql_text.h"
#include "store/sqlite/stores.h"

namespace tbpay::lite {

namespace {

// The outbox states of core/outbox_event.h (outbox_state()) over one row of outbox, ?1 the
// maximum retries: every statement below tests a row through these.
// tests/store/outbox_store_test.cpp holds what the statements do to outbox_state().
// clang-format off
constexpr SqlText kPendingRow =
    R"(published = false AND "publishedAt" IS NULL AND "retryCount" < ?1)";
constexpr SqlText kDeadRow =
    R"(published = false AND "publishedAt" IS NULL AND "retryCount" >= ?1)";
constexpr SqlText kPublishedRow = R"((published OR "publishedAt" IS NOT NULL))";

// Same shape as the PostgreSQL claim: the earliest pending event of each payment within the
// oldest window of pending events, minus the ones this run excluded.
constexpr auto kClaim = R"sql(
WITH win AS (
    SELECT id, "aggregateId", "createdAt"
      FROM outbox
     WHERE )sql" + kPendingRow + R"sql(
       AND "createdAt" >= ?5
     ORDER BY "createdAt", id
     LIMIT ?2
),
firsts AS (
    SELECT id, row_number() OVER (PARTITION BY "aggregateId" ORDER BY "createdAt", id) AS nth
      FROM win
)
SELECT o.id, o."aggregateId", o."aggregateType", o."eventType", o.payload, o.published,
       o."publishedAt", o."createdAt", o."retryCount", o."lastError"
  FROM outbox o
  JOIN firsts f ON o.id = f.id AND f.nth = 1
 WHERE o.id NOT IN (SELECT value FROM json_each(?3))
 ORDER BY o."createdAt", o.id
 LIMIT ?4
)sql";

constexpr const char* kMarkPublished = R"sql(
UPDATE outbox SET published = true, "publishedAt" = ?2 WHERE id = ?1
)sql";

constexpr const char* kMarkFailed = R"sql(
UPDATE outbox
   SET "retryCount" = CASE WHEN ?3 THEN ?4 ELSE "retryCount" + 1 END,
       "lastError" = ?2
 WHERE id = ?1
)sql";

constexpr const char* kDeletePublished = R"sql(
DELETE FROM outbox
 WHERE id IN (SELECT id
                FROM outbox
               WHERE published = true AND "publishedAt" < ?1
               ORDER BY "createdAt"
               LIMIT ?2)
)sql";

constexpr const char* kNormalize = R"sql(
UPDATE outbox
   SET published = true
 WHERE id IN (SELECT id
                FROM outbox
               WHERE published = false AND "publishedAt" IS NOT NULL
               ORDER BY "createdAt"
               LIMIT ?1)
)sql";

constexpr auto kOldestPending = R"sql(
SELECT "createdAt"
  FROM outbox
 WHERE )sql" + kPendingRow + R"sql(
   AND "createdAt" >= ?2
 ORDER BY "createdAt"
 LIMIT 1
)sql";

constexpr auto kStats = R"sql(
SELECT count(*),
       count(*) FILTER (WHERE )sql" + kPublishedRow + R"sql(),
       count(*) FILTER (WHERE )sql" + kPendingRow + R"sql(),
       count(*) FILTER (WHERE )sql" + kDeadRow + R"sql(),
       min("createdAt") FILTER (WHERE )sql" + kPendingRow + R"sql(),
       count(*) FILTER (WHERE NOT published AND "publishedAt" IS NOT NULL)
  FROM outbox
)sql";

constexpr auto kDeadEvents = R"sql(
SELECT id, "aggregateId", "aggregateType", "eventType", payload, published,
       "publishedAt", "createdAt", "retryCount", "lastError"
  FROM outbox
 WHERE )sql" + kDeadRow + R"sql(
 ORDER BY "createdAt", id
 LIMIT ?2
)sql";

// An empty id list means every dead event.
constexpr auto kRequeue = R"sql(
UPDATE outbox
   SET "retryCount" = 0
 WHERE )sql" + kDeadRow + R"sql(
   AND (json_array_length(?2) = 0 OR id IN (SELECT value FROM json_each(?2)))
)sql";
// clang-format on

class LiteClaim final : public OutboxClaim {
 public:
  LiteClaim(Pool& pool, std::vector<OutboxEvent> events, int max_retries)
      : pool_(pool), events_(std::move(events)), max_retries_(max_retries) {}

  const std::vector<OutboxEvent>& events() const override { return events_; }

  Status<> finish(std::span<const DeliveryOutcome> outcomes, Timestamp at) override {
    if (finished_) return Error{ErrorKind::Invalid, "outbox claim already finished"};
    if (events_.empty()) {
      finished_ = true;
      return Ok{};
    }
    std::unordered_set<std::string_view> claimed;
    for (const auto& e : events_) claimed.insert(e.id);
    auto db = pool_.acquire();
    if (!db) return db.error();
    auto tx = Transaction::begin(db->get());
    if (!tx) return tx.error();
    const std::string published_at = to_sql_timestamp(at);
    Query published(db->get(), kMarkPublished), failed(db->get(), kMarkFailed);
    for (const auto& o : outcomes) {
      if (!claimed.contains(o.event_id)) continue;
      Query& q = o.delivered && !o.dead ? published : failed;
      q.reset();
      if (&q == &published) {
        q.bind(1, o.event_id).bind(2, published_at);
      } else {
        q.bind(1, o.event_id)
            .bind(2, last_error_text(o.error))
            .bind(3, std::int64_t{o.dead})
            .bind(4, std::int64_t{max_retries_});
      }
      if (auto r = q.run(); !r) return r.error();
    }
    published.reset();
    failed.reset();
    if (auto s = tx->commit(); !s) return s.error();
    finished_ = true;
    return Ok{};
  }

 private:
  Pool& pool_;
  std::vector<OutboxEvent> events_;
  int max_retries_;
  bool finished_ = false;
};

}  // namespace

Result<std::unique_ptr<OutboxClaim>> LiteOutboxStore::claim_batch(const ClaimOptions& options) {
  auto db = pool_.acquire();
  if (!db) return db.error();
  const auto window = static_cast<std::int64_t>(4 * options.limit + options.exclude_ids.size());
  Query q(db->get(), kClaim.c_str());
  q.bind(1, std::int64_t{options.max_retries})
      .bind(2, window)
      .bind(3, json_array(options.exclude_ids))
      .bind(4, static_cast<std::int64_t>(options.limit))
      .bind(5, options.created_from ? to_sql_timestamp(*options.created_from) : std::string());
  auto events = read_all(q, event_from);
  if (!events) return events.error();
  return std::unique_ptr<OutboxClaim>(
      std::make_unique<LiteClaim>(pool_, std::move(events).value(), options.max_retries));
}

Result<std::size_t> LiteOutboxStore::normalize_published(std::size_t chunk) {
  auto db = pool_.acquire();
  if (!db) return db.error();
  Query q(db->get(), kNormalize);
  q.bind(1, static_cast<std::int64_t>(chunk));
  return q.run();
}

Result<std::optional<Timestamp>> LiteOutboxStore::oldest_pending(int max_retries,
                                                                std::optional<Timestamp> from) {
  auto db = pool_.acquire();
  if (!db) return db.error();
  Query q(db->get(), kOldestPending.c_str());
  q.bind(1, std::int64_t{max_retries}).bind(2, from ? to_sql_timestamp(*from) : std::string());
  auto row = q.step();
  if (!row) return row.error();
  if (!*row) return std::optional<Timestamp>();
  auto at = parse_timestamp(q.text(0));
  if (!at) return internal_error("unreadable createdAt '" + q.text(0) + "'");
  return std::optional<Timestamp>(*at);
}

Result<std::size_t> LiteOutboxStore::delete_published_before(Timestamp cutoff, std::size_t chunk) {
  auto db = pool_.acquire();
  if (!db) return db.error();
  Query q(db->get(), kDeletePublished);
  q.bind(1, to_sql_timestamp(cutoff)).bind(2, static_cast<std::int64_t>(chunk));
  return q.run();
}

Result<OutboxStats> LiteOutboxStore::stats(Timestamp now, int max_retries) {
  auto db = pool_.acquire();
  if (!db) return db.error();
  Query q(db->get(), kStats.c_str());
  q.bind(1, std::int64_t{max_retries});
  auto row = q.step();
  if (!row) return row.error();
  OutboxStats s;
  s.total = q.integer(0);
  s.published = q.integer(1);
  s.pending = q.integer(2);
  s.dead = q.integer(3);
  s.published_at_only = q.integer(5);
  s.oldest_pending_age_minutes = pending_age_minutes(now, q.optional_text(4));
  return s;
}

// The embedded store keeps development-sized outboxes: stats()' one pass is cheap enough.
Result<OutboxBacklog> LiteOutboxStore::backlog(Timestamp now, int max_retries) {
  auto s = stats(now, max_retries);
  if (!s) return s.error();
  return OutboxBacklog(*s);
}

Result<std::vector<OutboxEvent>> LiteOutboxStore::dead_events(int max_retries, std::size_t limit) {
  auto db = pool_.acquire();
  if (!db) return db.error();
  Query q(db->get(), kDeadEvents.c_str());
  q.bind(1, std::int64_t{max_retries}).bind(2, static_cast<std::int64_t>(limit));
  return read_all(q, event_from);
}

Result<std::size_t> LiteOutboxStore::requeue(std::span<const std::string> ids, int max_retries) {
  auto db = pool_.acquire();
  if (!db) return db.error();
  Query q(db->get(), kRequeue.c_str());
  q.bind(1, std::int64_t{max_retries}).bind(2, json_array(ids));
  return q.run();
}

}  // namespace tbpay::lite
