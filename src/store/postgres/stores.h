#pragma once
// The PostgreSQL implementations of the store ports (store.h), sharing one pool.
#include "store/postgres/connection.h"
#include "store/store.h"

namespace tbpay::pg {

class PgPaymentStore final : public PaymentStore {
 public:
  explicit PgPaymentStore(Pool& pool) : pool_(pool) {}
  Result<TransitionOutcome> apply(const TransitionRequest& request) override;
  void apply_all(std::span<const TransitionRequest> requests, const Applied& done) override;
  Result<Payment> create(const NewPayment& payment) override;
  Result<std::optional<Payment>> find_by_order_code(std::string_view order_code) override;
  Result<std::vector<OutboxEvent>> events_for_payment(std::string_view payment_id) override;
  Result<std::vector<Payment>> pending_created_between(Timestamp from, Timestamp split,
                                                       Timestamp before,
                                                       std::span<const Provider> providers,
                                                       std::size_t limit) override;
  Status<> ping() override;

 private:
  // kApplyCallbackSql: the row locked first, every answer decided.
  Result<TransitionOutcome> apply_locked(const TransitionRequest& request, const Params& params);
  Pool& pool_;
};

class PgOutboxStore final : public OutboxStore {
 public:
  explicit PgOutboxStore(Pool& pool) : pool_(pool) {}
  Result<std::unique_ptr<OutboxClaim>> claim_batch(const ClaimOptions& options) override;
  bool claim_holds_rows() const override { return true; }  // FOR UPDATE SKIP LOCKED, until finish()
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

class PgSchemaStore final : public SchemaStore {
 public:
  explicit PgSchemaStore(Pool& pool) : pool_(pool) {}
  Result<MigrateReport> migrate() override;
  Result<MigrateReport> create_lookup_index() override;
  Result<std::optional<std::string>> provider_transaction_index() override;
  Result<std::vector<std::string>> schema_problems() override;

 private:
  Pool& pool_;
};

// Row mapping shared by the stores. Payment columns: id, "orderCode", "amountCents", currency,
// provider, "providerTransactionId", "idempotencyKey", "redirectUrl", "paymentUrl", status,
// metadata::text, "createdAt", "updatedAt", "completedAt", "failedAt", "cancelledAt".
// Event columns: id, "aggregateId", "aggregateType", "eventType", payload::text, published,
// "publishedAt", "createdAt", "retryCount", "lastError".
Result<Payment> payment_from(const Rows& rows, int row);
Result<OutboxEvent> event_from(const Rows& rows, int row);

}  // namespace tbpay::pg
