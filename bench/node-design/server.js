'use strict';
// The webhook design tbpay replaces (the Node.js payment-webhook-handler Lambda), rebuilt as a
// plain HTTP server on node-postgres so that `make bench` can run the same signed callbacks
// through it, on the same PostgreSQL, beside tbpay. Per callback, as that handler did:
//   - parse the body and verify it (ZaloPay: HMAC-SHA256 of `data` with key2; PayOS:
//     HMAC-SHA256 of the data's fields sorted by key, `k=v` joined by `&`, with the checksum key);
//   - PayOS: find the payment by its paymentLinkId, outside the transaction, for its order
//     code; ZaloPay: the order code is app_trans_id after its '_'. That handler looked up
//     "providerTransactionId" alone; here provider = 'PAYOS' is added so that the bench's lookup
//     index (provider, "providerTransactionId") serves it as it serves tbpay (without an index
//     of its own, every PayOS webhook would read the whole payments table);
//   - in one transaction: read the payment by "orderCode" (no lock); unless COMPLETED, update it
//     to COMPLETED and insert its outbox event; commit;
//   - write one JSON log line, answer as the provider expects.
// The pool has 5 connections: Prisma's default on 2 cores (2 x cores + 1). Statements are
// prepared (named), as Prisma's engine prepares them. The outbox row takes the table's defaults
// for "published" and "retryCount" (the bench makes new events born published, for every side).
// Not a product: no retries, no timeouts; a malformed callback gets a 400.
//
//   DATABASE_URL=postgresql://... ZALOPAY_KEY2=... PAYOS_CHECKSUM_KEY=... PORT=8090 node server.js

const http = require('node:http');
const crypto = require('node:crypto');
const { Pool } = require('pg');

const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 5 });
const zalopayKey2 = process.env.ZALOPAY_KEY2 || '';
const payosChecksumKey = process.env.PAYOS_CHECKSUM_KEY || '';

const hmac = (key, text) => crypto.createHmac('sha256', key).update(text).digest('hex');

function payosCanonical(data) {
  return Object.keys(data)
    .sort()
    .map((k) => {
      let v = data[k];
      if (v === null || v === undefined) v = '';
      else if (typeof v === 'object') v = JSON.stringify(v);
      return `${k}=${v}`;
    })
    .join('&');
}

// { orderCode } or { paymentLinkId } of a verified callback, or null.
function verified(path, body) {
  if (path === '/webhook/zalopay') {
    if (typeof body.data !== 'string' || hmac(zalopayKey2, body.data) !== body.mac) return null;
    const data = JSON.parse(body.data);
    const parts = String(data.app_trans_id).split('_');
    return { provider: 'ZALOPAY', orderCode: parts.length > 1 ? parts[1] : parts[0],
             transactionId: data.app_trans_id };
  }
  if (path === '/webhook/payos') {
    if (!body.data || hmac(payosChecksumKey, payosCanonical(body.data)) !== body.signature) return null;
    return { provider: 'PAYOS', paymentLinkId: body.data.paymentLinkId,
             transactionId: body.data.paymentLinkId };
  }
  return null;
}

const ok = { ZALOPAY: { return_code: 1, return_message: 'success' },
             PAYOS: { error: 0, message: 'Ok', data: null } };

async function complete(callback) {
  let orderCode = callback.orderCode;
  if (callback.provider === 'PAYOS') {
    const found = await pool.query({
      name: 'find_by_link',
      text: `SELECT "orderCode" FROM payments
              WHERE provider = 'PAYOS' AND "providerTransactionId" = $1 LIMIT 1`,
      values: [callback.paymentLinkId],
    });
    if (found.rows.length === 0) throw new Error('payment not found');
    orderCode = found.rows[0].orderCode;
  }
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const read = await client.query({
      name: 'find_by_order',
      text: 'SELECT * FROM payments WHERE "orderCode" = $1',
      values: [orderCode],
    });
    if (read.rows.length === 0) throw new Error('payment not found');
    const payment = read.rows[0];
    if (payment.status !== 'COMPLETED') {
      const now = new Date();
      await client.query({
        name: 'complete',
        text: `UPDATE payments SET status = 'COMPLETED', "providerTransactionId" = $2,
                      "completedAt" = $3, "updatedAt" = $3 WHERE id = $1`,
        values: [payment.id, callback.transactionId || payment.providerTransactionId, now],
      });
      const event = {
        payment_id: payment.id, order_code: payment.orderCode, amount_cents: payment.amountCents,
        currency: payment.currency, provider: payment.provider,
        transaction_id: callback.transactionId || payment.providerTransactionId || '',
        completed_at: now.toISOString(),
      };
      await client.query({
        name: 'event',
        text: `INSERT INTO outbox (id, "aggregateId", "aggregateType", "eventType", payload)
               VALUES ($1, $2, 'payment', 'PAYMENT_COMPLETED', $3)`,
        values: [crypto.randomUUID(), payment.id, JSON.stringify(event)],
      });
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  } finally {
    client.release();
  }
  return orderCode;
}

function reply(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

http
  .createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      if (req.method === 'GET' && req.url === '/healthz') return reply(res, 200, { status: 'ok' });
      let callback;
      try {
        callback = verified(req.url, JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch (e) {
        return reply(res, 400, { error: 'malformed callback' });
      }
      if (!callback) return reply(res, 400, { error: 'invalid signature' });
      try {
        const orderCode = await complete(callback);
        console.log(JSON.stringify({ level: 'info', message: 'Payment completed', orderCode,
                                     time: new Date().toISOString() }));
        reply(res, 200, ok[callback.provider]);
      } catch (e) {
        console.log(JSON.stringify({ level: 'error', message: 'Webhook handler error', error: e.message }));
        reply(res, 500, { error: e.message });
      }
    });
  })
  .listen(Number(process.env.PORT || 8090), '127.0.0.1');
