#include "config/config.h"

#include <gtest/gtest.h>

#include <map>

namespace tbpay {
namespace {

Result<Config, std::string> load(std::map<std::string, std::string> vars) {
  return load_config([vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
}

TEST(Config, NoVariablesMeansEmbeddedDefaults) {
  auto c = load({});
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->uses_postgres());
  EXPECT_EQ(c->sqlite_path(), "var/tbpay.db");
  EXPECT_TRUE(c->kafka.brokers.empty());
  EXPECT_EQ(c->outbox_max_retries, 3);
  EXPECT_EQ(c->outbox_retention_days, 7);
  EXPECT_FALSE(c->zalopay.configured());
  EXPECT_FALSE(c->payos.configured());
}

TEST(Config, PostgresUrlSelectsPostgres) {
  EXPECT_TRUE(load({{"DATABASE_URL", "postgresql://u@h/db"}})->uses_postgres());
  EXPECT_TRUE(load({{"DATABASE_URL", "postgres://u@h/db"}})->uses_postgres());
  EXPECT_EQ(load({{"DATABASE_URL", "sqlite:/tmp/x.db"}})->sqlite_path(), "/tmp/x.db");
}

TEST(Config, NodeEnvIsAcceptedForAppEnv) {
  EXPECT_EQ(load({{"NODE_ENV", "production"}})->env, AppEnv::Prod);
  EXPECT_EQ(load({{"APP_ENV", "staging"}, {"NODE_ENV", "prod"}})->env, AppEnv::Staging);
}

TEST(Config, ABadEnvironmentNameNamesTheVariableTheUserSet) {
  auto node = load({{"NODE_ENV", "banana"}});
  ASSERT_FALSE(node);
  EXPECT_EQ(node.error(), "NODE_ENV must be dev, staging or prod, got 'banana'");
  auto app = load({{"APP_ENV", "Banana"}, {"NODE_ENV", "production"}});
  ASSERT_FALSE(app);
  EXPECT_EQ(app.error(), "APP_ENV must be dev, staging or prod, got 'Banana'");
}

TEST(Config, AnUnknownDatabaseUrlSchemeStopsStartup) {
  for (const char* url : {"mysql://x", "mysql:x", "redis://h:6379", "Postgres://u@h/db"}) {
    auto c = load({{"DATABASE_URL", url}});
    ASSERT_FALSE(c) << url;
    EXPECT_NE(c.error().find("DATABASE_URL has an unknown scheme"), std::string::npos) << c.error();
  }
  EXPECT_NE(load({{"DATABASE_URL", "mysql://x"}}).error().find("'mysql:'"), std::string::npos);
  // SQLite paths and URLs keep working, a path with a colon after ./ or /.
  EXPECT_EQ(load({{"DATABASE_URL", "var/a.db"}})->sqlite_path(), "var/a.db");
  EXPECT_EQ(load({{"DATABASE_URL", "./a:b.db"}})->sqlite_path(), "./a:b.db");
  EXPECT_EQ(load({{"DATABASE_URL", "/tmp/a:b.db"}})->sqlite_path(), "/tmp/a:b.db");
  EXPECT_EQ(load({{"DATABASE_URL", "sqlite:var/a.db"}})->sqlite_path(), "var/a.db");
  EXPECT_EQ(load({{"DATABASE_URL", "sqlite://var/a.db"}})->sqlite_path(), "var/a.db");
  EXPECT_EQ(load({{"DATABASE_URL", "file:var/a.db"}})->sqlite_path(), "var/a.db");
}

// The Node.js deployment kept published events 7 days in dev and 30 in prod: a prod move that
// left OUTBOX_RETENTION_DAYS unset must not start deleting 23 days of history.
TEST(Config, RetentionDefaultsTo30DaysInProdAnd7Elsewhere) {
  EXPECT_EQ(load({{"APP_ENV", "prod"}})->outbox_retention_days, 30);
  EXPECT_EQ(load({{"NODE_ENV", "production"}})->outbox_retention_days, 30);
  EXPECT_EQ(load({{"APP_ENV", "staging"}})->outbox_retention_days, 7);
  EXPECT_EQ(load({{"APP_ENV", "dev"}})->outbox_retention_days, 7);
  EXPECT_EQ(load({{"APP_ENV", "prod"}, {"OUTBOX_RETENTION_DAYS", "14"}})->outbox_retention_days,
            14);
}

TEST(Config, BadNumberStopsStartupNamingTheVariable) {
  auto c = load({{"OUTBOX_BATCH_SIZE", "fifty"}});
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("OUTBOX_BATCH_SIZE"), std::string::npos);
  EXPECT_FALSE(load({{"OUTBOX_MAX_RETRIES", "0"}}));
  EXPECT_FALSE(load({{"OUTBOX_RETENTION_DAYS", "-1"}}));
  EXPECT_FALSE(load({{"OUTBOX_BATCH_SIZE", "10x"}}));
}

TEST(Config, ABadPrismaArgumentInDatabaseUrlStopsStartupNamingIt) {
  auto c = load({{"DATABASE_URL", "postgresql://u@h/db?schema=public&connection_limit=lots"}});
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("DATABASE_URL"), std::string::npos) << c.error();
  EXPECT_NE(c.error().find("connection_limit"), std::string::npos) << c.error();
  EXPECT_TRUE(load({{"DATABASE_URL", "postgresql://u@h/db?schema=public&connection_limit=5"}}));
}

TEST(Config, UnknownSaslMechanismStopsStartup) {
  auto c = load({{"KAFKA_SASL_MECHANISM", "gssapi"}});
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("KAFKA_SASL_MECHANISM"), std::string::npos);
  EXPECT_EQ(load({{"KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"}})->kafka.sasl,
            SaslMechanism::ScramSha512);
}

TEST(Config, ProviderKeysMakeProvidersConfigured) {
  auto c = load({{"ZALOPAY_APP_ID", "2553"}, {"ZALOPAY_KEY2", "k2"}, {"PAYOS_CHECKSUM_KEY", "ck"}});
  EXPECT_TRUE(c->zalopay.configured());
  EXPECT_TRUE(c->payos.configured());
}

TEST(Config, ReconcileSettingsAndProviderApiUrls) {
  using namespace std::chrono_literals;
  auto d = load({});
  EXPECT_EQ(d->reconcile.after, 2min);
  EXPECT_EQ(d->reconcile.within, 72h);
  EXPECT_EQ(d->reconcile.concurrency, 8);
  EXPECT_EQ(d->reconcile.rps, 20);
  EXPECT_EQ(d->zalopay.api_url, "https://sb-openapi.zalopay.vn");
  EXPECT_EQ(d->payos.api_url, "https://api-merchant.payos.vn");
  EXPECT_EQ(load({{"APP_ENV", "prod"}})->zalopay.api_url, "https://openapi.zalopay.vn");

  auto c = load({{"RECONCILE_AFTER", "90s"}, {"RECONCILE_WITHIN", "3d"},
                 {"RECONCILE_CONCURRENCY", "2"}, {"RECONCILE_RPS", "5"},
                 {"ZALOPAY_API_URL", "http://127.0.0.1:9"}, {"PAYOS_API_URL", "https://p.test"}});
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->reconcile.after, 90s);
  EXPECT_EQ(c->reconcile.within, 72h);
  EXPECT_EQ(c->reconcile.concurrency, 2);
  EXPECT_EQ(c->reconcile.rps, 5);
  EXPECT_EQ(c->zalopay.api_url, "http://127.0.0.1:9");
  EXPECT_EQ(c->payos.api_url, "https://p.test");

  for (const auto& [name, value] : std::map<std::string, std::string>{
           {"RECONCILE_AFTER", "soon"}, {"RECONCILE_WITHIN", "1m"},
           {"RECONCILE_CONCURRENCY", "0"}, {"RECONCILE_RPS", "x"}}) {
    auto bad = load({{name, value}});
    ASSERT_FALSE(bad) << name;
    EXPECT_NE(bad.error().find(name), std::string::npos) << bad.error();
  }
}

}  // namespace
}  // namespace tbpay
