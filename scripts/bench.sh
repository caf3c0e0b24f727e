#!/usr/bin/env bash
# `make bench`: tbpay's webhook path side by side with what PostgreSQL itself can do
# with the same statement, on the same server, in the same run. Then the relay and Lambda
# figures when their benches are built. Not part of `make test` or CI. See bench/README.md.
#
#   scripts/bench.sh [--payments N] [--rounds R] [--duration S] [--conns C] [--wide-conns C]
#                    [--wide-duration S] [--seed N] [--threads T] [--out DIR]
#                    [--profile perf|callgrind] [--with-relay] [--no-micro] [--no-relay]
#                    [--no-lambda] [--no-reconcile] [--no-lookup] [--keep]
# The two sides alternate, R rounds of S seconds each (ceiling, tbpay, ceiling, tbpay, ...), so
# that a change in the machine's load hits both. Defaults: 300000 payments, 3 x 8 s.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/local-servers.sh
. scripts/lib/local-servers.sh  # free_port
root=$PWD

BUILD_DIR=${BUILD_DIR:-build}
payments=300000    # seeded PENDING payments, split between the runs below
rounds=3           # alternating rounds per side
duration=8         # seconds per round, the same for pgbench and wrk
conns=16           # concurrency of both sides
wide_conns=256     # keep-alive connections for the RSS measurement
wide_duration=10
seed=20251213
threads=2          # pgbench -j and wrk -t: the machine has 2 cores
warm=2000          # callbacks per warm-up (own payments, beyond --payments)
out=""
profile=""
micro=1
relay=1
lambda=1
reconcile=1
lookup=1
keep=0
with_relay=0

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --payments) payments=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --wide-conns) wide_conns=$2; shift 2 ;;
    --wide-duration) wide_duration=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --profile) profile=$2; shift 2 ;;
    --no-micro) micro=0; shift ;;
    --no-relay) relay=0; shift ;;
    --no-lambda) lambda=0; shift ;;
    --no-reconcile) reconcile=0; shift ;;
    --no-lookup) lookup=0; shift ;;
    --keep) keep=1; shift ;;
    --with-relay) with_relay=1; shift ;;
    -h|--help) usage ;;
    *) echo "bench: unknown option $1" >&2; usage ;;
  esac
done
case "$profile" in ""|perf|callgrind) ;; *) echo "bench: --profile perf|callgrind" >&2; exit 2 ;; esac

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
for tool in wrk pgbench psql python3 curl; do
  command -v "$tool" >/dev/null || die "$tool not found (make deps)"
done
# Only the profiles need these; they are not in scripts/deps.sh.
[ "$profile" != perf ] || command -v perf >/dev/null || die "perf not found (apt-get install linux-perf)"
[ "$profile" != callgrind ] || command -v valgrind >/dev/null || die "valgrind not found (apt-get install valgrind)"

out=${out:-$root/var/bench/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
log "results in $out"

# The payments of each run, by number i (order code TB-BENCH-i; odd i ZaloPay, even PayOS):
# 45% for the ceiling, 45% for tbpay (each cut into one slice per round), 10% for the run with
# many connections, then two warm-up sets of $warm beyond --payments.
side=$((payments * 9 / 20 / rounds))   # payments per round and side
ceil_first() { echo $((1 + ($1 - 1) * side)); }
ceil_last() { echo $(($1 * side)); }
main_first() { echo $((rounds * side + 1 + ($1 - 1) * side)); }
main_last() { echo $((rounds * side + $1 * side)); }
wide_first=$((2 * rounds * side + 1)); wide_last=$payments
warm1_first=$((payments + 1));         warm1_last=$((payments + warm))
warm2_first=$((warm1_last + 1));       warm2_last=$((payments + 2 * warm))
total=$warm2_last

# --- build -------------------------------------------------------------------------------
log "building tbpay and the bench tools in $BUILD_DIR"
[ -f "$BUILD_DIR/build.ninja" ] || cmake -S . -B "$BUILD_DIR" -G Ninja ${CMAKE_FLAGS:-} >/dev/null
targets=(tbpay bench_tools)
cmake --build "$BUILD_DIR" --target "${targets[@]}" -j "$(nproc)" >"$out/build.log" 2>&1 \
  || { tail -30 "$out/build.log" >&2; die "build (see $out/build.log)"; }
tbpay=$root/$BUILD_DIR/tbpay
bench_bin=$root/$BUILD_DIR/bench
grep -q 'CMAKE_BUILD_TYPE:STRING=' "$BUILD_DIR/CMakeCache.txt" &&
  build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD_DIR/CMakeCache.txt")

# --- PostgreSQL --------------------------------------------------------------------------
pgdir=$(mktemp -d /tmp/tbpay-bench-pg.XXXXXX)
chmod 755 "$pgdir"
tbpay_pid=""
cleanup() {
  if [ -n "$tbpay_pid" ] && kill -0 "$tbpay_pid" 2>/dev/null; then
    kill -TERM "$tbpay_pid" 2>/dev/null || true
    wait "$tbpay_pid" 2>/dev/null || true
  fi
  if [ "$keep" = 1 ]; then
    log "kept PostgreSQL at $dburl ($pgdir); stop: scripts/pg-throwaway.sh stop $pgdir"
  else
    scripts/pg-throwaway.sh stop "$pgdir" || true
    rm -rf "$pgdir"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
url=$(scripts/pg-throwaway.sh start "$pgdir")
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
as_pg_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# pg_stat_activity shows the statement tbpay ran, whole (the default keeps 1 KB of it).
psql -q "$url" -c "ALTER SYSTEM SET track_activity_query_size = 16384" >/dev/null
as_pg_owner "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -m fast -w restart >/dev/null
psql -q "$url" -c "CREATE DATABASE bench" >/dev/null
dburl=${url%/*}/bench
pg_settings=$(psql -At "$dburl" -c "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name)
  FROM pg_settings WHERE name IN ('fsync','synchronous_commit','full_page_writes','shared_buffers','max_connections')")
log "PostgreSQL $(psql -At "$dburl" -c 'SHOW server_version'): $pg_settings"

export DATABASE_URL=$dburl
set -a
. config/dev.env  # demo keys, not secrets: the same ones sign and verify
set +a
export LOG_LEVEL=${BENCH_LOG_LEVEL:-info}
export EVENTS_FILE=$out/events.jsonl  # where serve's relay would publish (no Kafka here)
unset KAFKA_BROKERS

log "tbpay migrate --lookup-index"
"$tbpay" migrate --lookup-index >"$out/migrate.log" 2>&1 || { cat "$out/migrate.log" >&2; die "migrate"; }

# --- seed --------------------------------------------------------------------------------
log "seeding $total PENDING payments ($payments + 2 x $warm warm-up), seed $seed"
psql -q -v ON_ERROR_STOP=1 -v seed="$seed" -v total="$total" "$dburl" >/dev/null <<'SQL'
-- As the core service inserts them: PENDING, writer-made ids, updatedAt set. Everything is a
-- function of i and the seed, so that pgbench can name payment i without a lookup.
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
  FROM generate_series(1, :total) AS i;
-- `tbpay serve` runs the outbox relay beside its server; the ceiling has none (the relay has
-- its own bench). New events are born published, so that the relay's idle poll finds
-- nothing, on both sides alike (--with-relay turns this off for tbpay's rounds).
ALTER TABLE outbox ALTER COLUMN published SET DEFAULT true;
-- The same conditions for both sides: no autovacuum starting in the middle of one of them.
ALTER TABLE payments SET (autovacuum_enabled = false);
ALTER TABLE outbox SET (autovacuum_enabled = false);
VACUUM ANALYZE payments;
VACUUM ANALYZE outbox;
SQL

# Callbacks for payments first..last, signed by bench/signed_callbacks with the configured keys.
sign_range() {
  psql -At -F'|' -v ON_ERROR_STOP=1 "$dburl" -c "
    SELECT provider, \"providerTransactionId\", \"orderCode\", \"amountCents\"
      FROM payments WHERE substr(\"orderCode\", 10)::int BETWEEN $1 AND $2
     ORDER BY substr(\"orderCode\", 10)::int" |
    "$bench_bin/signed_callbacks" --seed "$seed" >"$3" 2>>"$out/sign.log"
}
log "signing callbacks"
sign_range "$warm1_first" "$warm1_last" "$out/callbacks-warm1.tsv"
sign_range "$warm2_first" "$warm2_last" "$out/callbacks-warm2.tsv"
for r in $(seq 1 "$rounds"); do
  sign_range "$(main_first "$r")" "$(main_last "$r")" "$out/callbacks-main-$r.tsv"
done
sign_range "$wide_first" "$wide_last" "$out/callbacks-wide.tsv"

# --- helpers -----------------------------------------------------------------------------
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
value() { sed -n "s/^$1=//p" "$2" | tail -n 1; }

start_tbpay() {  # $1: log name, $2: profile (callgrind runs it under valgrind)
  port=$(free_port)
  local wrap=()
  [ "${2:-}" = callgrind ] && wrap=(valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out")
  LISTEN_ADDR=127.0.0.1:$port "${wrap[@]}" "$tbpay" serve ${SERVE_FLAGS:-} >"$out/$1" 2>&1 &
  tbpay_pid=$!
  for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$tbpay_pid" 2>/dev/null || { cat "$out/$1" >&2; die "tbpay serve exited"; }
    sleep 0.1
  done
  die "tbpay serve did not answer /healthz"
}
stop_tbpay() {
  kill -TERM "$tbpay_pid"
  local rc=0
  wait "$tbpay_pid" || rc=$?
  tbpay_pid=""
  [ "$rc" -eq 0 ] || log "tbpay serve exited with $rc on SIGTERM"
}
run_wrk() {  # $1 conns, $2 seconds, $3 callbacks file, $4 result file
  (wrk -t "$threads" -c "$1" -d "$2s" --latency --timeout 10s -s bench/webhook.lua \
    "http://127.0.0.1:$port" -- "$3" "$threads" && children_ticks >"$out/.ticks") >"$4" 2>&1 ||
    die "wrk (see $4)"
}
range_counts() {  # completed, failed, events of payments first..last
  psql -At -F' ' "$dburl" -c "
    SELECT count(*) FILTER (WHERE p.status = 'COMPLETED'), count(*) FILTER (WHERE p.status = 'FAILED'),
           (SELECT count(*) FROM outbox o JOIN payments q ON q.id = o.\"aggregateId\"
             WHERE substr(q.\"orderCode\", 10)::int BETWEEN $1 AND $2)
      FROM payments p WHERE substr(p.\"orderCode\", 10)::int BETWEEN $1 AND $2"
}
settle() { psql -q "$dburl" -c "VACUUM ANALYZE payments" -c "VACUUM ANALYZE outbox" -c "CHECKPOINT" >/dev/null; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# CPU ticks of the whole PostgreSQL server: the postmaster, its live children, and the children
# it has reaped (backends of pgbench's connections end with each round).
pg_cpu_ticks() {
  local pm
  pm=$(head -n 1 "$pgdir/data/postmaster.pid")
  { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pm/stat"
    for c in $(cat "/proc/$pm/task/$pm/children" 2>/dev/null); do cpu_ticks "$c"; done
  } | awk '{ s += $1 } END { print s + 0 }'
}
# `times` as ticks: the CPU a subshell's children used (pgbench, wrk). `times` itself must run
# in that subshell, not in a pipeline's.
children_ticks() {
  times >"$out/.times"
  tail -n 1 "$out/.times" | awk -v hz="$(getconf CLK_TCK)" '{
    t = 0
    for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }
    printf "%.0f\n", t * hz }'
}
# Nanoseconds the threads of a process spent ready to run but waiting for a CPU.
runq_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $2 } END { printf "%.0f\n", s }'; }
us_per() { awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN { if (n > 0) printf "%.0f", t / hz * 1e6 / n; else print "n/a" }'; }

# --- 1. tbpay's statement, captured from its own session ---------------------------------
log "tbpay serve: warm-up, and the statement it runs per callback"
start_tbpay tbpay-warmup.log
run_wrk "$conns" 2 "$out/callbacks-warm1.tsv" "$out/wrk-warm1.txt"
psql -At "$dburl" -c "SELECT query FROM pg_stat_activity
  WHERE application_name = 'tbpay' AND query LIKE '%INSERT INTO outbox%' LIMIT 1" >"$out/apply-captured.sql"
stop_tbpay
[ -s "$out/apply-captured.sql" ] || die "no tbpay session showed its webhook statement in pg_stat_activity"
python3 bench/ceiling_script.py extract src/store/postgres/apply_callback_sql.h >"$out/apply-source.sql"
if python3 bench/ceiling_script.py same "$out/apply-captured.sql" "$out/apply-source.sql"; then
  statement_note="captured from tbpay's session; same text as apply_callback_sql.h"
else
  statement_note="captured from tbpay's session; DIFFERS from apply_callback_sql.h (the capture is used)"
fi
python3 bench/ceiling_script.py pgbench <"$out/apply-captured.sql" >"$out/ceiling.pgbench"
log "statement: $statement_note"

# --- 2. rounds: the ceiling (pgbench, that statement) and tbpay (serve under wrk) --------
ceiling_round() {  # $1 round
  local r=$1 first last log=$out/pgbench-$1.txt
  first=$(ceil_first "$r"); last=$(ceil_last "$r")
  settle
  log "round $r ceiling: pgbench -c $conns -j $threads -M prepared -T $duration (payments $first..$last); load $(loadavg)"
  local pg0 pg1
  pg0=$(pg_cpu_ticks)
  (cd "$out" && pgbench -n -c "$conns" -j "$threads" -M prepared -T "$duration" \
    -D n=-1 -D first="$first" -D last="$last" -D clients="$conns" -D seed="$seed" \
    -D zalopay=ZALOPAY -D payos=PAYOS -D outcome=COMPLETED \
    -D allowed='{"PENDING","FAILED","CANCELLED"}' -D ts='2025-12-13 06:05:18.385' \
    -D event_type=PAYMENT_COMPLETED -l --log-prefix="pgbench_log_$r" \
    -f ceiling.pgbench "$dburl" && children_ticks >"$out/.ticks") >"$log" 2>&1 || { cat "$log" >&2; die "pgbench"; }
  sleep 0.5  # the round's backends exit and are reaped
  pg1=$(pg_cpu_ticks)
  ceil_pg_ticks=$((ceil_pg_ticks + pg1 - pg0)); ceil_client_ticks=$((ceil_client_ticks + $(cat "$out/.ticks")))
  local tx steady_tx secs tps completed events
  tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$log")
  # Steady state: pgbench's new connections spend their first moments starting backends,
  # preparing and planning (tbpay's were warmed before round 1), so the first second after the
  # first transaction started is left out. Log columns: client, tx, latency us, script, epoch s, us.
  read -r steady_tx secs < <(cat "$out"/pgbench_log_"$r".* | awk -v skip=1 -v lat="$out/ceiling-latency-us.txt" '
    { end = $5 + $6 / 1e6; e[NR] = end; l[NR] = $3; start = end - $3 / 1e6
      if (NR == 1 || start < t0) t0 = start; if (end > t1) t1 = end }
    END { n = 0; for (i = 1; i <= NR; i++) if (e[i] >= t0 + skip) { n++; print l[i] >>lat }
          printf "%d %.4f\n", n, t1 - t0 - skip }')
  tps=$(awk -v n="$steady_tx" -v s="$secs" 'BEGIN { printf "%.1f", (s > 0 ? n / s : 0) }')
  rm -f "$out"/pgbench_log_"$r".*
  read -r completed _ events < <(range_counts "$first" "$last")
  ceil_tx=$((ceil_tx + steady_tx)); ceil_all_tx=$((ceil_all_tx + tx))
  ceil_secs=$(awk -v a="$ceil_secs" -v b="$secs" 'BEGIN { print a + b }')
  ceil_rounds+=("$(printf '%.0f' "$tps")")
  if [ "$completed" != "$tx" ] || [ "$events" != "$tx" ]; then
    if [ "$tx" -gt "$completed" ] && [ "$completed" -ge $((last - first + 1 - conns)) ]; then
      ceil_ok="no: round $r ran out of payments, raise --payments"
    else
      ceil_ok="no: round $r: $tx transactions but $completed completed, $events events"
    fi
  fi
  log "round $r ceiling: $tps tps (steady), $tx transactions, completed $completed, events $events"
}

tbpay_round() {  # $1 round
  local r=$1 first last w=$out/wrk-main-$1.txt
  first=$(main_first "$r"); last=$(main_last "$r")
  settle
  log "round $r tbpay: wrk -t $threads -c $conns -d ${duration}s (payments $first..$last); load $(loadavg)"
  local perf_pid="" stat_pid="" cpu0 cpu1
  if [ "$profile" = perf ] && [ "$r" = "$rounds" ]; then
    # Where the time goes: samples of every process, and tbpay's system calls and context
    # switches (on this VM they, not tbpay's own code, dominate its CPU).
    perf record -a -g -e cpu-clock -F 499 -o "$out/perf.data" -- sleep "$duration" >/dev/null 2>&1 &
    perf_pid=$!
    local events=raw_syscalls:sys_enter,context-switches,task-clock
    for sc in recvmsg sendmsg recvfrom sendto poll epoll_wait epoll_ctl futex write timerfd_settime getpid; do
      events+=,syscalls:sys_enter_$sc
    done
    perf stat -e "$events" -p "$tbpay_pid" -o "$out/perf-stat-tbpay.txt" -- sleep "$duration" >/dev/null 2>&1 &
    stat_pid=$!
  fi
  local pg0 pg1
  pg0=$(pg_cpu_ticks)
  [ "$with_relay" = 0 ] || psql -q "$dburl" -c 'ALTER TABLE outbox ALTER COLUMN published SET DEFAULT false'
  local rq0 rq1
  rq0=$(runq_ns "$tbpay_pid")
  cpu0=$(cpu_ticks "$tbpay_pid")
  run_wrk "$conns" "$duration" "$out/callbacks-main-$r.tsv" "$w"
  cpu1=$(cpu_ticks "$tbpay_pid")
  rq1=$(runq_ns "$tbpay_pid")
  main_runq_ns=$((main_runq_ns + rq1 - rq0))
  pg1=$(pg_cpu_ticks)
  main_pg_ticks=$((main_pg_ticks + pg1 - pg0)); main_client_ticks=$((main_client_ticks + $(cat "$out/.ticks")))
  [ -z "$perf_pid" ] || wait "$perf_pid" "$stat_pid" || true
  local ok fail sock secs exhausted completed events
  ok=$(value bench_success "$w"); fail=$(value bench_failure "$w")
  sock=$(value bench_socket_errors "$w"); secs=$(value bench_seconds "$w")
  exhausted=$(value bench_threads_exhausted "$w")
  sleep 1  # requests wrk stopped waiting for at the end have committed by now
  read -r completed _ events < <(range_counts "$first" "$last")
  main_ok=$((main_ok + ok)); main_fail=$((main_fail + fail)); main_sock=$((main_sock + sock))
  main_completed=$((main_completed + completed)); main_events=$((main_events + events))
  main_secs=$(awk -v a="$main_secs" -v b="$secs" 'BEGIN { print a + b }')
  main_cpu_ticks=$((main_cpu_ticks + cpu1 - cpu0))
  main_rounds+=("$(value bench_rps "$w" | xargs printf '%.0f')")
  main_p50s+=("$(value bench_p50_ms "$w")"); main_p99s+=("$(value bench_p99_ms "$w")")
  # Every success committed its transition and its event; a few more may have committed after
  # wrk stopped waiting (at most one per connection).
  if [ "$completed" -lt "$ok" ] || [ "$events" != "$completed" ] || [ $((completed - ok)) -gt "$conns" ]; then
    main_committed="no: round $r: $ok successes, $completed completed, $events events"
  fi
  [ "$exhausted" = 0 ] || main_committed="no: round $r ran out of callbacks, raise --payments"
  if [ "$with_relay" = 1 ]; then
    # The relay's backlog drains before the next ceiling round starts, not during it.
    psql -q "$dburl" -c 'ALTER TABLE outbox ALTER COLUMN published SET DEFAULT true'
    local t0 pending
    t0=$(date +%s.%N)
    while pending=$(psql -At "$dburl" -c 'SELECT count(*) FROM outbox WHERE NOT published') && [ "$pending" -gt 0 ]; do
      awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { exit !(b - a > 300) }' &&
        die "the relay left $pending events unpublished for 5 minutes"
      sleep 0.2
    done
    relay_lag+=("$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')")
  fi
  log "round $r tbpay: $(value bench_rps "$w") rps, p50 $(value bench_p50_ms "$w") ms, p99 $(value bench_p99_ms "$w") ms, $fail failed, completed $completed, events $events"
}

ceil_tx=0; ceil_all_tx=0; ceil_secs=0; ceil_ok=yes; ceil_rounds=(); ceil_pg_ticks=0; ceil_client_ticks=0
main_pg_ticks=0; main_client_ticks=0; main_runq_ns=0
main_ok=0; main_fail=0; main_sock=0; main_completed=0; main_events=0; main_secs=0
main_cpu_ticks=0; relay_lag=(); main_committed=yes; main_rounds=(); main_p50s=(); main_p99s=()
: >"$out/ceiling-latency-us.txt"
load_start=$(loadavg)
start_tbpay tbpay.log "$profile"
run_wrk "$conns" 2 "$out/callbacks-warm2.tsv" "$out/wrk-warm2.txt"
for r in $(seq 1 "$rounds"); do
  ceiling_round "$r"
  tbpay_round "$r"
done
load_end=$(loadavg)
peak_rss_kb=$(status_kb "$tbpay_pid" VmHWM)

ceil_tps=$(awk -v n="$ceil_tx" -v s="$ceil_secs" 'BEGIN { printf "%.1f", n / s }')
main_rps=$(awk -v n="$main_ok" -v s="$main_secs" 'BEGIN { printf "%.1f", n / s }')
read -r ceil_p50 ceil_p99 < <(sort -n "$out/ceiling-latency-us.txt" |
  awk '{ v[NR] = $1 } END { if (NR) printf "%.3f %.3f\n", v[int(NR*0.5)+1]/1000, v[int(NR*0.99)+1]/1000; else print "0 0" }')
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
main_p50=$(median "${main_p50s[@]}"); main_p99=$(median "${main_p99s[@]}")
worst_p99=$(printf '%s\n' "${main_p99s[@]}" | sort -g | tail -n 1)
tbpay_cpu_us=$(us_per "$main_cpu_ticks" "$main_ok")
cpu_ceiling="postgres $(us_per "$ceil_pg_ticks" "$ceil_all_tx") (with $conns backend starts a round) + pgbench $(us_per "$ceil_client_ticks" "$ceil_all_tx") us"
cpu_tbpay="postgres $(us_per "$main_pg_ticks" "$main_ok") + tbpay $tbpay_cpu_us + wrk $(us_per "$main_client_ticks" "$main_ok") us"

# --- 4. RSS with 256 keep-alive connections ----------------------------------------------
log "tbpay: wrk -c $wide_conns -d ${wide_duration}s, sampling RSS"
rss_file=$out/rss-wide.txt
: >"$rss_file"
(while kill -0 "$tbpay_pid" 2>/dev/null; do status_kb "$tbpay_pid" VmRSS >>"$rss_file"; sleep 0.2; done) &
sampler=$!
run_wrk "$wide_conns" "$wide_duration" "$out/callbacks-wide.tsv" "$out/wrk-wide.txt"
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
wide_rss_kb=$(sort -n "$rss_file" | tail -n 1)
w=$out/wrk-wide.txt
wide_rps=$(value bench_rps "$w"); wide_p99=$(value bench_p99_ms "$w")
wide_fail=$(( $(value bench_failure "$w") + $(value bench_socket_errors "$w") ))
wide_peak_kb=$(status_kb "$tbpay_pid" VmHWM)
stop_tbpay
grep -c '"level":"error"' "$out/tbpay.log" >"$out/tbpay-errors.count" || true

# --- 5. micro-benchmarks, relay, Lambda --------------------------------------------------
if [ "$micro" = 1 ]; then
  log "micro-benchmarks (bench/providers_bench)"
  "$bench_bin/providers_bench" --benchmark_min_time=0.2 --benchmark_color=false \
    >"$out/providers_bench.txt" 2>&1 || log "providers_bench failed (see $out/providers_bench.txt)"
fi
relay_line="not built yet (bench/relay_bench)"
relay_rate=""; relay_single=""; relay_rtt_rate=""; relay_rtt_single=""
if [ "$relay" = 1 ] && [ -x "$bench_bin/relay_bench" ]; then
  log "relay: bench/relay_bench (its own database on the same server)"
  if "$bench_bin/relay_bench" --server-url "$url" >"$out/relay_bench.txt" 2>"$out/relay_bench.log"; then
    relay_rate=$(value relay_events_per_s "$out/relay_bench.txt")
    relay_single=$(value relay_one_at_a_time_events_per_s "$out/relay_bench.txt")
    relay_line=""
    # Again with the broker 1 ms away, as a Kafka cluster across a network is: the loopback
    # mock answers in microseconds, which flatters the one-at-a-time design.
    log "relay: bench/relay_bench --kafka-rtt-ms 1"
    if "$bench_bin/relay_bench" --server-url "$url" --kafka-rtt-ms 1 >"$out/relay_bench_rtt.txt" \
        2>"$out/relay_bench_rtt.log"; then
      relay_rtt_rate=$(value relay_events_per_s "$out/relay_bench_rtt.txt")
      relay_rtt_single=$(value relay_one_at_a_time_events_per_s "$out/relay_bench_rtt.txt")
    fi
  else
    relay_line="relay_bench failed (see $out/relay_bench.log)"
  fi
fi
reconcile_line="not built yet (bench/reconcile_bench)"
if [ "$reconcile" = 1 ] && [ -x "$bench_bin/reconcile_bench" ]; then
  log "reconcile: bench/reconcile_bench (10000 stale payments, fakes answering in 20 ms)"
  # The queries against the bound (answers "not paid yet"), then the same with every answer
  # "paid", each one settled on the bench's SQLite file.
  if "$bench_bin/reconcile_bench" --pending 1 >"$out/reconcile_bench.txt" 2>"$out/reconcile_bench.log" &&
     "$bench_bin/reconcile_bench" >"$out/reconcile_bench_paid.txt" 2>>"$out/reconcile_bench.log"; then
    reconcile_line=""
  else
    reconcile_line="reconcile_bench failed (see $out/reconcile_bench.log)"
  fi
fi
lambda_line="not built yet (scripts/bench-lambda.sh)"
if [ "$lambda" = 1 ] && [ -x scripts/bench-lambda.sh ]; then
  log "Lambda: scripts/bench-lambda.sh (package, cold start, invocations on the same PostgreSQL server)"
  if DATABASE_SERVER_URL=$url scripts/bench-lambda.sh "$BUILD_DIR" >"$out/lambda.txt" 2>"$out/lambda.log"; then
    lambda_line=""
  else
    lambda_line="bench-lambda.sh failed (see $out/lambda.log)"
  fi
fi
lookup_line="not run (--no-lookup)"
if [ "$lookup" = 1 ]; then
  log "ZaloPay lookup: scripts/bench-lookup.sh (schema as migrated vs --lookup-index, same server)"
  if DATABASE_SERVER_URL=$url scripts/bench-lookup.sh "$BUILD_DIR" >"$out/lookup.txt" 2>"$out/lookup.log"; then
    lookup_line=""
  else
    lookup_line="bench-lookup.sh failed (see $out/lookup.log)"
  fi
fi

# --- the table ---------------------------------------------------------------------------
ratio=$(awk -v a="$main_rps" -v b="$ceil_tps" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'; }
verdict() { [ "$1" = 1 ] && echo "ok" || echo "MISSED"; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }' && echo 1 || echo 0; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }' && echo 1 || echo 0; }
{
  echo
  echo "tbpay bench $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores, $(uname -r); build $BUILD_DIR (${build_type:-?})"
  echo "PostgreSQL (same server for both sides): $pg_settings"
  echo "payments $payments (seed $seed); $rounds alternating rounds of ${duration}s per side at $conns connections; load avg $load_start at the start, $load_end at the end"
  echo "statement: $statement_note"
  echo
  printf '%-34s %-28s %s\n' "measure" "value" "aim / check"
  printf '%-34s %-28s %s\n' "----------------------------------" "----------------------------" "-----------"
  printf '%-34s %-28s %s\n' "ceiling: pgbench tps (c=$conns)" "$ceil_tps" "p50 $ceil_p50 ms, p99 $ceil_p99 ms; committed: $ceil_ok"
  if [ "$with_relay" = 1 ]; then
    printf '%-34s %-28s %s\n' "tbpay rps (wrk c=$conns), relay ON" "$main_rps" "$main_ok ok, $main_fail failed, $main_sock socket errors; relay backlog gone ${relay_lag[*]} s after each round"
  else
    printf '%-34s %-28s %s\n' "tbpay rps (wrk c=$conns)" "$main_rps" "$main_ok ok, $main_fail failed, $main_sock socket errors; serve's relay idle"
  fi
  printf '%-34s %-28s %s\n' "ratio tbpay / ceiling" "$ratio" ">= 0.85: $(verdict "$(ge "$ratio" 0.85)")"
  printf '%-34s %-28s %s\n' "  per round: ceiling tps" "${ceil_rounds[*]}" ""
  printf '%-34s %-28s %s\n' "  per round: tbpay rps" "${main_rounds[*]}" ""
  printf '%-34s %-28s %s\n' "tbpay p50 latency" "$main_p50 ms" "median of rounds"
  printf '%-34s %-28s %s\n' "tbpay p99 latency" "$main_p99 ms" "<= 10 ms: $(verdict "$(le "$main_p99" 10)"); median of rounds, worst $worst_p99 ms"
  printf '%-34s %-28s %s\n' "successes committed (SQL check)" "$main_committed" "completed $main_completed, events $main_events"
  printf '%-34s %-28s %s\n' "tbpay CPU per callback" "$tbpay_cpu_us us" "utime+stime / successes"
  printf '%-34s %s\n' "CPU per transaction, ceiling" "$cpu_ceiling"
  printf '%-34s %s\n' "CPU per callback, tbpay side" "$cpu_tbpay"
  printf '%-34s %-28s %s\n' "tbpay run-queue wait per callback" "$(awk -v t="$main_runq_ns" -v n="$main_ok" 'BEGIN { printf "%.0f us", (n > 0 ? t / n / 1000 : 0) }')" "its threads ready, no CPU free (the machine's load)"
  printf '%-34s %-28s %s\n' "tbpay peak RSS (c=$conns)" "$(mb "$peak_rss_kb")" "VmHWM"
  printf '%-34s %-28s %s\n' "tbpay RSS @ $wide_conns conns" "$(mb "$wide_rss_kb")" "<= 60 MB: $(verdict "$(le "$wide_rss_kb" 61440)"); $wide_rps rps, p99 $wide_p99 ms, $wide_fail failed; VmHWM $(mb "$wide_peak_kb")"
  if [ -z "$relay_line" ]; then
    rr=$(awk -v a="$relay_rate" -v b="$relay_single" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }')
    printf '%-34s %-28s %s\n' "relay events/s (batched)" "$relay_rate" "100k events PG -> mock cluster"
    printf '%-34s %-28s %s\n' "relay events/s (one at a time)" "$relay_single" ""
    printf '%-34s %-28s %s\n' "relay ratio" "${rr}x" "aims: >= 25000 events/s, >= 50x"
    if [ -n "$relay_rtt_rate" ]; then
      rt=$(awk -v a="$relay_rtt_rate" -v b="$relay_rtt_single" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }')
      printf '%-34s %-28s %s\n' "relay, broker 1 ms away" "$relay_rtt_rate / $relay_rtt_single events/s" "batched / one at a time = ${rt}x"
    fi
  else
    printf '%-34s %-28s %s\n' "relay" "n/a" "$relay_line"
  fi
  if [ -z "$reconcile_line" ]; then
    rv() { value "$1" "$out/reconcile_bench.txt"; }
    printf '%-34s %-28s %s\n' "reconcile payments/s" "$(rv reconcile_payments_per_s)" "bound (in flight / latency) $(rv reconcile_bound_per_s)/s: $(rv reconcile_ratio) of it, aim >= 0.8: $(verdict "$(ge "$(rv reconcile_ratio)" 0.8)")"
    printf '%-34s %-28s %s\n' "reconcile, every one settled" "$(value reconcile_payments_per_s "$out/reconcile_bench_paid.txt")" "payments/s, each a transition + event on SQLite"
  else
    printf '%-34s %-28s %s\n' "reconcile" "n/a" "$reconcile_line"
  fi
  if [ -z "$lambda_line" ]; then
    lv() { awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "$out/lambda.txt"; }
    printf '%-34s %-28s %s\n' "Lambda init (cold start)" "$(lv lambda_cold_start)" "exec of bootstrap -> first /invocation/next"
    printf '%-34s %-28s %s\n' "Lambda first invocation" "$(lv lambda_webhook_first)" "webhook, next -> response"
    printf '%-34s %-28s %s\n' "Lambda later invocations" "$(lv lambda_webhook_later)" ""
    printf '%-34s %-28s %s\n' "Lambda RSS" "$(lv lambda_peak_rss)" "VmHWM"
    printf '%-34s %-28s %s\n' "Lambda zip size" "$(lv lambda_zip_size)" ""
  else
    printf '%-34s %-28s %s\n' "Lambda" "n/a" "$lambda_line"
  fi
  if [ -z "$lookup_line" ]; then
    kv() { awk -v k="$1" '$1 == k { print $2 }' "$out/lookup.txt"; }
    printf '%-34s %-28s %s\n' "ZaloPay rps, schema as migrated" "$(kv lookup_migrated_rps)" "no index on providerTransactionId"
    printf '%-34s %-28s %s\n' "ZaloPay rps, with lookup index" "$(kv lookup_indexed_rps)" "tbpay migrate --lookup-index"
    printf '%-34s %-28s %s\n' "ZaloPay ratio migrated / indexed" "$(kv lookup_ratio)" ">= 0.8: $(verdict "$(ge "$(kv lookup_ratio)" 0.8)")"
  else
    printf '%-34s %-28s %s\n' "ZaloPay lookup" "n/a" "$lookup_line"
  fi
  if [ -s "$out/providers_bench.txt" ]; then
    echo
    echo "verification micro-benchmarks (CPU time, same run):"
    sed -n '/^measured/,$p' "$out/providers_bench.txt"
  fi
  echo
  echo "details: $out"
} | tee "$out/summary.txt"

if [ "$profile" = perf ]; then
  perf report -i "$out/perf.data" --sort comm --stdio -g none 2>/dev/null | grep '%' | head -12 >"$out/perf-by-process.txt" || true
  perf report -i "$out/perf.data" --comm tbpay --no-children --sort dso,symbol --stdio -g none 2>/dev/null |
    grep '%' | head -60 | cut -c1-160 >"$out/perf-tbpay.txt" || true
  # perf stat attaches a little after wrk starts: count per libpq send (one per callback).
  n=$(awk '$2 == "syscalls:sys_enter_sendto" { gsub(/,/, "", $1); print $1 }' "$out/perf-stat-tbpay.txt")
  {
    echo "tbpay, last round, per callback ($n callbacks while perf stat was attached):"
    awk -v n="$n" '$2 ~ /^(raw_syscalls|syscalls|context-switches)/ { gsub(/,/, "", $1); printf "  %-36s %6.2f\n", $2, $1 / n }
                   $2 == "msec" && $3 == "task-clock" { gsub(/,/, "", $1); printf "  %-36s %6.0f us\n", "cpu (task-clock)", $1 * 1000 / n }' \
      "$out/perf-stat-tbpay.txt"
    echo "CPU samples by process (all of the machine, last tbpay round):"
    sed 's/^/  /' "$out/perf-by-process.txt"
  } | tee "$out/profile.txt"
  log "profile: $out/profile.txt, $out/perf-tbpay.txt (symbols)"
fi
