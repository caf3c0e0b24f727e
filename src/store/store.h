#pragma once
// Storage ports. The application talks to these; store/postgres and store/sqlite implement them.
// Every method is safe to call from several threads at once unless it says otherwise.
#include <algorithm>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/outbox_event.h"
#include "core/payment.h"
#include "core/result.h"

namespace tbpay {

// A payment as the core service inserts it (CLI `payments create`, tests).
struct NewPayment {
  std::string id;  // UUID v4
  std::string order_code;
  std::int64_t amount_cents = 0;
  std::string currency = "VND";
  Provider provider = Provider::ZaloPay;
  std::string provider_transaction_id;
  std::string idempotency_key;
  std::string redirect_url;
  std::string payment_url;
  Timestamp at{};
};

class PaymentStore {
 public:
  virtual ~PaymentStore() = default;

  // The webhook hot path: find the payment the callback names, check the amount, move it to
  // the callback's outcome if the state machine allows, and write the outbox event, all
  // atomically and at most once under concurrent delivery. On PostgreSQL: one round trip.
  virtual Result<TransitionOutcome> apply(const TransitionRequest& request) = 0;

  // Several callbacks' transitions, committed together where the store can (PostgreSQL: one
  // transaction, one round trip and one commit for all of them: group commit). Each outcome is
  // what apply() would give for it alone, handed to `done` with the request's index as soon as
  // it is known, in no particular order, once per request. One callback's failure never fails
  // the others. Callbacks naming one payment may share a call: they apply in the order given.
  // This default applies them one by one.
  using Applied = std::function<void(std::size_t index, Result<TransitionOutcome> outcome)>;
  virtual void apply_all(std::span<const TransitionRequest> requests, const Applied& done) {
    for (std::size_t i = 0; i < requests.size(); ++i) done(i, apply(requests[i]));
  }

  virtual Result<Payment> create(const NewPayment& payment) = 0;
  virtual Result<std::optional<Payment>> find_by_order_code(std::string_view order_code) = 0;
  virtual Result<std::vector<OutboxEvent>> events_for_payment(std::string_view payment_id) = 0;

  // Reconciliation: PENDING payments of `providers` created in [from, before), oldest first,
  // in two parts of at most `limit` each: those created before `split`, then the others
  // (from <= split <= before; split = from when there is one part). The core service's schema
  // has no index on "createdAt", so on PostgreSQL this is one sequential scan of payments, run
  // once per reconcile.
  virtual Result<std::vector<Payment>> pending_created_between(
      Timestamp from, Timestamp split, Timestamp before, std::span<const Provider> providers,
      std::size_t limit) = 0;

  // Is the database reachable now? (/readyz)
  virtual Status<> ping() = 0;
};

// Events claimed by one relay. Other relays do not see them until finish() or destruction
// (which releases the claim unchanged).
class OutboxClaim {
 public:
  virtual ~OutboxClaim() = default;
  virtual const std::vector<OutboxEvent>& events() const = 0;
  // Delivered events become published (publishedAt = at); the others get retryCount + 1 and
  // lastError (500 characters at most); `dead` ones get retryCount = max_retries.
  virtual Status<> finish(std::span<const DeliveryOutcome> outcomes, Timestamp at) = 0;
};

struct ClaimOptions {
  std::size_t limit = 500;
  int max_retries = 3;
  // Events this run already failed: not claimed again in the same run (no tight retry loop).
  std::vector<std::string> exclude_ids;
  // Only events created at or after this: the claim's index walk starts here instead of at the
  // oldest published = false entry (see OutboxStore::oldest_pending). nullopt: from the start.
  std::optional<Timestamp> created_from;
};

// What the outbox gauges show: the events still to publish.
struct OutboxBacklog {
  std::int64_t pending = 0;
  std::int64_t dead = 0;
  std::optional<double> oldest_pending_age_minutes;
};

// oldest_pending_age_minutes from the oldest pending event's "createdAt" as a store reads it
// (nullopt: no event pending, or a text that is no timestamp); never negative.
inline std::optional<double> pending_age_minutes(Timestamp now,
                                                 const std::optional<std::string>& created_at) {
  if (!created_at) return std::nullopt;
  const auto t = parse_timestamp(*created_at);
  if (!t) return std::nullopt;
  return std::max(0.0, double((now - *t).count()) / 60000.0);
}

struct OutboxStats : OutboxBacklog {
  std::int64_t total = 0;
  std::int64_t published = 0;
  // Of `published`: rows with only "publishedAt" set (published still false), as the Node.js
  // relay marked what it published. normalize_published() sets their flag.
  std::int64_t published_at_only = 0;
};

class OutboxStore {
 public:
  virtual ~OutboxStore() = default;

  // The oldest pending events (published = false, publishedAt IS NULL, retryCount < max), at
  // most one per aggregate and never one whose aggregate has an earlier pending event, so
  // that events of one payment go out in createdAt order even with several relays.
  virtual Result<std::unique_ptr<OutboxClaim>> claim_batch(const ClaimOptions& options) = 0;
  // Does a claim hold its rows until finish()? Then no other claim takes them, and the relay
  // may claim the next batch while one is still on the wire: PostgreSQL (FOR UPDATE SKIP
  // LOCKED). Where it does not (SQLite), a claim sees the unfinished batch's events again, so
  // the relay claims one batch at a time.
  virtual bool claim_holds_rows() const = 0;

  // A row with "publishedAt" set is published, whatever its `published` flag: the Node.js relay
  // set only "publishedAt". Every read here treats it so (never claimed, counted as published,
  // deleted by publishedAt age), but such rows sit in the ("published", "createdAt") index
  // among the pending ones, where the claim would walk past them batch after batch. This sets
  // published = true on at most `chunk` of them, oldest first, in one short statement that
  // skips rows another session holds; returns how many.
  virtual Result<std::size_t> normalize_published(std::size_t chunk) = 0;
  // The createdAt of the oldest pending event (published = false, publishedAt IS NULL,
  // retryCount < max) created at or after `from` (nullopt: any), or nullopt when there is
  // none. One walk of the index from `from` past the rows only "publishedAt" marks, where each
  // claim would otherwise walk them again.
  virtual Result<std::optional<Timestamp>> oldest_pending(int max_retries,
                                                          std::optional<Timestamp> from) = 0;

  // Deletes at most `chunk` published events with publishedAt < cutoff; returns how many.
  virtual Result<std::size_t> delete_published_before(Timestamp cutoff, std::size_t chunk) = 0;
  // Every row counted: one pass over the whole table.
  virtual Result<OutboxStats> stats(Timestamp now, int max_retries) = 0;
  // The gauges' part of stats(), read from the unpublished rows only, however many published
  // events the table keeps (30 days of them by default): `serve` reads it every 30 s.
  virtual Result<OutboxBacklog> backlog(Timestamp now, int max_retries) = 0;
  virtual Result<std::vector<OutboxEvent>> dead_events(int max_retries, std::size_t limit) = 0;
  // retryCount = 0, lastError kept; ids empty = every dead event. Returns how many.
  virtual Result<std::size_t> requeue(std::span<const std::string> ids, int max_retries) = 0;
};

struct MigrateReport {
  bool created = false;  // false: the schema was already there, nothing changed
  std::string detail;
};

class SchemaStore {
 public:
  virtual ~SchemaStore() = default;
  virtual Result<MigrateReport> migrate() = 0;
  // Not part of the core service's schema: an index on (provider, "providerTransactionId"),
  // the key every webhook looks a payment up by. Recommended to the core service; created only
  // on request (`tbpay migrate --lookup-index`), IF NOT EXISTS.
  virtual Result<MigrateReport> create_lookup_index() = 0;
  // The name of a valid index that serves lookups by "providerTransactionId" (leading column,
  // or second after provider): tbpay's lookup index, or the unique
  // payments_providerTransactionId_key the core service's schema.prisma declares. nullopt when
  // there is none: PayOS webhooks (matched by paymentLinkId only) then read the whole table.
  virtual Result<std::optional<std::string>> provider_transaction_index() = 0;
  // What tbpay needs of the core service's schema and does not find: a missing table, column
  // or enum value, a column of another type ("payments.amountCents is text, not int4"). Empty
  // when all is there. Read-only.
  virtual Result<std::vector<std::string>> schema_problems() = 0;
};

}  // namespace tbpay

namespace tbpay {

// A connection pool right now, as counted in memory (never a query).
struct PoolStats {
  std::size_t in_use = 0;   // connections on loan to a statement or transaction
  std::size_t waiting = 0;  // callers waiting for one, all being in use
  std::size_t max_size = 0;
};

// One database (a PostgreSQL pool or a SQLite file) seen through the three ports.
class Database {
 public:
  virtual ~Database() = default;
  virtual PaymentStore& payments() = 0;
  virtual OutboxStore& outbox() = 0;
  virtual SchemaStore& schema() = 0;
  virtual std::string describe() const = 0;  // "postgresql 127.0.0.1:5432/db", never a password
  // Cheap enough to call on every scrape; nullopt where there is no pool (SQLite).
  virtual std::optional<PoolStats> pool_stats() const { return std::nullopt; }
};

}  // namespace tbpay
