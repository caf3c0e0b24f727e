// DATABASE_URL as the core service writes it for Prisma (src/config/database_url.h):
// Prisma's own arguments are taken out and applied, everything else reaches libpq untouched,
// and a bad value is refused with the argument's name.
#include "config/database_url.h"

#include <gtest/gtest.h>

namespace tbpay::pg {
namespace {

using namespace std::chrono_literals;

constexpr const char* kSession = "-c TimeZone=UTC -c DateStyle=ISO";

ConnectionSettings parsed(const std::string& url) {
  auto s = parse_database_url(url, 16);
  EXPECT_TRUE(s) << url << ": " << (s ? "" : s.error().message);
  return s ? std::move(s).value() : ConnectionSettings{};
}

std::string error_of(const std::string& url) {
  auto s = parse_database_url(url, 16);
  EXPECT_FALSE(s) << url << " was accepted";
  if (s) return "";
  EXPECT_EQ(s.error().kind, ErrorKind::Invalid);
  return s.error().message;
}

TEST(DatabaseUrl, APrismaUrlLosesPrismasArgumentsAndKeepsLibpqs) {
  const auto s = parsed(
      "postgresql://app:s3cret@db.internal:5432/ticketbottle?schema=payments&connection_limit=5"
      "&sslmode=require&pool_timeout=20&socket_timeout=7&application_name=core&pgbouncer=true");
  EXPECT_EQ(s.url,
            "postgresql://app:s3cret@db.internal:5432/"
            "ticketbottle?sslmode=require&application_name=core");
  EXPECT_EQ(s.pool_size, 5u);
  EXPECT_EQ(s.pool_timeout, std::optional(20s));
  EXPECT_EQ(s.answer_timeout, 7s);
  EXPECT_FALSE(s.prepared_statements);
  // Behind PgBouncer only what the URL asks for: it refuses startup options it does not know.
  EXPECT_EQ(s.options, "-c search_path=\"payments\"");
  EXPECT_FALSE(s.sslrootcert);
  EXPECT_FALSE(s.sslmode);
}

TEST(DatabaseUrl, WithoutArgumentsTheDefaultsHold) {
  const auto s = parsed("postgres://localhost/tbpay");
  EXPECT_EQ(s.url, "postgres://localhost/tbpay");
  EXPECT_EQ(s.pool_size, 16u);
  EXPECT_EQ(s.pool_timeout, std::optional(10s));  // Prisma's default, too
  EXPECT_EQ(s.answer_timeout, 30s);
  EXPECT_TRUE(s.prepared_statements);
  EXPECT_EQ(s.options, kSession);
  // Only connection_limit changes the pool's size: the caller's default stands otherwise.
  EXPECT_EQ(parse_database_url("postgres://localhost/tbpay", 4).value().pool_size, 4u);
}

TEST(DatabaseUrl, LockTimeoutBoundsTheWaitForAPaymentsRowAndIsNotPassedToLibpq) {
  EXPECT_EQ(parsed("postgres://localhost/tbpay").lock_timeout, 5s);
  const auto s = parsed("postgresql://u@h/db?lock_timeout=2&sslmode=disable");
  EXPECT_EQ(s.lock_timeout, 2s);
  EXPECT_EQ(s.url, "postgresql://u@h/db?sslmode=disable");
  EXPECT_NE(error_of("postgresql://u@h/db?lock_timeout=0").find("lock_timeout"), std::string::npos);
}

// A statement waiting for a row lock as long as the wait for any answer would be cut off as if
// the server were gone: refused, naming both.
TEST(DatabaseUrl, ALockTimeoutNotShorterThanTheSocketTimeoutIsRefused) {
  const auto equal = error_of("postgresql://u@h/db?lock_timeout=30");
  EXPECT_NE(equal.find("lock_timeout (30 s) must be shorter than socket_timeout (30 s)"),
            std::string::npos)
      << equal;
  EXPECT_NE(error_of("postgresql://u@h/db?socket_timeout=5&lock_timeout=10").find("socket_timeout"),
            std::string::npos);
  EXPECT_EQ(parsed("postgresql://u@h/db?lock_timeout=40&socket_timeout=60").lock_timeout, 40s);
  // Not given: the default 5 s becomes half a shorter socket_timeout, so that such a URL works.
  EXPECT_EQ(parsed("postgresql://u@h/db?socket_timeout=4").lock_timeout, 2s);
  EXPECT_EQ(parsed("postgresql://u@h/db?socket_timeout=10").lock_timeout, 5s);
}

TEST(DatabaseUrl, OnlyPrismasArgumentsLeaveAndTheOthersKeepTheirSpelling) {
  const auto s = parsed(
      "postgresql://u@h/db?host=%2Fvar%2Frun%2Fpostgresql&schema=public&connect_timeout=3"
      "&max_connection_lifetime=60&max_idle_connection_lifetime=5&statement_cache_size=100");
  EXPECT_EQ(s.url, "postgresql://u@h/db?host=%2Fvar%2Frun%2Fpostgresql&connect_timeout=3");
  EXPECT_TRUE(s.prepared_statements);  // a statement cache of 100 is no reason to stop
  EXPECT_FALSE(parsed("postgresql://u@h/db?statement_cache_size=0").prepared_statements);
  EXPECT_EQ(parsed("postgresql://u@h/db?statement_cache_size=0").options, kSession);
  // Prisma's usual URL behind PgBouncer: public is on the default search_path, nothing to send.
  EXPECT_EQ(parsed("postgresql://u@h/db?pgbouncer=true&schema=public").options, "");
  EXPECT_TRUE(parsed("postgresql://u@h/db?pgbouncer=false").prepared_statements);
  // pool_timeout=0: wait for a connection as long as it takes.
  EXPECT_EQ(parsed("postgresql://u@h/db?pool_timeout=0").pool_timeout, std::nullopt);
}

TEST(DatabaseUrl, TheUrlsOwnOptionsComeFirstAndTbpaysSessionSettingsLast) {
  const auto s =
      parsed("postgresql://u@h/db?options=-c%20statement_timeout%3D5000&schema=Core%20Payments");
  EXPECT_EQ(s.url, "postgresql://u@h/db");
  // The schema name is taken verbatim (quoted: case and space kept; the space escaped for
  // libpq's options syntax).
  EXPECT_EQ(s.options,
            "-c statement_timeout=5000 -c search_path=\"Core\\ Payments\" "
            "-c TimeZone=UTC -c DateStyle=ISO");  // the URL's options, then kSession
}

TEST(DatabaseUrl, PrismasTlsArgumentsBecomeLibpqs) {
  const auto s = parsed(
      "postgresql://u@h/db?sslmode=require&sslcert=%2Fetc%2Fssl%2Frds-ca.pem&sslaccept=strict");
  EXPECT_EQ(s.url, "postgresql://u@h/db?sslmode=require");
  // Prisma's sslcert is the server's CA certificate: libpq's sslrootcert.
  EXPECT_EQ(s.sslrootcert, std::optional<std::string>("/etc/ssl/rds-ca.pem"));
  // strict: the certificate is checked, and the host name in it.
  EXPECT_EQ(s.sslmode, std::optional<std::string>("verify-full"));
  EXPECT_FALSE(
      parsed("postgresql://u@h/db?sslmode=require&sslaccept=accept_invalid_certs").sslmode);
}

TEST(DatabaseUrl, BadValuesAreRefusedNamingTheArgument) {
  EXPECT_NE(error_of("postgresql://u@h/db?connection_limit=0").find("connection_limit"),
            std::string::npos);
  EXPECT_NE(error_of("postgresql://u@h/db?connection_limit=ten").find("connection_limit"),
            std::string::npos);
  EXPECT_NE(error_of("postgresql://u@h/db?socket_timeout=0").find("socket_timeout"),
            std::string::npos);
  EXPECT_NE(error_of("postgresql://u@h/db?pool_timeout=-1").find("pool_timeout"),
            std::string::npos);
  EXPECT_NE(error_of("postgresql://u@h/db?pgbouncer=yes").find("pgbouncer"), std::string::npos);
  EXPECT_NE(error_of("postgresql://u@h/db?sslaccept=never").find("sslaccept"), std::string::npos);
  EXPECT_NE(error_of("postgresql://u@h/db?schema=%zz").find("schema"), std::string::npos);
  // A PKCS12 identity cannot be given to libpq: the error says what to do instead.
  const auto identity = error_of("postgresql://u@h/db?sslidentity=client.p12&sslpassword=pw");
  EXPECT_NE(identity.find("PGSSLCERT"), std::string::npos) << identity;
  EXPECT_EQ(identity.find("pw"), std::string::npos) << "a value was echoed: " << identity;
}

TEST(DatabaseUrl, KeyValueConnectionStringsAreLibpqsAlone) {
  const auto s = parsed("host=localhost dbname=tbpay options='-c geqo=off'");
  EXPECT_EQ(s.url, "host=localhost dbname=tbpay options='-c geqo=off'");
  EXPECT_EQ(s.options, kSession);
}

}  // namespace
}  // namespace tbpay::pg
