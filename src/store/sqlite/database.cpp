#include "store/sqlite/sqlite.h"
#include "store/sqlite/stores.h"

namespace tbpay {

namespace {

class LiteDatabase final : public Database {
 public:
  explicit LiteDatabase(std::string path)
      : pool_(std::move(path)), payments_(pool_), outbox_(pool_), schema_(pool_) {}

  PaymentStore& payments() override { return payments_; }
  OutboxStore& outbox() override { return outbox_; }
  SchemaStore& schema() override { return schema_; }
  std::string describe() const override { return "sqlite " + pool_.path(); }

 private:
  lite::Pool pool_;
  lite::LitePaymentStore payments_;
  lite::LiteOutboxStore outbox_;
  lite::LiteSchemaStore schema_;
};

}  // namespace

std::unique_ptr<Database> open_sqlite(std::string path) {
  return std::make_unique<LiteDatabase>(std::move(path));
}

}  // namespace tbpay
