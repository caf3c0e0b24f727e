// The tables of docs/database.md with SQLite types: TEXT timestamps 'YYYY-MM-DD HH:MM:SS.mmm' (UTC,
// which sort and compare as text), TEXT JSON, enums as CHECK constraints, the same index names.
#include <set>

#include "store/schema_contract.h"
#include "store/sqlite/stores.h"

namespace tbpay::lite {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE "payments" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "orderCode" TEXT NOT NULL,
    "amountCents" INTEGER NOT NULL,
    "currency" TEXT NOT NULL CHECK ("currency" IN ('VND')),
    "provider" TEXT NOT NULL,
    "providerTransactionId" TEXT NOT NULL,
    "idempotencyKey" TEXT NOT NULL,
    "redirectUrl" TEXT NOT NULL,
    "paymentUrl" TEXT NOT NULL,
    "status" TEXT NOT NULL CHECK ("status" IN ('PENDING', 'COMPLETED', 'FAILED', 'CANCELLED')),
    "metadata" TEXT,
    "createdAt" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    "updatedAt" TEXT NOT NULL,
    "completedAt" TEXT,
    "failedAt" TEXT,
    "cancelledAt" TEXT
);

CREATE TABLE "outbox" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "aggregateId" TEXT NOT NULL,
    "aggregateType" TEXT NOT NULL,
    "eventType" TEXT NOT NULL,
    "payload" TEXT NOT NULL,
    "published" BOOLEAN NOT NULL DEFAULT false,
    "publishedAt" TEXT,
    "createdAt" TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
    "retryCount" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT
);

CREATE UNIQUE INDEX "payments_orderCode_key" ON "payments"("orderCode");

CREATE UNIQUE INDEX "payments_idempotencyKey_key" ON "payments"("idempotencyKey");

CREATE INDEX "payments_orderCode_idx" ON "payments"("orderCode");

CREATE INDEX "outbox_published_createdAt_idx" ON "outbox"("published", "createdAt");
)sql";

constexpr const char* kTables = R"sql(
SELECT count(*) FILTER (WHERE name = 'payments'), count(*) FILTER (WHERE name = 'outbox')
  FROM sqlite_master
 WHERE type = 'table'
)sql";

constexpr const char* kLookupIndexExists = R"sql(
SELECT count(*) FROM sqlite_master
 WHERE type = 'index' AND name = 'payments_provider_providerTransactionId_idx'
)sql";

constexpr const char* kProviderTransactionIndex = R"sql(
SELECT il.name
  FROM pragma_index_list('payments') il
 WHERE EXISTS (SELECT 1 FROM pragma_index_info(il.name) c
                WHERE c.seqno = 0 AND c.name = 'providerTransactionId')
    OR (EXISTS (SELECT 1 FROM pragma_index_info(il.name) c
                 WHERE c.seqno = 0 AND c.name = 'provider')
        AND EXISTS (SELECT 1 FROM pragma_index_info(il.name) c
                     WHERE c.seqno = 1 AND c.name = 'providerTransactionId'))
 ORDER BY 1
 LIMIT 1
)sql";

constexpr const char* kCreateLookupIndex = R"sql(
CREATE INDEX IF NOT EXISTS "payments_provider_providerTransactionId_idx"
    ON "payments"("provider", "providerTransactionId")
)sql";

}  // namespace

Result<MigrateReport> LiteSchemaStore::migrate() {
  pool_.may_create();
  auto db = pool_.acquire();
  if (!db) return db.error();
  auto tx = Transaction::begin(db->get());
  if (!tx) return tx.error();
  bool payments = false, outbox = false;
  {
    Query tables(db->get(), kTables);
    auto row = tables.step();
    if (!row) return row.error();
    payments = tables.integer(0) > 0;
    outbox = tables.integer(1) > 0;
  }
  if (payments && outbox)
    return MigrateReport{false, "schema already present in sqlite " + pool_.path() +
                                    " (payments, outbox): nothing changed"};
  if (payments || outbox)
    return Error{ErrorKind::Invalid, "partial schema in sqlite " + pool_.path() + ": found only " +
                                         (payments ? "payments" : "outbox")};
  if (auto s = exec(db->get(), kSchema); !s) return s.error();
  if (auto s = tx->commit(); !s) return s.error();
  return MigrateReport{true, "created tables payments, outbox in sqlite " + pool_.path()};
}

Result<MigrateReport> LiteSchemaStore::create_lookup_index() {
  auto db = pool_.acquire();
  if (!db) return db.error();
  bool present = false;
  {
    Query exists(db->get(), kLookupIndexExists);
    auto row = exists.step();
    if (!row) return row.error();
    present = exists.integer(0) > 0;
  }
  if (present)
    return MigrateReport{false,
                         "index payments_provider_providerTransactionId_idx already present"};
  if (auto s = exec(db->get(), kCreateLookupIndex); !s) return s.error();
  return MigrateReport{true,
                       "created index payments_provider_providerTransactionId_idx on payments "
                       "(provider, \"providerTransactionId\")"};
}

Result<std::vector<std::string>> LiteSchemaStore::schema_problems() {
  auto db = pool_.acquire();
  if (!db) return db.error();
  std::set<std::string> tables, columns;
  {
    Query q(db->get(), R"sql(
      SELECT m.name, c.name
        FROM sqlite_master m LEFT JOIN pragma_table_info(m.name) c
       WHERE m.type = 'table' AND m.name IN ('payments', 'outbox'))sql");
    for (;;) {
      auto row = q.step();
      if (!row) return row.error();
      if (!*row) break;
      tables.insert(q.text(0));
      if (!q.null(1)) columns.insert(q.text(0) + "." + q.text(1));
    }
  }
  std::vector<std::string> problems;
  for (const char* table : {"payments", "outbox"})
    if (!tables.contains(table)) problems.push_back(std::string("no table ") + table);
  for (const auto& c : kContractColumns) {
    const std::string name = std::string(c.table) + "." + std::string(c.column);
    if (tables.contains(std::string(c.table)) && !columns.contains(name))
      problems.push_back("no column " + name);
  }
  return problems;
}

Result<std::optional<std::string>> LiteSchemaStore::provider_transaction_index() {
  auto db = pool_.acquire();
  if (!db) return db.error();
  Query q(db->get(), kProviderTransactionIndex);
  auto row = q.step();
  if (!row) return row.error();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(q.text(0));
}

}  // namespace tbpay::lite
