-- PENDING payments numbered :first to :last, as the core service inserts them: writer-made ids,
-- "updatedAt" set. Every column is a function of the number i and :seed, so that pgbench can
-- name payment i without a lookup (bench/least_work.pgbench, bench/ceiling_script.py): order
-- code TB-BENCH-i; odd i ZALOPAY with app_trans_id 251213_TB-BENCH-i, even i PAYOS with
-- paymentLinkId md5('payos-link-' || i); amount 50000 + ((i * 7919 + seed) % 1951) * 1000.
--   psql -v seed=N -v first=N -v last=N -f bench/seed_payments.sql URL
INSERT INTO payments (id, "orderCode", "amountCents", currency, provider, "providerTransactionId",
                      "idempotencyKey", "redirectUrl", "paymentUrl", status, metadata,
                      "createdAt", "updatedAt")
SELECT md5(:'seed' || ':id:' || i)::uuid::text,
       'TB-BENCH-' || i,
       50000 + ((i::bigint * 7919 + :seed) % 1951) * 1000,
       'VND',
       CASE WHEN i % 2 = 1 THEN 'ZALOPAY' ELSE 'PAYOS' END,
       CASE WHEN i % 2 = 1 THEN '251213_TB-BENCH-' || i ELSE md5('payos-link-' || i) END,
       md5(:'seed' || ':idem:' || i)::uuid::text,
       'https://ticketbottle.vn/orders/TB-BENCH-' || i || '/result',
       CASE WHEN i % 2 = 1 THEN 'https://qcgateway.zalopay.vn/openinapp?order=' || md5('zp' || i)
            ELSE 'https://pay.payos.vn/web/' || md5('payos-link-' || i) END,
       'PENDING', NULL,
       timestamp '2025-12-13 06:00:00' + i * interval '10 milliseconds',
       timestamp '2025-12-13 06:00:00' + i * interval '10 milliseconds'
  FROM generate_series(:first, :last) AS i;
