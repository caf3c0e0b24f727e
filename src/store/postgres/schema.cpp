// The core service's schema, as its Prisma migration creates it (docs/database.md, "The database
// contract"). We create it only on an empty database and never change an existing one.
#include "store/postgres/stores.h"

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

}  // namespace tbpay::pg
