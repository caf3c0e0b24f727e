#pragma once
// The webhook's transition statements, in a header of their own so that a test can ask
// PostgreSQL for their plans (tests/store/apply_callback_plan_test.cpp).

namespace tbpay::pg {

// The webhook's transition in one statement (one round trip), READ COMMITTED. Parameters: $1
// provider, $2 transaction id, $3 ZaloPay order codes (text[], zalopay_order_codes(); empty
// for PayOS), $4 amount, $5 outcome, $6 statuses that may move to it, $7 provider reference,
// $8 reason, $9 the writer's clock, $10 event id, $11 event type.
//  candidate  the payment the callback names. PayOS: by provider + paymentLinkId, which only an
//             index on "providerTransactionId" serves (`tbpay migrate --lookup-index`; the core
//             service's migrations create none). ZaloPay: app_trans_id is `yymmdd_<orderCode>`,
//             so the payments whose "orderCode" is one of $3 are read through the unique index
//             on "orderCode" (always there), and the matching rule is applied to them: the one
//             whose providerTransactionId equals app_trans_id, else the one whose orderCode is
//             $3[1], the text after the first '_' (payment_named_by()). The branch of the
//             other provider is cut by its one-time filter and never runs;
//  target     that row, locked. Concurrent deliveries of one callback queue here; each sees
//             the status the previous one committed. `at`, the transition's time, is the
//             writer's clock ($9) but always after the transition it would follow (GREATEST
//             skips NULLs): a callback that waited for the lock may carry an earlier clock
//             reading than the one it waited for, and the relay publishes a payment's events
//             in createdAt order (transition_time());
//  moved      the transition, only if the amount matches and the locked row's status is one
//             the state machine lets move to the outcome ($6, from can_transition()): as
//             decide_transition() decides, which the store asks again of the row returned;
//  event      the outbox row, only if it moved. Payload fields as core/event_payload.cpp.
// The final SELECT tells the caller what happened; no row means no such payment.
inline constexpr const char* kApplyCallbackSql = R"sql(
WITH candidate AS (
    SELECT id, 0 AS rank FROM payments
     WHERE cardinality($3::text[]) = 0
       AND provider = $1::text AND "providerTransactionId" = $2::text
    UNION ALL
    SELECT id, CASE WHEN "providerTransactionId" = $2::text THEN 0 ELSE 1 END FROM payments
     WHERE cardinality($3::text[]) > 0
       AND "orderCode" = ANY ($3::text[]) AND provider = $1::text
       AND ("providerTransactionId" = $2::text OR "orderCode" = ($3::text[])[1])
    ORDER BY rank
    LIMIT 1
),
target AS (
    SELECT p.id, p."orderCode", p."amountCents", p.currency, p.provider,
           p."providerTransactionId", p.status,
           GREATEST($9::timestamp(3), p."failedAt" + interval '1 millisecond',
                    p."cancelledAt" + interval '1 millisecond') AS at
      FROM payments p
     WHERE p.id = (SELECT id FROM candidate)
       FOR UPDATE
),
moved AS (
    UPDATE payments p
       SET status = $5::"PaymentStatus",
           "updatedAt" = t.at,
           "completedAt" = CASE WHEN $5::"PaymentStatus" = 'COMPLETED' THEN t.at
                                ELSE p."completedAt" END,
           "failedAt" = CASE WHEN $5::"PaymentStatus" = 'FAILED' THEN t.at
                             ELSE p."failedAt" END
      FROM target t
     WHERE p.id = t.id
       AND p."amountCents" = $4::bigint
       AND p.status = ANY ($6::"PaymentStatus"[])
    RETURNING p.id
),
event AS (
    INSERT INTO outbox (id, "aggregateId", "aggregateType", "eventType", payload, "createdAt")
    SELECT $10::text, t.id, 'Payment', $11::text,
           jsonb_build_object('order_code', t."orderCode",
                              'payment_id', t.id,
                              'amount_cents', t."amountCents",
                              'currency', t.currency,
                              'provider', t.provider,
                              'transaction_id', t."providerTransactionId")
           || CASE WHEN $7::text <> '' THEN jsonb_build_object('provider_reference', $7::text)
                   ELSE '{}'::jsonb END
           || CASE WHEN $5::"PaymentStatus" = 'FAILED'
                   THEN jsonb_build_object('failed_at', to_char(t.at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                                           'reason', $8::text)
                   ELSE jsonb_build_object('completed_at', to_char(t.at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
              END
           || CASE WHEN t.status <> 'PENDING' THEN jsonb_build_object('previous_status', t.status)
                   ELSE '{}'::jsonb END,
           t.at
      FROM target t JOIN moved m ON m.id = t.id
    RETURNING id
)
SELECT t.id, t."orderCode", t."amountCents", t.status, (SELECT count(*) FROM event) AS applied
  FROM target t
)sql";

// Every callback's first attempt: the common case, a PENDING payment moving to the callback's
// outcome, with no more work than that needs. Same parameters as kApplyCallbackSql.
//  candidate  as in kApplyCallbackSql;
//  moved      the transition, if the amount matches and the row is PENDING. No FOR UPDATE
//             first: under READ COMMITTED an UPDATE that finds the row locked waits for the
//             other writer, then evaluates its WHERE again on the row that writer committed.
//             Two deliveries of one callback cannot both move it: the second finds it no
//             longer PENDING. `at` as in kApplyCallbackSql (for a PENDING row, failedAt and
//             cancelledAt are normally NULL);
//  event      the outbox row of the move. A PENDING payment has no previous_status.
// One row comes back either way: the moved payment with applied = 1 and status PENDING (as it
// was), or, when nothing moved, the payment as this statement's snapshot saw it, applied = 0.
// The store decides from that row what it can decide for good (amount mismatch; a status that
// can never move to the outcome, since statuses only move on); anything else (a payment in
// FAILED or CANCELLED that a COMPLETED callback may still move, or one a concurrent writer
// changed under us) goes to kApplyCallbackSql, which locks the row first. No row: no such
// payment.
inline constexpr const char* kApplyPendingSql = R"sql(
WITH candidate AS (
    SELECT ctid AS version, id, "orderCode", "amountCents", status, 0 AS rank FROM payments
     WHERE cardinality($3::text[]) = 0
       AND provider = $1::text AND "providerTransactionId" = $2::text
    UNION ALL
    SELECT ctid, id, "orderCode", "amountCents", status,
           CASE WHEN "providerTransactionId" = $2::text THEN 0 ELSE 1 END FROM payments
     WHERE cardinality($3::text[]) > 0
       AND "orderCode" = ANY ($3::text[]) AND provider = $1::text
       AND ("providerTransactionId" = $2::text OR "orderCode" = ($3::text[])[1])
    ORDER BY rank
    LIMIT 1
),
moved AS (
    UPDATE payments p
       SET status = $5::"PaymentStatus",
           "updatedAt" = GREATEST($9::timestamp(3), p."failedAt" + interval '1 millisecond',
                                  p."cancelledAt" + interval '1 millisecond'),
           "completedAt" = CASE WHEN $5::"PaymentStatus" = 'COMPLETED'
                                THEN GREATEST($9::timestamp(3), p."failedAt" + interval '1 millisecond',
                                              p."cancelledAt" + interval '1 millisecond')
                                ELSE p."completedAt" END,
           "failedAt" = CASE WHEN $5::"PaymentStatus" = 'FAILED'
                             THEN GREATEST($9::timestamp(3), p."failedAt" + interval '1 millisecond',
                                           p."cancelledAt" + interval '1 millisecond')
                             ELSE p."failedAt" END
     WHERE p.ctid = (SELECT version FROM candidate)
       AND p."amountCents" = $4::bigint
       AND p.status = 'PENDING'
       AND 'PENDING' = ANY ($6::"PaymentStatus"[])
    RETURNING p.id, p."orderCode", p."amountCents", p.currency, p.provider,
              p."providerTransactionId", p."updatedAt" AS at
),
event AS (
    INSERT INTO outbox (id, "aggregateId", "aggregateType", "eventType", payload, "createdAt")
    SELECT $10::text, m.id, 'Payment', $11::text,
           jsonb_build_object('order_code', m."orderCode",
                              'payment_id', m.id,
                              'amount_cents', m."amountCents",
                              'currency', m.currency,
                              'provider', m.provider,
                              'transaction_id', m."providerTransactionId")
           || CASE WHEN $7::text <> '' THEN jsonb_build_object('provider_reference', $7::text)
                   ELSE '{}'::jsonb END
           || CASE WHEN $5::"PaymentStatus" = 'FAILED'
                   THEN jsonb_build_object('failed_at', to_char(m.at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                                           'reason', $8::text)
                   ELSE jsonb_build_object('completed_at', to_char(m.at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
              END,
           m.at
      FROM moved m
    RETURNING id
)
SELECT m.id, m."orderCode", m."amountCents", 'PENDING'::"PaymentStatus" AS status,
       (SELECT count(*) FROM event) AS applied
  FROM moved m
UNION ALL
SELECT c.id, c."orderCode", c."amountCents", c.status, 0
  FROM candidate c
 WHERE NOT EXISTS (SELECT 1 FROM moved)
)sql";

// kApplyPendingSql for a group of callbacks in one statement: one plan, one executor run and one
// round trip for all of them, where a statement each costs PostgreSQL as much again in
// protocol and executor start-up as the rows' own work. Parameters are arrays, element k (from
// 1) for callback k:
//   $1 provider, $2 transaction id, $3 ZaloPay's first order code ('' for PayOS: its branch),
//   $4 amount, $5 outcome, $6 whether a PENDING payment may move to it, $7 provider reference,
//   $8 reason, $9 the writer's clock, $10 event id, $11 event type;
//   $12 and $13 ZaloPay's order codes, flattened: $13[j] is one of callback $12[j]'s
//   (zalopay_order_codes()).
// Each callback's candidate and move are kApplyPendingSql's. Two callbacks naming one payment
// both find its row version; the UPDATE moves that row once (for one of them), and the other
// gets the snapshot's PENDING row with applied = 0, which sends it to kApplyCallbackSql like
// any callback a concurrent writer beat. One row per callback whose payment exists: its
// number n and kApplyPendingSql's columns before it.
inline constexpr const char* kApplyPendingGroupSql = R"sql(
WITH input AS (
    SELECT *
      FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::"PaymentStatus"[],
                  $6::boolean[], $7::text[], $8::text[], $9::timestamp(3)[], $10::text[],
                  $11::text[])
           WITH ORDINALITY AS i(provider, txn, first_code, amount, outcome, movable, reference,
                                reason, clock, event_id, event_type, n)
),
candidate AS (
    SELECT i.n, c.version, c.id, c."orderCode", c."amountCents", c.status
      FROM input i
     CROSS JOIN LATERAL (
        SELECT ctid AS version, id, "orderCode", "amountCents", status, 0 AS rank FROM payments
         WHERE i.first_code = ''
           AND provider = i.provider AND "providerTransactionId" = i.txn
        UNION ALL
        SELECT ctid, id, "orderCode", "amountCents", status,
               CASE WHEN "providerTransactionId" = i.txn THEN 0 ELSE 1 END FROM payments
         WHERE i.first_code <> ''
           AND "orderCode" = ANY (ARRAY(SELECT z.code
                                          FROM unnest($12::bigint[], $13::text[]) AS z(n, code)
                                         WHERE z.n = i.n))
           AND provider = i.provider
           AND ("providerTransactionId" = i.txn OR "orderCode" = i.first_code)
        ORDER BY rank
        LIMIT 1) c
),
moved AS (
    UPDATE payments p
       SET status = i.outcome,
           "updatedAt" = GREATEST(i.clock, p."failedAt" + interval '1 millisecond',
                                  p."cancelledAt" + interval '1 millisecond'),
           "completedAt" = CASE WHEN i.outcome = 'COMPLETED'
                                THEN GREATEST(i.clock, p."failedAt" + interval '1 millisecond',
                                              p."cancelledAt" + interval '1 millisecond')
                                ELSE p."completedAt" END,
           "failedAt" = CASE WHEN i.outcome = 'FAILED'
                             THEN GREATEST(i.clock, p."failedAt" + interval '1 millisecond',
                                           p."cancelledAt" + interval '1 millisecond')
                             ELSE p."failedAt" END
      FROM candidate c JOIN input i ON i.n = c.n
     WHERE p.ctid = c.version
       AND p."amountCents" = i.amount
       AND p.status = 'PENDING'
       AND i.movable
    RETURNING i.n, p.id, p."orderCode", p."amountCents", p.currency, p.provider,
              p."providerTransactionId", p."updatedAt" AS at, i.outcome, i.reference, i.reason,
              i.event_id, i.event_type
),
event AS (
    INSERT INTO outbox (id, "aggregateId", "aggregateType", "eventType", payload, "createdAt")
    SELECT m.event_id, m.id, 'Payment', m.event_type,
           jsonb_build_object('order_code', m."orderCode",
                              'payment_id', m.id,
                              'amount_cents', m."amountCents",
                              'currency', m.currency,
                              'provider', m.provider,
                              'transaction_id', m."providerTransactionId")
           || CASE WHEN m.reference <> '' THEN jsonb_build_object('provider_reference', m.reference)
                   ELSE '{}'::jsonb END
           || CASE WHEN m.outcome = 'FAILED'
                   THEN jsonb_build_object('failed_at', to_char(m.at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                                           'reason', m.reason)
                   ELSE jsonb_build_object('completed_at', to_char(m.at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
              END,
           m.at
      FROM moved m
    RETURNING "aggregateId"
)
SELECT c.id, c."orderCode", c."amountCents", c.status, (e."aggregateId" IS NOT NULL)::int AS applied,
       c.n
  FROM candidate c
  LEFT JOIN moved m ON m.n = c.n
  LEFT JOIN event e ON e."aggregateId" = m.id
 ORDER BY c.n
)sql";

}  // namespace tbpay::pg
