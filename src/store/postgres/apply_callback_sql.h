#pragma once
// The webhook's transition statement, in a header of its own so that a test can ask
// PostgreSQL for its plan (tests/store/apply_callback_plan_test.cpp).

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

}  // namespace tbpay::pg
