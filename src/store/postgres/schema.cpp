// The core service's schema, as its Prisma migration creates it (docs/database.md, "The database
// contract"). We create it only on an empty database and never change an existing one.
#include <map>
#include <set>

#include "store/postgres/stores.h"
#include "store/schema_contract.h"

namespace tbpay::pg {

namespace {

constexpr const char* kCoreSchema = R"sql(
CREATE TYPE "PaymentStatus" AS ENUM ('PENDING', 'COMPLETED', 'FAILED', 'CANCELLED');

CREATE TYPE "Currency" AS ENUM ('VND');

CREATE TABLE "payments" (
    "id" TEXT NOT NULL,
    "orderCode" TEXT NOT NULL,
    "amountCents" INTEGER NOT NULL,
    "currency" "Currency" NOT NULL,
    "provider" TEXT NOT NULL,
    "providerTransactionId" TEXT NOT NULL,
    "idempotencyKey" TEXT NOT NULL,
    "redirectUrl" TEXT NOT NULL,
    "paymentUrl" TEXT NOT NULL,
    "status" "PaymentStatus" NOT NULL,
    "metadata" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,
    "completedAt" TIMESTAMP(3),
    "failedAt" TIMESTAMP(3),
    "cancelledAt" TIMESTAMP(3),

    CONSTRAINT "payments_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "outbox" (
    "id" TEXT NOT NULL,
    "aggregateId" TEXT NOT NULL,
    "aggregateType" TEXT NOT NULL,
    "eventType" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "published" BOOLEAN NOT NULL DEFAULT false,
    "publishedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "retryCount" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,

    CONSTRAINT "outbox_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "payments_orderCode_key" ON "payments"("orderCode");

CREATE UNIQUE INDEX "payments_idempotencyKey_key" ON "payments"("idempotencyKey");

CREATE INDEX "payments_orderCode_idx" ON "payments"("orderCode");

CREATE INDEX "outbox_published_createdAt_idx" ON "outbox"("published", "createdAt");
)sql";

// Which of the schema's objects exist (in the connection's search_path).
constexpr Statement kSchemaObjects{"schema_objects", R"sql(
SELECT to_regclass('payments') IS NOT NULL,
       to_regclass('outbox') IS NOT NULL,
       to_regtype('"PaymentStatus"') IS NOT NULL,
       to_regtype('"Currency"') IS NOT NULL
)sql"};

constexpr const char* kLookupIndex = "payments_provider_providerTransactionId_idx";

constexpr Statement kLookupIndexState{"lookup_index_state", R"sql(
SELECT i.indisvalid
  FROM pg_index i
 WHERE i.indexrelid = to_regclass('"payments_provider_providerTransactionId_idx"')
)sql"};

// indkey is 0-based: the index's first and second columns.
constexpr Statement kProviderTransactionIndex{"provider_transaction_index", R"sql(
SELECT c.relname::text
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indexrelid
  JOIN pg_attribute a1 ON a1.attrelid = i.indrelid AND a1.attnum = i.indkey[0]
  LEFT JOIN pg_attribute a2 ON a2.attrelid = i.indrelid AND a2.attnum = i.indkey[1]
 WHERE i.indrelid = to_regclass('payments') AND i.indisvalid
   AND (a1.attname = 'providerTransactionId'
        OR (a1.attname = 'provider' AND a2.attname = 'providerTransactionId'))
 ORDER BY 1
 LIMIT 1
)sql"};

// The columns of both tables and the labels of both enums, as (kind, name, detail) rows.
constexpr Statement kSchemaShape{"schema_shape", R"sql(
SELECT 'column', c.relname || '.' || a.attname, t.typname::text
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_type t ON t.oid = a.atttypid
 WHERE a.attrelid IN (to_regclass('payments'), to_regclass('outbox'))
   AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'enum', t.typname || '.' || e.enumlabel, ''
  FROM pg_enum e
  JOIN pg_type t ON t.oid = e.enumtypid
 WHERE e.enumtypid IN (to_regtype('"PaymentStatus"'), to_regtype('"Currency"'))
UNION ALL
SELECT 'table', 'payments', '' WHERE to_regclass('payments') IS NOT NULL
UNION ALL
SELECT 'table', 'outbox', '' WHERE to_regclass('outbox') IS NOT NULL
)sql"};

// CONCURRENTLY: on the core service's live table a plain CREATE INDEX would block every
// payment write while it builds.
constexpr const char* kCreateLookupIndex = R"sql(
CREATE INDEX CONCURRENTLY IF NOT EXISTS "payments_provider_providerTransactionId_idx"
    ON "payments"("provider", "providerTransactionId")
)sql";

}  // namespace

Result<MigrateReport> PgSchemaStore::migrate() {
  auto conn = pool_.acquire();
  if (!conn) return conn.error();
  auto& c = *conn;
  if (auto r = c->run("BEGIN"); !r) return r.error();
  // Two `tbpay migrate` at once: the second waits, then finds the schema there.
  if (auto r = c->run("SELECT pg_advisory_xact_lock(hashtext('tbpay migrate'))"); !r)
    return r.error();
  auto objects = c->run(kSchemaObjects, {});
  if (!objects) return objects.error();
  const char* names[] = {"table payments", "table outbox", "enum \"PaymentStatus\"",
                         "enum \"Currency\""};
  std::string present, missing;
  for (int col = 0; col < 4; ++col) {
    auto& list = objects->boolean(0, col) ? present : missing;
    list += (list.empty() ? "" : ", ") + std::string(names[col]);
  }
  if (missing.empty()) {
    c->run("ROLLBACK");
    return MigrateReport{false, "schema already present on " + pool_.describe() +
                                    " (payments, outbox): nothing changed"};
  }
  if (!present.empty()) {
    c->run("ROLLBACK");
    return Error{ErrorKind::Invalid, "partial schema on " + pool_.describe() + ": found " +
                                         present + " but not " + missing +
                                         "; refusing to change a database the core service owns"};
  }
  if (auto r = c->run(kCoreSchema); !r) return r.error();
  if (auto r = c->run("COMMIT"); !r) return r.error();
  return MigrateReport{
      true,
      "created enums PaymentStatus, Currency and tables payments, outbox on " + pool_.describe()};
}

Result<MigrateReport> PgSchemaStore::create_lookup_index() {
  auto conn = pool_.acquire();
  if (!conn) return conn.error();
  auto& c = *conn;
  auto before = c->run(kLookupIndexState, {});
  if (!before) return before.error();
  if (before->size() == 1 && before->boolean(0, 0))
    return MigrateReport{false, std::string("index ") + kLookupIndex + " already present"};
  if (before->size() == 1)
    return Error{ErrorKind::Invalid, std::string("index ") + kLookupIndex +
                                         " exists but is invalid (an interrupted build): drop it "
                                         "and run again"};
  if (auto r = c->run(kCreateLookupIndex); !r) return r.error();
  return MigrateReport{true, std::string("created index ") + kLookupIndex +
                                 " on payments (provider, \"providerTransactionId\")"};
}

Result<std::vector<std::string>> PgSchemaStore::schema_problems() {
  auto rows = pool_.run(kSchemaShape, {}, Pool::Retry::Once);
  if (!rows) return rows.error();
  std::map<std::string, std::string> columns;
  std::set<std::string> tables, labels;
  for (int i = 0; i < rows->size(); ++i) {
    const std::string kind = rows->text(i, 0);
    if (kind == "column")
      columns[rows->text(i, 1)] = rows->text(i, 2);
    else if (kind == "enum")
      labels.insert(rows->text(i, 1));
    else
      tables.insert(rows->text(i, 1));
  }
  std::vector<std::string> problems;
  for (const char* table : {"payments", "outbox"})
    if (!tables.contains(table)) problems.push_back(std::string("no table ") + table);
  for (const auto& c : kContractColumns) {
    if (!tables.contains(std::string(c.table))) continue;
    const std::string name = std::string(c.table) + "." + std::string(c.column);
    const auto found = columns.find(name);
    if (found == columns.end())
      problems.push_back("no column " + name);
    else if (found->second != c.pg_type)
      problems.push_back(name + " is " + found->second + ", not " + std::string(c.pg_type));
  }
  for (const auto& e : kContractEnumValues) {
    const std::string name = std::string(e.type) + "." + std::string(e.value);
    if (!labels.contains(name))
      problems.push_back("enum \"" + std::string(e.type) + "\" has no value " +
                         std::string(e.value));
  }
  return problems;
}

Result<std::optional<std::string>> PgSchemaStore::provider_transaction_index() {
  auto rows = pool_.run(kProviderTransactionIndex, {}, Pool::Retry::Once);
  if (!rows) return rows.error();
  if (rows->size() == 0) return std::optional<std::string>();
  return std::optional<std::string>(rows->text(0, 0));
}

}  // namespace tbpay::pg
