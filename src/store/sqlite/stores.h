#pragma once
// The SQLite implementations of the store ports (store.h), sharing one connection pool.
#include "store/sqlite/connection.h"
#include "store/store.h"

namespace tbpay::lite {

class LitePaymentStore final : public PaymentStore {
 public:
  explicit LitePaymentStore(Pool& pool) : pool_(pool) {}
  Result<TransitionOutcome> apply(const TransitionRequest& request) override;
  Result<Payment> create(const NewPayment& payment) override;
  Result<std::optional<Payment>> find_by_order_code(std::string_view order_code) override;
  Result<std::vector<OutboxEvent>> events_for_payment(std::string_view payment_id) override;
  Result<std::vector<Payment>> pending_created_between(Timestamp from, Timestamp split,
                                                       Timestamp before,
                                                       std::span<const Provider> providers,
                                                       std::size_t limit) override;
  Status<> ping() override;

 private:
  Pool& pool_;
};

class LiteOutboxStore final : public OutboxStore {
 public:
  explicit LiteOutboxStore(Pool& pool) : pool_(pool) {}
  Result<std::unique_ptr<OutboxClaim>> claim_batch(const ClaimOptions& options) override;
  bool claim_holds_rows() const override { return false; }  // SQLite has no row locks
  Result<std::size_t> normalize_published(std::size_t chunk) override;
  Result<std::optional<Timestamp>> oldest_pending(int max_retries,
                                                  std::optional<Timestamp> from) override;
  Result<std::size_t> delete_published_before(Timestamp cutoff, std::size_t chunk) override;
  Result<OutboxStats> stats(Timestamp now, int max_retries) override;
  Result<OutboxBacklog> backlog(Timestamp now, int max_retries) override;
  Result<std::vector<OutboxEvent>> dead_events(int max_retries, std::size_t limit) override;
  Result<std::size_t> requeue(std::span<const std::string> ids, int max_retries) override;

 private:
  Pool& pool_;
};

class LiteSchemaStore final : public SchemaStore {
 public:
  explicit LiteSchemaStore(Pool& pool) : pool_(pool) {}
  Result<MigrateReport> migrate() override;
  Result<MigrateReport> create_lookup_index() override;
  Result<std::optional<std::string>> provider_transaction_index() override;
  Result<std::vector<std::string>> schema_problems() override;

 private:
  Pool& pool_;
};

// Row mapping shared by the stores; the select lists name the columns in the same order as
// the PostgreSQL store's (store/postgres/stores.h).
Result<Payment> payment_from(const Query& row);
Result<OutboxEvent> event_from(const Query& row);
// Every row `query` yields, read by `read` (payment_from, event_from).
template <class T>
Result<std::vector<T>> read_all(Query& query, Result<T> (*read)(const Query&)) {
  std::vector<T> all;
  for (;;) {
    auto row = query.step();
    if (!row) return row.error();
    if (!*row) return all;
    auto one = read(query);
    if (!one) return one.error();
    all.push_back(std::move(one).value());
  }
}
// A JSON array of strings, for `IN (SELECT value FROM json_each(?n))`.
std::string json_array(std::span<const std::string> values);

}  // namespace tbpay::lite
