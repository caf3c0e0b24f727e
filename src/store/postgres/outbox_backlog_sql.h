#pragma once
// The outbox gauges' statement, in a header of its own so that a test can ask PostgreSQL how
// much of the table it reads (tests/store/outbox_backlog_plan_test.cpp).
#include "store/postgres/outbox_state_sql.h"

namespace tbpay::pg {

// $1 max retries. Pending and dead events, and the oldest pending one's createdAt, from the
// rows with published = false only: through the ("published", "createdAt") index, whatever
// number of published events the table keeps. (Rows the Node.js relay marked with
// "publishedAt" alone are among them until flagged; they count as neither.)
// clang-format off
inline constexpr auto kBacklogSql = R"sql(
SELECT count(*) FILTER (WHERE )sql" + kPendingRow + R"sql(),
       count(*) FILTER (WHERE )sql" + kDeadRow + R"sql(),
       min("createdAt") FILTER (WHERE )sql" + kPendingRow + R"sql()
  FROM outbox
 WHERE published = false
)sql";
// clang-format on

}  // namespace tbpay::pg
