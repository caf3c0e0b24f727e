// The PostgreSQL pool under DATABASE_URL's Prisma arguments (src/config/database_url.h),
// on a real server: what each argument changes, seen from the server's side.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "store/postgres/connection.h"
#include "support/test_database.h"

namespace tbpay::pg {
namespace {

using test::PgTestDatabase;

constexpr Statement kProbe{"tbpay_probe", "SELECT $1::integer + 1"};

std::int64_t prepared_on(Connection& c) {
  auto rows = c.run("SELECT count(*) FROM pg_prepared_statements");
  EXPECT_TRUE(rows) << rows.error().message;
  return rows ? rows->integer(0, 0) : -1;
}

TEST(PgPool, StatementsArePreparedOncePerConnection) {
  PgTestDatabase db;
  Pool pool(db.url(), 1);
  auto lease = pool.acquire();
  ASSERT_TRUE(lease) << lease.error().message;
  for (int i = 0; i < 3; ++i) {
    auto rows = (*lease)->run(kProbe, {std::to_string(i)});
    ASSERT_TRUE(rows) << rows.error().message;
    EXPECT_EQ(rows->integer(0, 0), i + 1);
  }
  EXPECT_EQ(prepared_on(**lease), 1);
}

// Behind a transaction-mode pooler the next transaction may run on another server session,
// where a statement prepared earlier does not exist: pgbouncer=true prepares nothing.
TEST(PgPool, PgbouncerTrueRunsEveryStatementUnprepared) {
  PgTestDatabase db;
  for (const char* argument : {"?pgbouncer=true", "?statement_cache_size=0"}) {
    Pool pool(db.url() + argument, 1);
    auto lease = pool.acquire();
    ASSERT_TRUE(lease) << lease.error().message;
    auto rows = (*lease)->run(kProbe, {"41"});
    ASSERT_TRUE(rows) << rows.error().message;
    EXPECT_EQ(rows->integer(0, 0), 42);
    ASSERT_TRUE((*lease)->run("BEGIN"));
    EXPECT_TRUE((*lease)->run_and_commit(kProbe, {"1"})) << argument;
    EXPECT_EQ(prepared_on(**lease), 0) << argument;
  }
}

// A statement the server does not answer in socket_timeout seconds fails, saying so, and its
// connection is dropped: the pool opens a fresh one for the next call.
TEST(PgPool, SocketTimeoutBoundsTheWaitForAnAnswer) {
  PgTestDatabase db;
  Pool pool(db.url() + "?socket_timeout=1&connection_limit=1", 16);
  {
    auto lease = pool.acquire();
    ASSERT_TRUE(lease) << lease.error().message;
    auto pid = (*lease)->run("SELECT pg_backend_pid()");
    ASSERT_TRUE(pid);
    auto slow = (*lease)->run("SELECT pg_sleep(4)");
    ASSERT_FALSE(slow);
    EXPECT_EQ(slow.error().kind, ErrorKind::Unavailable);
    EXPECT_NE(slow.error().message.find("no answer from the database within 1 s"),
              std::string::npos)
        << slow.error().message;
    EXPECT_TRUE((*lease)->broken());
  }
  auto rows = pool.run(kProbe, {"1"}, Pool::Retry::No);
  ASSERT_TRUE(rows) << rows.error().message;
  EXPECT_EQ(rows->integer(0, 0), 2);
}

TEST(PgPool, ConnectionLimitAndPoolTimeoutBoundThePool) {
  PgTestDatabase db;
  Pool pool(db.url() + "?connection_limit=1&pool_timeout=1", 16);
  auto held = pool.acquire();
  ASSERT_TRUE(held) << held.error().message;
  auto second = pool.acquire();  // the only connection is on loan
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().kind, ErrorKind::Unavailable);
  EXPECT_NE(second.error().message.find("pool_timeout"), std::string::npos)
      << second.error().message;
}

// What /metrics reports as tbpay_db_pool_connections_in_use and tbpay_db_pool_waiting.
TEST(PgPool, CountsConnectionsInUseAndCallersWaitingForOne) {
  PgTestDatabase db;
  Pool pool(db.url() + "?connection_limit=2", 16);
  EXPECT_EQ(pool.max_size(), 2u);
  {
    auto a = pool.acquire();
    auto b = pool.acquire();
    ASSERT_TRUE(a && b);
    EXPECT_EQ(pool.in_use(), 2u);
    EXPECT_EQ(pool.waiting(), 0u);
    // A third caller waits until a connection comes back.
    std::optional<Result<Pool::Lease>> third;
    std::thread waiter([&] { third.emplace(pool.acquire()); });
    for (int i = 0; i < 1000 && pool.waiting() == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(pool.waiting(), 1u);
    { auto released = std::move(a); }
    waiter.join();
    ASSERT_TRUE(third && *third);
    EXPECT_EQ(pool.waiting(), 0u);
    EXPECT_EQ(pool.in_use(), 2u);
  }
  EXPECT_EQ(pool.in_use(), 0u);
  // A statement borrows one for its duration only.
  ASSERT_TRUE(pool.run(kProbe, {"1"}, Pool::Retry::Once));
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(PgPool, AnUnreadableUrlFailsEveryCallNamingTheArgument) {
  Pool pool("postgresql://localhost/tbpay?connection_limit=zero", 16);
  auto rows = pool.run(kProbe, {"1"}, Pool::Retry::Once);
  ASSERT_FALSE(rows);
  EXPECT_NE(rows.error().message.find("connection_limit"), std::string::npos)
      << rows.error().message;
  EXPECT_EQ(pool.describe(), "postgresql localhost:5432/tbpay");
}

}  // namespace
}  // namespace tbpay::pg
