#include <gtest/gtest.h>

#include <thread>

#include "store/open.h"
#include "support/test_database.h"

namespace tbpay::test {
namespace {

std::string dump(const std::vector<Row>& rows) {
  std::string out;
  for (const auto& row : rows) {
    for (const auto& v : row) out += (v ? *v : "NULL") + " | ";
    out += "\n";
  }
  return out;
}

// Everything `migrate` could create or change in the public schema.
std::string pg_catalog(TestDatabase& db) {
  return dump(db.query(R"(
SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default,
       datetime_precision
  FROM information_schema.columns
 WHERE table_schema = 'public'
 ORDER BY table_name, ordinal_position)")) +
         dump(db.query(
             "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1")) +
         dump(db.query(R"(
SELECT t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
  FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
 GROUP BY t.typname ORDER BY 1)")) +
         dump(db.query(R"(
SELECT conname, contype FROM pg_constraint
 WHERE connamespace = 'public'::regnamespace ORDER BY 1)"));
}

TEST(PostgresSchema, MigrateCreatesTheCoreServiceSchemaExactly) {
  PgTestDatabase db;
  auto report = db.open()->schema().migrate();
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->created);

  const std::string ts = "timestamp without time zone | timestamp | ";
  EXPECT_EQ(dump(db.query(R"(
SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default,
       datetime_precision
  FROM information_schema.columns
 WHERE table_schema = 'public'
 ORDER BY table_name, ordinal_position)")),
            "outbox | id | text | text | NO | NULL | NULL | \n"
            "outbox | aggregateId | text | text | NO | NULL | NULL | \n"
            "outbox | aggregateType | text | text | NO | NULL | NULL | \n"
            "outbox | eventType | text | text | NO | NULL | NULL | \n"
            "outbox | payload | jsonb | jsonb | NO | NULL | NULL | \n"
            "outbox | published | boolean | bool | NO | false | NULL | \n"
            "outbox | publishedAt | " +
                ts +
                "YES | NULL | 3 | \n"
                "outbox | createdAt | " +
                ts +
                "NO | CURRENT_TIMESTAMP | 3 | \n"
                "outbox | retryCount | integer | int4 | NO | 0 | NULL | \n"
                "outbox | lastError | text | text | YES | NULL | NULL | \n"
                "payments | id | text | text | NO | NULL | NULL | \n"
                "payments | orderCode | text | text | NO | NULL | NULL | \n"
                "payments | amountCents | integer | int4 | NO | NULL | NULL | \n"
                "payments | currency | USER-DEFINED | Currency | NO | NULL | NULL | \n"
                "payments | provider | text | text | NO | NULL | NULL | \n"
                "payments | providerTransactionId | text | text | NO | NULL | NULL | \n"
                "payments | idempotencyKey | text | text | NO | NULL | NULL | \n"
                "payments | redirectUrl | text | text | NO | NULL | NULL | \n"
                "payments | paymentUrl | text | text | NO | NULL | NULL | \n"
                "payments | status | USER-DEFINED | PaymentStatus | NO | NULL | NULL | \n"
                "payments | metadata | jsonb | jsonb | YES | NULL | NULL | \n"
                "payments | createdAt | " +
                ts +
                "NO | CURRENT_TIMESTAMP | 3 | \n"
                "payments | updatedAt | " +
                ts +
                "NO | NULL | 3 | \n"
                "payments | completedAt | " +
                ts +
                "YES | NULL | 3 | \n"
                "payments | failedAt | " +
                ts +
                "YES | NULL | 3 | \n"
                "payments | cancelledAt | " +
                ts + "YES | NULL | 3 | \n");
  EXPECT_EQ(
      dump(db.query(
          "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1")),
      "outbox_pkey | CREATE UNIQUE INDEX outbox_pkey ON public.outbox USING btree (id) | \n"
      "outbox_published_createdAt_idx | CREATE INDEX \"outbox_published_createdAt_idx\" ON "
      "public.outbox USING btree (published, \"createdAt\") | \n"
      "payments_idempotencyKey_key | CREATE UNIQUE INDEX \"payments_idempotencyKey_key\" ON "
      "public.payments USING btree (\"idempotencyKey\") | \n"
      "payments_orderCode_idx | CREATE INDEX \"payments_orderCode_idx\" ON public.payments USING "
      "btree (\"orderCode\") | \n"
      "payments_orderCode_key | CREATE UNIQUE INDEX \"payments_orderCode_key\" ON public.payments "
      "USING btree (\"orderCode\") | \n"
      "payments_pkey | CREATE UNIQUE INDEX payments_pkey ON public.payments USING btree (id) | \n");
  EXPECT_EQ(dump(db.query(R"(
SELECT t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
  FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
 GROUP BY t.typname ORDER BY 1)")),
            "Currency | VND | \nPaymentStatus | PENDING,COMPLETED,FAILED,CANCELLED | \n");
}

TEST(PostgresSchema, SecondMigrateChangesNothingAndSaysSo) {
  PgTestDatabase db;
  auto store = db.open();
  ASSERT_TRUE(store->schema().migrate());
  const auto before = pg_catalog(db);

  auto again = store->schema().migrate();

  ASSERT_TRUE(again) << again.error().message;
  EXPECT_FALSE(again->created);
  EXPECT_NE(again->detail.find("nothing changed"), std::string::npos) << again->detail;
  EXPECT_EQ(pg_catalog(db), before);
}

TEST(PostgresSchema, MigrateLeavesTheCoreServicesOwnTablesAlone) {
  PgTestDatabase ours, theirs;
  ours.migrate();
  theirs.create_core_service_schema();
  const auto before = pg_catalog(theirs);

  auto report = theirs.open()->schema().migrate();

  ASSERT_TRUE(report) << report.error().message;
  EXPECT_FALSE(report->created);
  EXPECT_EQ(pg_catalog(theirs), before);
  // And the hand-written tables have the same columns and types as the ones migrate creates.
  const char* shape = R"(
SELECT table_name, column_name, data_type, udt_name, is_nullable, datetime_precision
  FROM information_schema.columns WHERE table_schema = 'public'
 ORDER BY table_name, ordinal_position)";
  EXPECT_EQ(dump(theirs.query(shape)), dump(ours.query(shape)));
}

TEST(PostgresSchema, PartialSchemaIsRefusedAndLeftAsItWas) {
  PgTestDatabase db;
  db.exec(R"(CREATE TABLE outbox (id TEXT PRIMARY KEY))");

  auto report = db.open()->schema().migrate();

  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().kind, ErrorKind::Invalid);
  EXPECT_NE(report.error().message.find("partial schema"), std::string::npos);
  EXPECT_EQ(db.count("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), 1);
}

TEST(PostgresSchema, ConcurrentMigratesCreateTheSchemaOnce) {
  PgTestDatabase db;
  auto a = db.open(), b = db.open();
  Result<MigrateReport> ra = Error{}, rb = Error{};
  std::thread ta([&] { ra = a->schema().migrate(); });
  std::thread tb([&] { rb = b->schema().migrate(); });
  ta.join();
  tb.join();

  ASSERT_TRUE(ra) << ra.error().message;
  ASSERT_TRUE(rb) << rb.error().message;
  EXPECT_NE(ra->created, rb->created);
}

TEST(PostgresSchema, LookupIndexIsCreatedOnlyOnRequestAndOnlyOnce) {
  PgTestDatabase db;
  auto store = db.open();
  ASSERT_TRUE(store->schema().migrate());
  const char* lookup = R"(SELECT indexdef FROM pg_indexes
                          WHERE indexname = 'payments_provider_providerTransactionId_idx')";
  EXPECT_TRUE(db.query(lookup).empty());

  auto created = store->schema().create_lookup_index();
  auto again = store->schema().create_lookup_index();

  ASSERT_TRUE(created) << created.error().message;
  EXPECT_TRUE(created->created);
  EXPECT_EQ(db.scalar(lookup),
            "CREATE INDEX \"payments_provider_providerTransactionId_idx\" ON public.payments "
            "USING btree (provider, \"providerTransactionId\")");
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->created);
}

TEST(PostgresSchema, MigrateOnAnUnreachableServerIsUnavailable) {
  Config config;
  config.database_url = "postgresql://postgres@127.0.0.1:1/postgres";
  auto report = open_database(config)->schema().migrate();
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().kind, ErrorKind::Unavailable);
}

// --- SQLite ------------------------------------------------------------------------------

std::string sqlite_catalog(TestDatabase& db) {
  return dump(db.query(R"(
SELECT m.name, c.name, c.type, c."notnull", c.dflt_value, c.pk
  FROM sqlite_master m, pragma_table_info(m.name) c
 WHERE m.type = 'table' ORDER BY m.name, c.cid)")) +
         dump(db.query("SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name"));
}

TEST(SqliteSchema, MigrateCreatesTheSameTablesColumnsAndIndexes) {
  SqliteTestDatabase lite;
  PgTestDatabase pg;
  auto report = lite.open()->schema().migrate();
  pg.migrate();

  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->created);
  const char* pg_columns = R"(SELECT table_name, column_name FROM information_schema.columns
                              WHERE table_schema = 'public' ORDER BY table_name, ordinal_position)";
  const char* lite_columns =
      R"(SELECT m.name, c.name FROM sqlite_master m, pragma_table_info(m.name) c
                                WHERE m.type = 'table' ORDER BY m.name, c.cid)";
  EXPECT_EQ(dump(lite.query(lite_columns)), dump(pg.query(pg_columns)));
  EXPECT_EQ(dump(lite.query("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT "
                            "NULL ORDER BY name")),
            "outbox_published_createdAt_idx | \npayments_idempotencyKey_key | \n"
            "payments_orderCode_idx | \npayments_orderCode_key | \n");
  EXPECT_EQ(lite.scalar("PRAGMA journal_mode"), "wal");
  // Timestamps as text that sorts: the default has milliseconds.
  EXPECT_EQ(
      lite.scalar(R"(SELECT dflt_value FROM pragma_table_info('outbox') WHERE name = 'createdAt')"),
      "strftime('%Y-%m-%d %H:%M:%f', 'now')");
}

TEST(SqliteSchema, SecondMigrateChangesNothingAndLookupIndexIsOnRequest) {
  SqliteTestDatabase db;
  auto store = db.open();
  ASSERT_TRUE(store->schema().migrate());
  const auto before = sqlite_catalog(db);

  auto again = store->schema().migrate();
  EXPECT_EQ(sqlite_catalog(db), before);
  auto created = store->schema().create_lookup_index();
  auto twice = store->schema().create_lookup_index();

  ASSERT_TRUE(again);
  EXPECT_FALSE(again->created);
  ASSERT_TRUE(created && twice);
  EXPECT_TRUE(created->created);
  EXPECT_FALSE(twice->created);
  EXPECT_EQ(db.count("SELECT count(*) FROM sqlite_master WHERE name = "
                     "'payments_provider_providerTransactionId_idx'"),
            1);
}

}  // namespace
}  // namespace tbpay::test
