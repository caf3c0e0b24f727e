#!/usr/bin/env bash
# ZaloPay callbacks on the core service's schema exactly as its migrations leave it (no index on
# "providerTransactionId") against the same with `tbpay migrate --lookup-index`, in one run:
# two databases seeded alike with ZaloPay payments, `tbpay serve` and wrk on each in turn,
# ROUNDS rounds of DURATION seconds per side (migrated, indexed, migrated, ...), so that a change
# in the machine's load hits both. Prints "name value" lines:
#   lookup_migrated_rps    callbacks/s answered "return_code":1, schema as migrated
#   lookup_indexed_rps     the same with the lookup index
#   lookup_ratio           migrated / indexed (aim >= 0.8)
# Usage: scripts/bench-lookup.sh [BUILD_DIR]   (DATABASE_SERVER_URL: use that server, else a
# throwaway PostgreSQL is started). PAYMENTS (default 300000) per database, ROUNDS (3),
# DURATION (5 s), CONNS (16), THREADS (2).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
# shellcheck source=lib/local-servers.sh
. scripts/lib/local-servers.sh  # free_port
build=${1:-build}
case "$build" in /*) ;; *) build="$here/$build" ;; esac
tbpay="$build/tbpay"
signer="$build/bench/signed_callbacks"
[ -x "$tbpay" ] && [ -x "$signer" ] ||
  { echo "bench-lookup: build tbpay and bench_tools in $build first" >&2; exit 1; }
payments=${PAYMENTS:-300000}
rounds=${ROUNDS:-3}
duration=${DURATION:-5}
conns=${CONNS:-16}
threads=${THREADS:-2}
seed=20251213
slice=$((payments / rounds))

work=$(mktemp -d /tmp/tbpay-bench-lookup.XXXXXX)
chmod 755 "$work"
tbpay_pid=""
cleanup() {
  if [ -n "$tbpay_pid" ] && kill -0 "$tbpay_pid" 2>/dev/null; then
    kill -TERM "$tbpay_pid" 2>/dev/null || true
    wait "$tbpay_pid" 2>/dev/null || true
  fi
  for db in "${dbs[@]:-}"; do
    [ -n "$db" ] && psql -q "$server" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
  done
  [ -n "${pgdir:-}" ] && scripts/pg-throwaway.sh stop "$pgdir"
  rm -rf "$work"
}
dbs=()
trap cleanup EXIT
trap 'exit 130' INT TERM
server=${DATABASE_SERVER_URL:-}
if [ -z "$server" ]; then
  pgdir="$work/pg"
  server=$(scripts/pg-throwaway.sh start "$pgdir")
fi
log() { printf '[bench-lookup %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

set -a
. config/dev.env  # demo keys, not secrets: the same ones sign and verify
set +a
export LOG_LEVEL=warn EVENTS_FILE=$work/events.jsonl
unset KAFKA_BROKERS

# Both databases: `tbpay migrate` (the core service's schema as its migrations create it), the
# same ZaloPay payments (providerTransactionId yymmdd_<orderCode>, as the core service writes
# it); the lookup index on the second only.
for side in migrated indexed; do
  db="tbpay_bench_lookup_${side}_$$"
  dbs+=("$db")
  psql -q "$server" -c "CREATE DATABASE $db" >/dev/null
  url="${server%/*}/$db"
  DATABASE_URL=$url "$tbpay" migrate >/dev/null
  [ "$side" = indexed ] && DATABASE_URL=$url "$tbpay" migrate --lookup-index >/dev/null
  log "seeding $payments ZaloPay payments in $db"
  psql -q -v ON_ERROR_STOP=1 -v seed="$seed" -v total="$payments" "$url" >/dev/null <<'SQL'
INSERT INTO payments (id, "orderCode", "amountCents", currency, provider, "providerTransactionId",
                      "idempotencyKey", "redirectUrl", "paymentUrl", status, "createdAt",
                      "updatedAt")
SELECT md5(:'seed' || ':id:' || i)::uuid::text, 'TB_BENCH_' || i,
       50000 + ((i::bigint * 7919 + :seed) % 1951) * 1000, 'VND', 'ZALOPAY',
       '251213_TB_BENCH_' || i, md5(:'seed' || ':idem:' || i)::uuid::text,
       'https://ticketbottle.vn/orders/TB_BENCH_' || i || '/result',
       'https://qcgateway.zalopay.vn/openinapp?order=' || md5('zp' || i),
       'PENDING', timestamp '2025-12-13 06:00:00' + i * interval '10 milliseconds',
       timestamp '2025-12-13 06:00:00' + i * interval '10 milliseconds'
  FROM generate_series(1, :total) AS i;
-- serve's relay stays idle: new events are born published.
ALTER TABLE outbox ALTER COLUMN published SET DEFAULT true;
ALTER TABLE payments SET (autovacuum_enabled = false);
ALTER TABLE outbox SET (autovacuum_enabled = false);
VACUUM ANALYZE payments;
SQL
done

# Round r posts the callbacks of payments (r-1)*slice+1 .. r*slice, on each side its own copy.
log "signing callbacks"
for r in $(seq 1 "$rounds"); do
  psql -At -F'|' -v ON_ERROR_STOP=1 "${server%/*}/${dbs[0]}" -c "
    SELECT provider, \"providerTransactionId\", \"orderCode\", \"amountCents\" FROM payments
     WHERE substr(\"orderCode\", 10)::int BETWEEN $(((r - 1) * slice + 1)) AND $((r * slice))
     ORDER BY substr(\"orderCode\", 10)::int" |
    "$signer" --seed "$seed" >"$work/callbacks-$r.tsv" 2>>"$work/sign.log"
done

round() {  # $1 side, $2 database, $3 round
  local port url
  port=$(free_port)
  url="${server%/*}/$2"
  psql -q "$url" -c "CHECKPOINT" >/dev/null 2>&1 || true
  DATABASE_URL=$url LISTEN_ADDR=127.0.0.1:$port "$tbpay" serve >"$work/serve-$1-$3.log" 2>&1 &
  tbpay_pid=$!
  for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  wrk -t "$threads" -c "$conns" -d "${duration}s" --timeout 10s -s bench/webhook.lua \
    "http://127.0.0.1:$port" -- "$work/callbacks-$3.tsv" "$threads" >"$work/wrk-$1-$3.txt" 2>&1
  kill -TERM "$tbpay_pid"
  wait "$tbpay_pid" || true
  tbpay_pid=""
  sed -n 's/^bench_rps=//p' "$work/wrk-$1-$3.txt" | tail -n 1
}

migrated=() indexed=()
for r in $(seq 1 "$rounds"); do
  migrated+=("$(round migrated "${dbs[0]}" "$r")")
  indexed+=("$(round indexed "${dbs[1]}" "$r")")
  log "round $r: migrated ${migrated[-1]} rps, indexed ${indexed[-1]} rps; load $(cut -d' ' -f1-3 /proc/loadavg)"
done
mean() { printf '%s\n' "$@" | awk '{ s += $1 } END { printf "%.1f", (NR ? s / NR : 0) }'; }
m=$(mean "${migrated[@]}")
i=$(mean "${indexed[@]}")
echo "lookup_migrated_rps $m"
echo "lookup_indexed_rps $i"
awk -v a="$m" -v b="$i" 'BEGIN { if (b > 0) printf "lookup_ratio %.2f\n", a / b; else print "lookup_ratio n/a" }'
