#include "store/postgres/postgres.h"
#include "store/postgres/stores.h"

namespace tbpay {

namespace {

class PgDatabase final : public Database {
 public:
  PgDatabase(std::string url, std::size_t pool_size)
      : pool_(std::move(url), pool_size), payments_(pool_), outbox_(pool_), schema_(pool_) {}

  PaymentStore& payments() override { return payments_; }
  OutboxStore& outbox() override { return outbox_; }
  SchemaStore& schema() override { return schema_; }
  std::string describe() const override { return pool_.describe(); }
  std::optional<PoolStats> pool_stats() const override {
    return PoolStats{pool_.in_use(), pool_.waiting(), pool_.max_size()};
  }

 private:
  pg::Pool pool_;
  pg::PgPaymentStore payments_;
  pg::PgOutboxStore outbox_;
  pg::PgSchemaStore schema_;
};

}  // namespace

std::unique_ptr<Database> open_postgres(std::string url, std::size_t pool_size) {
  return std::make_unique<PgDatabase>(std::move(url), pool_size);
}

}  // namespace tbpay
