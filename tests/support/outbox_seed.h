#pragma once
// The outbox of a quiet production database, for the tests that ask PostgreSQL for the plans of
// the outbox statements: `count` events, every one published, then ANALYZE, so that the
// statistics say no event is pending.
#include <string>

#include "support/test_database.h"

namespace tbpay::test {

inline void seed_published_outbox(PgTestDatabase& db, int count) {
  db.exec(R"sql(
    INSERT INTO outbox (id, "aggregateId", "aggregateType", "eventType", payload, published,
                        "publishedAt", "createdAt")
    SELECT 'published-' || g, 'payment-' || g, 'Payment', 'PaymentCompleted', '{}'::jsonb,
           true, '2025-12-13 06:00:00'::timestamp, '2025-12-13 05:00:00'::timestamp
                                                   + g * interval '1 ms'
      FROM generate_series(1, $1::integer) g)sql",
          {std::to_string(count)});
  db.exec("ANALYZE outbox");
}

}  // namespace tbpay::test
