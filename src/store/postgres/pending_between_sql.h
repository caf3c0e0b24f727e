#pragma once
// The reconciler's read of stale payments, in a header of its own so that a test can ask
// PostgreSQL how often it reads the payments table (tests/store/pending_between_plan_test.cpp).

namespace tbpay::pg {

// $1 from, $2 split, $3 before, $4 providers, $5 limit. PENDING payments of those providers
// created in [$1, $3), oldest first: at most $5 created before $2 and at most $5 from $2 on.
// The core service's schema has no index on "createdAt", so the table is read sequentially,
// once for both parts: `pending` (MATERIALIZED: written once, whatever the planner would
// inline) keeps only each match's address and sort key, each part is a top-N sort of those,
// and the rows chosen are fetched by address. Keeping whole rows there instead cost 3 s, not
// 0.9, when a backlog put 1,170,000 PENDING payments in the window.
inline constexpr const char* kPendingBetweenSql = R"sql(
WITH pending AS MATERIALIZED (
    SELECT p.ctid AS address, p."createdAt", p.id
      FROM payments p
     WHERE p.status = 'PENDING'
       AND p."createdAt" >= $1::timestamp(3) AND p."createdAt" < $3::timestamp(3)
       AND p.provider = ANY ($4::text[])
),
chosen AS (
    (SELECT address FROM pending WHERE "createdAt" < $2::timestamp(3)
      ORDER BY "createdAt", id LIMIT $5::bigint)
    UNION ALL
    (SELECT address FROM pending WHERE "createdAt" >= $2::timestamp(3)
      ORDER BY "createdAt", id LIMIT $5::bigint)
)
SELECT p.id, p."orderCode", p."amountCents", p.currency, p.provider, p."providerTransactionId",
       p."idempotencyKey", p."redirectUrl", p."paymentUrl", p.status, p.metadata::text,
       p."createdAt", p."updatedAt", p."completedAt", p."failedAt", p."cancelledAt"
  FROM payments p
 WHERE p.ctid = ANY (ARRAY(SELECT address FROM chosen))
 ORDER BY p."createdAt", p.id
)sql";

}  // namespace tbpay::pg
