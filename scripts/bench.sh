#!/usr/bin/env bash
# `make bench`: tbpay's webhook path side by side with what PostgreSQL itself can do, on the
# same durable server, in the same run. Then the relay and Lambda figures when their benches
# are built. Not part of `make test` or CI. See bench/README.md.
# This script starts the processes and captures their outputs in the run's folder;
# bench/report (bench_report) computes the figures and prints the table from them.
#
#   scripts/bench.sh [--payments N] [--rounds R] [--duration S] [--conns C] [--high-conns C]
#                    [--wide-conns C] [--wide-duration S] [--seed N] [--threads T] [--out DIR]
#                    [--profile perf|callgrind] [--no-serve-relay] [--no-statement]
#                    [--no-micro] [--no-relay] [--no-lambda] [--no-reconcile] [--no-lookup]
#                    [--no-node] [--no-grouped] [--no-round-checkpoint] [--keep]
# Each round runs every kind once, in turn (least work, the least work in groups, tbpay, tbpay
# with its relay publishing, tbpay's statement, the Node.js design tbpay replaces, at C
# connections; least work, in groups too, and tbpay at the high concurrency), so that a change
# in the machine's load hits all of them.
# Defaults: 1800000 payments, 3 rounds of 5 s, each round after a forced CHECKPOINT.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib/local-servers.sh
. scripts/lib/local-servers.sh  # free_port
# shellcheck source=lib/session-statement.sh
. scripts/lib/session-statement.sh
root=$PWD

BUILD_DIR=${BUILD_DIR:-build}
payments=1800000   # seeded PENDING payments, split between the runs below
rounds=3           # rounds; each runs every kind once
duration=5         # seconds per kind and round, the same for pgbench and wrk
conns=16           # concurrency of both sides
high_conns=64      # the second concurrency of least work and tbpay (0: none)
wide_conns=256     # keep-alive connections for the RSS measurement
wide_duration=6
seed=20251213
threads=2          # pgbench -j and wrk -t: the machine has 2 cores
warm=3000          # callbacks per warm-up (own payments, beyond --payments)
out=""
profile=""
micro=1
relay=1
lambda=1
reconcile=1
lookup=1
keep=0
serve_relay=1
statement=1
node=1             # the Node.js design's rounds (bench/node-design), when node and npm exist
grouped=1          # the least work in groups (bench/least_work_grouped.pgbench)
group_clients=2    # its transactions at once: serve's committers (--committers, default 2)
round_checkpoint=1 # a CHECKPOINT before every round (0: before the first only)

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --payments) payments=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --high-conns) high_conns=$2; shift 2 ;;
    --wide-conns) wide_conns=$2; shift 2 ;;
    --wide-duration) wide_duration=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --profile) profile=$2; shift 2 ;;
    --no-serve-relay) serve_relay=0; shift ;;
    --no-statement) statement=0; shift ;;
    --no-micro) micro=0; shift ;;
    --no-relay) relay=0; shift ;;
    --no-lambda) lambda=0; shift ;;
    --no-reconcile) reconcile=0; shift ;;
    --no-lookup) lookup=0; shift ;;
    --no-node) node=0; shift ;;
    --no-grouped) grouped=0; shift ;;
    --no-round-checkpoint) round_checkpoint=0; shift ;;
    --keep) keep=1; shift ;;
    --with-relay) shift ;;  # serve's relay publishing is one of the kinds now (--no-serve-relay)
    -h|--help) usage ;;
    *) echo "bench: unknown option $1" >&2; usage ;;
  esac
done
case "$profile" in ""|perf|callgrind) ;; *) echo "bench: --profile perf|callgrind" >&2; exit 2 ;; esac
[ "$high_conns" != "$conns" ] || high_conns=0

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
rm -f "$out"/run.txt "$out"/round-*.txt "$out"/pgbench_log_*

# The kinds of round, each a series named KIND-CONNS, run in this order in every round:
#   least      pgbench running bench/least_work.pgbench: the least work a callback needs
#   grouped    pgbench running bench/least_work_grouped.pgbench: the same for C / 2 callbacks a
#              transaction, 2 at a time: the database's part alone of a server committing groups
#   tbpay      tbpay serve under wrk, its relay idle
#   relay      the same while serve's relay publishes what it ingests
#   statement  pgbench running tbpay's own statement, captured from its session
#   node       the Node.js webhook design tbpay replaces (bench/node-design/server.js) under wrk
series=("least-$conns")
[ "$grouped" = 0 ] || series+=("grouped-$conns")
series+=("tbpay-$conns")
[ "$serve_relay" = 0 ] || series+=("relay-$conns")
[ "$statement" = 0 ] || series+=("statement-$conns")
# node-postgres from npm into the build directory, once; without it the run goes on without
# the Node.js design's rounds.
node_dir=$BUILD_DIR/node-design
if [ "$node" = 1 ] && ! { command -v node && command -v npm; } >/dev/null; then
  log "node or npm not found: no Node.js design rounds (apt-get install nodejs npm)"
  node=0
elif [ "$node" = 1 ] && [ ! -d "$node_dir/node_modules/pg" ]; then
  mkdir -p "$node_dir"
  cp bench/node-design/package.json "$node_dir/"
  if ! (cd "$node_dir" && npm install --no-audit --no-fund --loglevel=error) >"$out/npm.log" 2>&1; then
    log "npm install in $node_dir failed (see $out/npm.log): no Node.js design rounds"
    node=0
  fi
fi
[ "$node" = 0 ] || series+=("node-$conns")
if [ "$high_conns" != 0 ]; then
  series+=("least-$high_conns")
  [ "$grouped" = 0 ] || series+=("grouped-$high_conns")
  series+=("tbpay-$high_conns")
fi
for s in "${series[@]}"; do
  case "$s" in grouped-*) [ $((${s#grouped-} % group_clients)) = 0 ] ||
    die "--conns and --high-conns must be multiples of $group_clients for the grouped rounds (or --no-grouped)" ;;
  esac
done

# What bench_report reads besides the processes' outputs: KEY=VALUE lines noted as the run goes.
record() { local file=$out/$1; shift; printf '%s\n' "$@" >>"$file"; }
record run.txt "payments=$payments" "seed=$seed" "rounds=$rounds" "duration=$duration" \
  "conns=$conns" "high_conns=$high_conns" "wide_conns=$wide_conns" "series=${series[*]}" \
  "group_clients=$group_clients"

# The payments of each run, by number i (order code TB-BENCH-i; odd i ZaloPay, even PayOS):
# 95% cut into slices, one per series and round (two for the grouped series, which complete
# callbacks the fastest), the rest for the run with many connections, then two warm-up sets of
# $warm beyond --payments.
units_of() { case "$1" in grouped-*) echo 2 ;; *) echo 1 ;; esac; }
units=0
for s in "${series[@]}"; do units=$((units + $(units_of "$s"))); done
side=$((payments * 19 / 20 / (units * rounds)))   # payments per slice
slice_offset() {  # $1 series, $2 round: the slices before that round's
  local k before=0
  for k in "${series[@]}"; do
    [ "$k" != "$1" ] || break
    before=$((before + $(units_of "$k")))
  done
  echo $((before * rounds + ($2 - 1) * $(units_of "$1")))
}
slice_first() { echo $((1 + $(slice_offset "$1" "$2") * side)); }
slice_last() { echo $((($(slice_offset "$1" "$2") + $(units_of "$1")) * side)); }
wide_first=$((units * rounds * side + 1)); wide_last=$payments
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
report=$bench_bin/bench_report
record run.txt "cores=$(nproc)" "kernel=$(uname -r)" "build_dir=$BUILD_DIR" \
  "build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD_DIR/CMakeCache.txt")"

# --- PostgreSQL --------------------------------------------------------------------------
pgdir=$(mktemp -d /tmp/tbpay-bench-pg.XXXXXX)
chmod 755 "$pgdir"
# The servers' output (tbpay's line per callback, the Node.js design's) is written to memory while
# the rounds run and moved into $out at the end: in production the database does not share a
# disk with them, and here a log file on PostgreSQL's disk added stalls of tens of milliseconds
# to the rounds (bench/FINDINGS.md). $out/NAME links to it meanwhile.
logs=$out
if [ -d /dev/shm ] && [ -w /dev/shm ]; then logs=$(mktemp -d /dev/shm/tbpay-bench-logs.XXXXXX); fi
[ "$logs" = "$out" ] || log "the servers' output goes to $logs while the rounds run (memory), then to $out"
server_log() {  # $1 name: the path a server's output goes to, $out/$1 (a link while running)
  [ "$logs" = "$out" ] || ln -sfn "$logs/$1" "$out/$1"
  echo "$out/$1"
}
tbpay_pid=""
cleanup() {
  local pid f
  for pid in "$tbpay_pid" "${node_pid:-}"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  if [ "$logs" != "$out" ]; then
    for f in "$logs"/*; do
      [ -e "$f" ] || continue
      rm -f "$out/${f##*/}" && mv "$f" "$out/${f##*/}"
    done
    rmdir "$logs" 2>/dev/null || true
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
# Production durability: fsync, synchronous_commit and full_page_writes on (PostgreSQL's
# defaults; the tests' throwaway servers turn them off). Every commit waits for its WAL flush.
url=$(PG_DURABLE=1 scripts/pg-throwaway.sh start "$pgdir")
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
# How the rounds start (settle, below): said with the server's settings in the report's header.
if [ "$round_checkpoint" = 1 ]; then pg_settings+="; a CHECKPOINT before every round"
else pg_settings+="; a CHECKPOINT before the first round only"; fi
record run.txt "pg_settings=$pg_settings"

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
psql -q -v ON_ERROR_STOP=1 -v seed="$seed" -v first=1 -v last="$total" -f bench/seed_payments.sql \
  "$dburl" >/dev/null
psql -q -v ON_ERROR_STOP=1 "$dburl" >/dev/null <<'SQL'
-- `tbpay serve` runs the outbox relay beside its server; pgbench has none. New events are born
-- published, so that the relay's idle poll finds nothing, on every side alike (the relay-C
-- rounds turn this off while they run, so that serve's relay publishes what it ingests).
ALTER TABLE outbox ALTER COLUMN published SET DEFAULT true;
-- The same conditions for every side: no autovacuum starting in the middle of one of them.
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
for s in "${series[@]}"; do
  case "$s" in tbpay-*|relay-*|node-*) ;; *) continue ;; esac
  for r in $(seq 1 "$rounds"); do
    sign_range "$(slice_first "$s" "$r")" "$(slice_last "$s" "$r")" "$out/callbacks-$s-$r.tsv"
  done
done
sign_range "$wide_first" "$wide_last" "$out/callbacks-wide.tsv"

# --- helpers -----------------------------------------------------------------------------
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

start_tbpay() {  # $1: log name, $2: profile (callgrind runs it under valgrind)
  port=$(free_port)
  local wrap=()
  [ "${2:-}" = callgrind ] && wrap=(valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out")
  LISTEN_ADDR=127.0.0.1:$port "${wrap[@]}" "$tbpay" serve ${SERVE_FLAGS:-} >"$(server_log "$1")" 2>&1 &
  tbpay_pid=$!
  await_healthz "$port" "$tbpay_pid" "$out/$1" "tbpay serve"
}
await_healthz() {  # $1 port, $2 pid, $3 its log, $4 its name: up to 30 s for GET /healthz
  for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:$1/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || { cat "$3" >&2; die "$4 exited"; }
    sleep 0.1
  done
  die "$4 did not answer /healthz"
}
stop_tbpay() {
  kill -TERM "$tbpay_pid"
  local rc=0
  wait "$tbpay_pid" || rc=$?
  tbpay_pid=""
  [ "$rc" -eq 0 ] || log "tbpay serve exited with $rc on SIGTERM"
}
# The Node.js design on the same database, beside tbpay (idle when its rounds are not running).
start_node() {
  cp bench/node-design/server.js "$node_dir/"
  node_port=$(free_port)
  PORT=$node_port node "$node_dir/server.js" >"$(server_log node.log)" 2>&1 &
  node_pid=$!
  await_healthz "$node_port" "$node_pid" "$out/node.log" "the Node.js design"
}
run_wrk() {  # $1 conns, $2 seconds, $3 callbacks file, $4 result file (X.txt; wrk's CPU: X.times)
  (wrk -t "$threads" -c "$1" -d "$2s" --latency --timeout 10s -s bench/webhook.lua \
    "http://127.0.0.1:$port" -- "$3" "$threads" && times >"${4%.txt}.times") >"$4" 2>&1 ||
    die "wrk (see $4)"
}
# Returns once every wrk thread is ready to post (bench/webhook.lua adds a byte to its ready
# file, $1, the callbacks file's name + .ready, for each), or after 60 s should wrk not start.
wrk_posting() {
  for _ in $(seq 1 6000); do
    [ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -lt "$threads" ] || return 0
    sleep 0.01
  done
}
range_counts() {  # completed, failed, events of payments first..last
  psql -At -F' ' "$dburl" -c "
    SELECT count(*) FILTER (WHERE p.status = 'COMPLETED'), count(*) FILTER (WHERE p.status = 'FAILED'),
           (SELECT count(*) FROM outbox o JOIN payments q ON q.id = o.\"aggregateId\"
             WHERE substr(q.\"orderCode\", 10)::int BETWEEN $1 AND $2)
      FROM payments p WHERE substr(p.\"orderCode\", 10)::int BETWEEN $1 AND $2"
}
# Before each round. The CHECKPOINT starts every round at the start of a checkpoint cycle, where
# nearly every change is its page's first since the checkpoint and writes a full-page image;
# with --no-round-checkpoint only the first round does, and PostgreSQL checkpoints at its own
# pace (max_wal_size, checkpoint_timeout) after that, as in production.
checkpointed=0
settle() {
  local checkpoint=()
  if [ "$round_checkpoint" = 1 ] || [ "$checkpointed" = 0 ]; then checkpoint=(-c CHECKPOINT); fi
  checkpointed=1
  psql -q "$dburl" -c "VACUUM ANALYZE payments" -c "VACUUM ANALYZE outbox" "${checkpoint[@]}" >/dev/null
  # The signed callbacks (hundreds of MB, written before the first round) and anything else
  # dirty go to disk now: the kernel would write them back 30 s after, in the middle of a
  # round, on the disk that holds the WAL, and a commit's flush would wait behind them.
  sync
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# CPU ticks of the whole PostgreSQL server: the postmaster, its live children, and the children
# it has reaped (backends of pgbench's connections end with each round).
# A few processes whatever the number of backends: it also runs in the middle of pgbench rounds.
pg_cpu_ticks() {
  local pm c stats=()
  pm=$(head -n 1 "$pgdir/data/postmaster.pid")
  for c in $(cat "/proc/$pm/task/$pm/children" 2>/dev/null); do stats+=("/proc/$c/stat"); done
  cat "/proc/$pm/stat" "${stats[@]}" 2>/dev/null |
    awk 'NR == 1 { s += $16 + $17 } { s += $14 + $15 } END { print s + 0 }'
}
# The CPU a load generator used is the `times` of the subshell that ran it (its last line, the
# children's user and system time), written to X.times beside its output X.txt.
# Nanoseconds the threads of a process spent ready to run but waiting for a CPU.
runq_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $2 } END { printf "%.0f\n", s }'; }
# The WAL the server has written so far, full-page images and bytes (pg_stat_wal), as
# key=value words for a round's note.
wal_note() {  # $1: start or end
  local fpi bytes
  read -r fpi bytes < <(psql -At -F ' ' "$dburl" -c 'SELECT wal_fpi, wal_bytes FROM pg_stat_wal')
  echo "wal_fpi_$1=$fpi" "wal_bytes_$1=$bytes"
}

# --- 1. tbpay's statement, captured from its own session ---------------------------------
# tbpay runs a lean statement for a callback's first attempt (no FOR UPDATE) and a fuller one
# for the rare answers; the lean one is what nearly every callback costs. Sessions are sampled
# while the warm-up runs: an idle one shows the last statement it ran.
log "tbpay serve: warm-up, and the statement it runs per callback"
# Committing each callback alone: a group's statement (kApplyPendingGroupSql) takes the values
# of many callbacks as arrays, and what pgbench runs here is one callback per transaction.
SERVE_FLAGS="${SERVE_FLAGS:-} --group-size 1" start_tbpay tbpay-warmup.log
capture_statement() { session_statement "$dburl" "application_name = 'tbpay'"; }
run_wrk "$conns" 3 "$out/callbacks-warm1.tsv" "$out/wrk-warm1.txt" &
warm_job=$!
: >"$out/apply-captured.sql"
while :; do
  seen=$(capture_statement)
  if [ -n "$seen" ] && { [ ! -s "$out/apply-captured.sql" ] || ! grep -q 'FOR UPDATE' <<<"$seen"; }; then
    printf '%s\n' "$seen" >"$out/apply-captured.sql"
  fi
  [ -s "$out/apply-captured.sql" ] && ! grep -q 'FOR UPDATE' "$out/apply-captured.sql" && break
  kill -0 "$warm_job" 2>/dev/null || break
  sleep 0.1
done
wait "$warm_job" || die "wrk warm-up (see $out/wrk-warm1.txt)"
stop_tbpay
[ -s "$out/apply-captured.sql" ] || die "no tbpay session showed its webhook statement in pg_stat_activity"
# The source's lean statement when it has one (kApplyPendingSql), else the one statement
# (kApplyCallbackSql).
python3 bench/ceiling_script.py extract src/store/postgres/apply_callback_sql.h >"$out/apply-source.sql"
source_name=$(python3 bench/ceiling_script.py name src/store/postgres/apply_callback_sql.h)
lean="no FOR UPDATE"
grep -q 'FOR UPDATE' "$out/apply-captured.sql" && lean="with FOR UPDATE"
if python3 bench/ceiling_script.py same "$out/apply-captured.sql" "$out/apply-source.sql"; then
  statement_note="captured from tbpay's session ($lean); same text as $source_name in apply_callback_sql.h"
else
  statement_note="captured from tbpay's session ($lean); DIFFERS from $source_name in apply_callback_sql.h (the capture is used)"
fi
python3 bench/ceiling_script.py pgbench <"$out/apply-captured.sql" >"$out/statement.pgbench"
cp bench/least_work.pgbench bench/least_work_grouped.pgbench "$out/"
log "statement: $statement_note"
record run.txt "statement_note=$statement_note"

# --- 2. rounds: every series once per round, in the same order ---------------------------
# Each round of a series S leaves its outputs (pgbench-S-R.txt and its per-transaction logs
# pgbench_log_S-R.*, or wrk-S-R.txt; their .times) and a note of what was sampled around it
# (round-S-R.txt: the round's payments, CPU ticks before and after, the SQL counts).
pgbench_round() {  # $1 series (least-C, grouped-C or statement-C), $2 round
  local s=$1 r=$2 c=${1##*-} first last log=$out/pgbench-$1-$2.txt pg0 wal0 completed failed events script
  local clients=$c k=1
  first=$(slice_first "$s" "$r"); last=$(slice_last "$s" "$r")
  case "$s" in
    least-*) script=least_work.pgbench ;;
    grouped-*) script=least_work_grouped.pgbench clients=$group_clients k=$((c / group_clients)) ;;
    *) script=statement.pgbench ;;
  esac
  settle
  log "round $r $s: pgbench -c $clients -j $threads -M prepared -T $duration -f $script -D k=$k (payments $first..$last); load $(loadavg)"
  pg0=$(pg_cpu_ticks) wal0=$(wal_note start)
  (cd "$out" && pgbench -n -c "$clients" -j "$threads" -M prepared -T "$duration" \
    -D n=-1 -D first="$first" -D last="$last" -D clients="$clients" -D k="$k" -D seed="$seed" \
    -D zalopay=ZALOPAY -D payos=PAYOS -D outcome=COMPLETED \
    -D allowed='{"PENDING","FAILED","CANCELLED"}' -D ts='2025-12-13 06:05:18.385' \
    -D ts_iso='2025-12-13T06:05:18.385Z' -D event_type=PAYMENT_COMPLETED \
    -l --log-prefix="pgbench_log_$s-$r" \
    -f "$script" "$dburl" && times >"${log%.txt}.times") >"$log" 2>&1 &
  local job=$! steady=()
  if [ "$duration" -ge 3 ]; then
    # PostgreSQL's CPU while the round is steady, from its second second to one before its end:
    # C backends start with the round's connections, which tbpay's pool does not do per round.
    sleep 1
    steady+=("steady_start=$(date +%s.%N)" "pg_ticks_steady_start=$(pg_cpu_ticks)")
    sleep $((duration - 2))
    steady+=("pg_ticks_steady_end=$(pg_cpu_ticks)" "steady_end=$(date +%s.%N)")
  fi
  wait "$job" || { cat "$log" >&2; die "pgbench"; }
  sleep 0.5  # the round's backends exit and are reaped
  record "round-$s-$r.txt" "first=$first" "last=$last" "pg_ticks_start=$pg0" "pg_ticks_end=$(pg_cpu_ticks)" \
    "${steady[@]}" $wal0 $(wal_note end)
  read -r completed failed events < <(range_counts "$first" "$last")
  record "round-$s-$r.txt" "completed=$completed" "failed=$failed" "events=$events"
  log "round $r $s: $("$report" --round "$s" "$r" "$out")"
}

wrk_round() {  # $1 series (tbpay-C, relay-C: serve's relay publishes as it goes, node-C), $2 round
  local s=$1 r=$2 c=${1##*-} first last w=$out/wrk-$1-$2.txt note=round-$1-$2.txt relaying=0
  # The server under load: tbpay, or the Node.js design (its CPU is noted as tbpay_ticks_*, the
  # server's, for bench_report).
  local port=$port server_pid=$tbpay_pid
  first=$(slice_first "$s" "$r"); last=$(slice_last "$s" "$r")
  case "$s" in
    relay-*) relaying=1 ;;
    node-*) port=$node_port server_pid=$node_pid ;;
  esac
  settle
  log "round $r $s: wrk -t $threads -c $c -d ${duration}s (payments $first..$last); load $(loadavg)"
  local perf_pid="" stat_pid=""
  if [ "$profile" = perf ] && [ "$r" = "$rounds" ] && [ "$s" = "tbpay-$conns" ]; then
    # Where the time goes: samples of every process, and tbpay's system calls and context
    # switches. Both start when wrk posts, not while it reads its callbacks.
    local ready="$out/callbacks-$s-$r.tsv.ready"
    rm -f "$ready"
    (wrk_posting "$ready"; exec perf record -a -g -e cpu-clock -F 499 -o "$out/perf.data" -- sleep "$duration") >/dev/null 2>&1 &
    perf_pid=$!
    local events=raw_syscalls:sys_enter,context-switches,task-clock
    for sc in recvmsg sendmsg recvfrom sendto poll epoll_wait epoll_ctl futex write timerfd_settime getpid; do
      events+=,syscalls:sys_enter_$sc
    done
    (wrk_posting "$ready"; exec perf stat -e "$events" -p "$tbpay_pid" -o "$out/perf-stat-tbpay.txt" -- sleep "$duration") >/dev/null 2>&1 &
    stat_pid=$!
  fi
  record "$note" "first=$first" "last=$last" "pg_ticks_start=$(pg_cpu_ticks)" $(wal_note start)
  [ "$relaying" = 0 ] || psql -q "$dburl" -c 'ALTER TABLE outbox ALTER COLUMN published SET DEFAULT false'
  record "$note" "runq_ns_start=$(runq_ns "$server_pid")" "tbpay_ticks_start=$(cpu_ticks "$server_pid")"
  run_wrk "$c" "$duration" "$out/callbacks-$s-$r.tsv" "$w"
  record "$note" "tbpay_ticks_end=$(cpu_ticks "$server_pid")" "runq_ns_end=$(runq_ns "$server_pid")" \
    "pg_ticks_end=$(pg_cpu_ticks)" $(wal_note end)
  [ -z "$perf_pid" ] || wait "$perf_pid" "$stat_pid" || true
  local completed failed events
  sleep 1  # requests wrk stopped waiting for at the end have committed by now
  read -r completed failed events < <(range_counts "$first" "$last")
  record "$note" "completed=$completed" "failed=$failed" "events=$events"
  if [ "$relaying" = 1 ]; then
    # The relay's backlog drains before the next round starts, not during it.
    psql -q "$dburl" -c 'ALTER TABLE outbox ALTER COLUMN published SET DEFAULT true'
    local t0 pending
    t0=$(date +%s.%N)
    while pending=$(psql -At "$dburl" -c 'SELECT count(*) FROM outbox WHERE NOT published') && [ "$pending" -gt 0 ]; do
      [ $(($(date +%s) - ${t0%.*})) -le 300 ] || die "the relay left $pending events unpublished for 5 minutes"
      sleep 0.2
    done
    record "$note" "relay_drain_start=$t0" "relay_drain_end=$(date +%s.%N)"
  fi
  log "round $r $s: $("$report" --round "$s" "$r" "$out")"
}

record run.txt "load_start=$(loadavg)"
[ "$node" = 0 ] || start_node
start_tbpay tbpay.log "$profile"
run_wrk "$conns" 2 "$out/callbacks-warm2.tsv" "$out/wrk-warm2.txt"
for r in $(seq 1 "$rounds"); do
  for s in "${series[@]}"; do
    case "$s" in
      least-*|grouped-*|statement-*) pgbench_round "$s" "$r" ;;
      *) wrk_round "$s" "$r" ;;
    esac
  done
done
record run.txt "load_end=$(loadavg)" "peak_rss_kb=$(status_kb "$tbpay_pid" VmHWM)"

# --- 4. RSS with 256 keep-alive connections ----------------------------------------------
log "tbpay: wrk -c $wide_conns -d ${wide_duration}s, sampling RSS"
rss_file=$out/rss-wide.txt
: >"$rss_file"
(while kill -0 "$tbpay_pid" 2>/dev/null; do status_kb "$tbpay_pid" VmRSS >>"$rss_file"; sleep 0.2; done) &
sampler=$!
run_wrk "$wide_conns" "$wide_duration" "$out/callbacks-wide.tsv" "$out/wrk-wide.txt"
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
record run.txt "wide_peak_kb=$(status_kb "$tbpay_pid" VmHWM)"
stop_tbpay
grep -c '"level":"error"' "$out/tbpay.log" >"$out/tbpay-errors.count" || true

# --- 5. micro-benchmarks, relay, Lambda --------------------------------------------------
# Each section notes in run.txt whether it ran (ok), failed, or was not built or asked for.
if [ "$micro" = 1 ]; then
  log "micro-benchmarks (bench/providers_bench)"
  "$bench_bin/providers_bench" --benchmark_min_time=0.2 --benchmark_color=false \
    >"$out/providers_bench.txt" 2>&1 || log "providers_bench failed (see $out/providers_bench.txt)"
fi
if [ "$relay" = 1 ] && [ -x "$bench_bin/relay_bench" ]; then
  log "relay: bench/relay_bench (its own database on the same server)"
  if "$bench_bin/relay_bench" --server-url "$url" >"$out/relay_bench.txt" 2>"$out/relay_bench.log"; then
    record run.txt relay=ok
    # Again with the broker 1 ms away, as a Kafka cluster across a network is: the loopback
    # mock answers in microseconds, which flatters the one-at-a-time design.
    log "relay: bench/relay_bench --kafka-rtt-ms 1"
    if "$bench_bin/relay_bench" --server-url "$url" --kafka-rtt-ms 1 >"$out/relay_bench_rtt.txt" \
        2>"$out/relay_bench_rtt.log"; then
      record run.txt relay_rtt=ok
    fi
  else
    record run.txt relay=failed
  fi
fi
if [ "$reconcile" = 1 ] && [ -x "$bench_bin/reconcile_bench" ]; then
  log "reconcile: bench/reconcile_bench (10000 stale payments, fakes answering in 20 ms)"
  # The queries against the bound (answers "not paid yet"), then the same with every answer
  # "paid", each one settled on the bench's SQLite file.
  if "$bench_bin/reconcile_bench" --pending 1 >"$out/reconcile_bench.txt" 2>"$out/reconcile_bench.log" &&
     "$bench_bin/reconcile_bench" >"$out/reconcile_bench_paid.txt" 2>>"$out/reconcile_bench.log"; then
    record run.txt reconcile=ok
  else
    record run.txt reconcile=failed
  fi
fi
if [ "$lambda" = 1 ] && [ -x scripts/bench-lambda.sh ]; then
  log "Lambda: scripts/bench-lambda.sh (package, cold start, invocations on the same PostgreSQL server)"
  if DATABASE_SERVER_URL=$url scripts/bench-lambda.sh "$BUILD_DIR" >"$out/lambda.txt" 2>"$out/lambda.log"; then
    record run.txt lambda=ok
  else
    record run.txt lambda=failed
  fi
fi
if [ "$lookup" = 1 ]; then
  log "ZaloPay lookup: scripts/bench-lookup.sh (schema as migrated vs --lookup-index, same server)"
  if DATABASE_SERVER_URL=$url scripts/bench-lookup.sh "$BUILD_DIR" >"$out/lookup.txt" 2>"$out/lookup.log"; then
    record run.txt lookup=ok
  else
    record run.txt lookup=failed
  fi
fi

# --- the table ---------------------------------------------------------------------------
"$report" "$out" | tee "$out/summary.txt" || die "bench_report (the raw outputs are in $out)"

if [ "$profile" = perf ]; then
  perf report -i "$out/perf.data" --sort comm --stdio -g none 2>/dev/null | grep '%' | head -12 >"$out/perf-by-process.txt" || true
  perf report -i "$out/perf.data" --comm tbpay --no-children --sort dso,symbol --stdio -g none 2>/dev/null |
    grep '%' | head -60 | cut -c1-160 >"$out/perf-tbpay.txt" || true
  # perf stat is attached for the seconds wrk posts: per callback of the round (not per libpq
  # send: a group of callbacks is one).
  n=$(sed -n 's/^bench_success=//p' "$out/wrk-tbpay-$conns-$rounds.txt")
  {
    echo "tbpay, last round, per callback ($n callbacks in the round, perf stat attached for its ${duration} s):"
    awk -v n="$n" '$2 ~ /^(raw_syscalls|syscalls|context-switches)/ { gsub(/,/, "", $1); printf "  %-36s %6.2f\n", $2, $1 / n }
                   $2 == "msec" && $3 == "task-clock" { gsub(/,/, "", $1); printf "  %-36s %6.0f us\n", "cpu (task-clock)", $1 * 1000 / n }' \
      "$out/perf-stat-tbpay.txt"
    echo "CPU samples by process (all of the machine, last tbpay round):"
    sed 's/^/  /' "$out/perf-by-process.txt"
  } | tee "$out/profile.txt"
  log "profile: $out/profile.txt, $out/perf-tbpay.txt (symbols)"
fi
