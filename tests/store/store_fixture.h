#pragma once
// Store tests run on PostgreSQL with tbpay's own schema (again through the core service's Prisma
// DATABASE_URL: tables in a schema of their own, no prepared statements; and again through a
// real PgBouncer in transaction mode), on PostgreSQL with the core service's hand-written
// schema, and on SQLite.
#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>

#include "support/test_database.h"

namespace tbpay::test {

struct StoreSetup {
  Engine engine;
  bool core_service_schema;
  std::string name;
  bool prisma_url = false;  // the core service's DATABASE_URL (PgTestDatabase::use_prisma_url)
  bool pgbouncer = false;   // through PgBouncer (PgTestDatabase::use_pgbouncer)
};

inline void PrintTo(const StoreSetup& setup, std::ostream* os) { *os << setup.name; }

inline std::vector<StoreSetup> store_setups() {
  return {{Engine::Postgres, false, "postgres"},
          {Engine::Postgres, true, "postgres_core_service_schema"},
          {Engine::Postgres, false, "postgres_prisma_url", true},
          {Engine::Postgres, false, "postgres_through_pgbouncer", false, true},
          {Engine::Sqlite, false, "sqlite"}};
}

struct StoreSetupName {
  std::string operator()(const ::testing::TestParamInfo<StoreSetup>& info) const {
    return info.param.name;
  }
};

class StoreTest : public ::testing::TestWithParam<StoreSetup> {
 protected:
  void SetUp() override {
    db_ = make_test_database(GetParam().engine);
    if (GetParam().prisma_url) static_cast<PgTestDatabase&>(*db_).use_prisma_url("TicketBottle");
    if (GetParam().pgbouncer) static_cast<PgTestDatabase&>(*db_).use_pgbouncer();
    if (GetParam().core_service_schema)
      db_->create_core_service_schema();
    else
      db_->migrate();
    store_ = db_->open();
  }

  bool on_postgres() const { return GetParam().engine == Engine::Postgres; }
  PaymentStore& payments() { return store_->payments(); }
  OutboxStore& outbox() { return store_->outbox(); }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Database> store_;  // declared after db_: closed before the database is dropped
};

}  // namespace tbpay::test
