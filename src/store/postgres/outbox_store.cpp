#include <algorithm>
#include <unordered_map>

#include "store/last_error.h"
#include "store/postgres/outbox_backlog_sql.h"
#include "store/postgres/outbox_claim_sql.h"
#include "store/postgres/stores.h"

namespace tbpay::pg {

namespace {

constexpr Statement kClaim{"outbox_claim", kClaimSql};

// A whole batch's outcome in one statement (sent with its COMMIT: one round trip). The
// delivered rows are found by the addresses the claim locked them at ($1): they cannot move
// while the claim's transaction holds them.
constexpr Statement kFinish{"outbox_finish", R"sql(
WITH delivered AS (
    UPDATE outbox
       SET published = true, "publishedAt" = $2::timestamp(3)
     WHERE ctid = ANY ($1::tid[])
    RETURNING id
),
failed AS (
    UPDATE outbox o
       SET "retryCount" = CASE WHEN f.dead THEN $6::integer ELSE o."retryCount" + 1 END,
           "lastError" = left(f.error, 500)
      FROM unnest($3::text[], $4::text[], $5::boolean[]) AS f(id, error, dead)
     WHERE o.id = f.id
    RETURNING o.id
)
SELECT (SELECT count(*) FROM delivered), (SELECT count(*) FROM failed)
)sql"};

// Bounded: at most $2 rows per statement, so no long lock on the table; rows a concurrent
// cleanup holds are skipped rather than waited for.
constexpr Statement kDeletePublished{"outbox_delete_published", R"sql(
DELETE FROM outbox
 WHERE id IN (SELECT id
                FROM outbox
               WHERE published = true AND "publishedAt" < $1::timestamp(3)
               ORDER BY "createdAt"
               LIMIT $2::integer
                 FOR UPDATE SKIP LOCKED)
)sql"};

// Run inside kClaimBegin's transaction: an ordered walk of the ("published", "createdAt")
// index from its oldest published = false entry, whatever the statistics say. The rows are
// then updated by address (a row this transaction locked keeps it until the commit): a third
// less work per row than finding each again through the primary key.
constexpr Statement kNormalize{"outbox_normalize_published", R"sql(
UPDATE outbox
   SET published = true
 WHERE ctid = ANY (ARRAY(SELECT ctid
                           FROM outbox
                          WHERE published = false AND "publishedAt" IS NOT NULL
                          ORDER BY "createdAt"
                          LIMIT $1::integer
                            FOR UPDATE SKIP LOCKED))
   AND published = false AND "publishedAt" IS NOT NULL
)sql"};

// clang-format off
// Inside kClaimBegin's transaction, as the claim: an ordered index walk, stopped at the first.
constexpr auto kOldestPendingSql = R"sql(
SELECT "createdAt"
  FROM outbox
 WHERE )sql" + kPendingRow + R"sql(
   AND "createdAt" >= $2::timestamp(3)
 ORDER BY "createdAt"
 LIMIT 1
)sql";
constexpr Statement kOldestPending{"outbox_oldest_pending", kOldestPendingSql.c_str()};

constexpr auto kStatsSql = R"sql(
SELECT count(*),
       count(*) FILTER (WHERE )sql" + kPublishedRow + R"sql(),
       count(*) FILTER (WHERE )sql" + kPendingRow + R"sql(),
       count(*) FILTER (WHERE )sql" + kDeadRow + R"sql(),
       min("createdAt") FILTER (WHERE )sql" + kPendingRow + R"sql(),
       count(*) FILTER (WHERE NOT published AND "publishedAt" IS NOT NULL)
  FROM outbox
)sql";
constexpr Statement kStats{"outbox_stats", kStatsSql.c_str()};
constexpr Statement kBacklog{"outbox_backlog", kBacklogSql.c_str()};

constexpr auto kDeadEventsSql = R"sql(
SELECT o.id, o."aggregateId", o."aggregateType", o."eventType", o.payload::text, o.published,
       o."publishedAt", o."createdAt", o."retryCount", o."lastError"
  FROM outbox o
 WHERE )sql" + kDeadRow + R"sql(
 ORDER BY o."createdAt", o.id
 LIMIT $2::integer
)sql";
constexpr Statement kDeadEvents{"outbox_dead_events", kDeadEventsSql.c_str()};

// An empty id list means every dead event.
constexpr auto kRequeueSql = R"sql(
UPDATE outbox
   SET "retryCount" = 0
 WHERE )sql" + kDeadRow + R"sql(
   AND (cardinality($2::text[]) = 0 OR id = ANY ($2::text[]))
)sql";
constexpr Statement kRequeue{"outbox_requeue", kRequeueSql.c_str()};
// clang-format on

class PgClaim final : public OutboxClaim {
 public:
  // addresses[i]: where events[i]'s row is locked (its ctid).
  PgClaim(std::optional<Pool::Lease> lease, std::vector<OutboxEvent> events,
          std::vector<std::string> addresses, int max_retries)
      : lease_(std::move(lease)),
        events_(std::move(events)),
        addresses_(std::move(addresses)),
        max_retries_(max_retries) {}

  ~PgClaim() override {
    // Released unchanged: the rollback frees the row locks for the next relay.
    if (lease_ && !finished_) (*lease_)->run("ROLLBACK");
  }

  const std::vector<OutboxEvent>& events() const override { return events_; }

  Status<> finish(std::span<const DeliveryOutcome> outcomes, Timestamp at) override {
    if (finished_) return Error{ErrorKind::Invalid, "outbox claim already finished"};
    if (!lease_) {
      finished_ = true;
      return Ok{};
    }
    std::unordered_map<std::string_view, const std::string*> claimed;  // id -> address
    for (std::size_t i = 0; i < events_.size(); ++i) claimed.emplace(events_[i].id, &addresses_[i]);
    std::vector<std::string> delivered, failed, errors, dead;
    for (const auto& o : outcomes) {
      const auto held = claimed.find(o.event_id);
      if (held == claimed.end()) continue;  // only rows this claim holds
      if (o.delivered && !o.dead) {
        delivered.push_back(*held->second);
      } else {
        failed.push_back(o.event_id);
        errors.push_back(last_error_text(o.error));
        dead.push_back(o.dead ? "t" : "f");
      }
    }
    auto rows = (*lease_)->run_and_commit(
        kFinish, {text_array(delivered), to_sql_timestamp(at), text_array(failed),
                  text_array(errors), text_array(dead), std::to_string(max_retries_)});
    if (!rows) return rows.error();
    finished_ = true;
    lease_.reset();
    return Ok{};
  }

 private:
  std::optional<Pool::Lease> lease_;
  std::vector<OutboxEvent> events_;
  std::vector<std::string> addresses_;
  int max_retries_;
  bool finished_ = false;
};

Result<std::vector<OutboxEvent>> events_of(const Rows& rows) {
  std::vector<OutboxEvent> events;
  events.reserve(static_cast<std::size_t>(rows.size()));
  for (int i = 0; i < rows.size(); ++i) {
    auto event = event_from(rows, i);
    if (!event) return event.error();
    events.push_back(std::move(event).value());
  }
  return events;
}

}  // namespace

Result<std::unique_ptr<OutboxClaim>> PgOutboxStore::claim_batch(const ClaimOptions& options) {
  auto lease = pool_.acquire();
  if (!lease) return lease.error();
  auto& conn = *lease;
  if (auto begun = conn->run(kClaimBegin); !begun) return begun.error();
  const std::size_t window = 4 * options.limit + options.exclude_ids.size();
  auto rows = conn->run(kClaim, {std::to_string(options.max_retries), std::to_string(window),
                                 text_array(options.exclude_ids), std::to_string(options.limit),
                                 options.created_from ? to_sql_timestamp(*options.created_from)
                                                      : std::string("-infinity")});
  if (!rows) return rows.error();  // the lease drops the connection mid-transaction
  auto events = events_of(*rows);
  if (!events) return events.error();
  std::vector<std::string> addresses;
  addresses.reserve(events->size());
  for (int i = 0; i < rows->size(); ++i) addresses.push_back(rows->text(i, kClaimAddressColumn));
  std::optional<Pool::Lease> held;
  if (events->empty()) {
    if (auto done = conn->run("COMMIT"); !done) return done.error();
  } else {
    held.emplace(std::move(lease).value());
  }
  return std::unique_ptr<OutboxClaim>(
      std::make_unique<PgClaim>(std::move(held), std::move(events).value(), std::move(addresses),
                                options.max_retries));
}

Result<std::size_t> PgOutboxStore::normalize_published(std::size_t chunk) {
  auto lease = pool_.acquire();
  if (!lease) return lease.error();
  auto& conn = *lease;
  if (auto begun = conn->run(kClaimBegin); !begun) return begun.error();
  auto rows = conn->run(kNormalize, {std::to_string(chunk)});
  if (!rows) return rows.error();  // the lease drops the connection mid-transaction
  if (auto done = conn->run("COMMIT"); !done) return done.error();
  return rows->affected();
}

Result<std::optional<Timestamp>> PgOutboxStore::oldest_pending(int max_retries,
                                                              std::optional<Timestamp> from) {
  auto lease = pool_.acquire();
  if (!lease) return lease.error();
  auto& conn = *lease;
  if (auto begun = conn->run(kClaimBegin); !begun) return begun.error();
  auto rows = conn->run(kOldestPending, {std::to_string(max_retries),
                                         from ? to_sql_timestamp(*from) : std::string("-infinity")});
  if (!rows) return rows.error();
  if (auto done = conn->run("COMMIT"); !done) return done.error();
  if (rows->size() == 0) return std::optional<Timestamp>();
  auto at = parse_timestamp(rows->text(0, 0));
  if (!at) return Error{ErrorKind::Internal, "unreadable createdAt '" + rows->text(0, 0) + "'"};
  return std::optional<Timestamp>(*at);
}

Result<std::size_t> PgOutboxStore::delete_published_before(Timestamp cutoff, std::size_t chunk) {
  auto rows = pool_.run(kDeletePublished, {to_sql_timestamp(cutoff), std::to_string(chunk)},
                        Pool::Retry::Once);
  if (!rows) return rows.error();
  return rows->affected();
}

Result<OutboxStats> PgOutboxStore::stats(Timestamp now, int max_retries) {
  auto rows = pool_.run(kStats, {std::to_string(max_retries)}, Pool::Retry::Once);
  if (!rows) return rows.error();
  OutboxStats s;
  s.total = rows->integer(0, 0);
  s.published = rows->integer(0, 1);
  s.pending = rows->integer(0, 2);
  s.dead = rows->integer(0, 3);
  s.published_at_only = rows->integer(0, 5);
  s.oldest_pending_age_minutes = pending_age_minutes(now, rows->optional_text(0, 4));
  return s;
}

Result<OutboxBacklog> PgOutboxStore::backlog(Timestamp now, int max_retries) {
  auto rows = pool_.run(kBacklog, {std::to_string(max_retries)}, Pool::Retry::Once);
  if (!rows) return rows.error();
  OutboxBacklog b;
  b.pending = rows->integer(0, 0);
  b.dead = rows->integer(0, 1);
  b.oldest_pending_age_minutes = pending_age_minutes(now, rows->optional_text(0, 2));
  return b;
}

Result<std::vector<OutboxEvent>> PgOutboxStore::dead_events(int max_retries, std::size_t limit) {
  auto rows = pool_.run(kDeadEvents, {std::to_string(max_retries), std::to_string(limit)},
                        Pool::Retry::Once);
  if (!rows) return rows.error();
  return events_of(*rows);
}

Result<std::size_t> PgOutboxStore::requeue(std::span<const std::string> ids, int max_retries) {
  auto rows = pool_.run(
      kRequeue,
      {std::to_string(max_retries), text_array(ids)},
      Pool::Retry::No);
  if (!rows) return rows.error();
  return rows->affected();
}

}  // namespace tbpay::pg
