#!/usr/bin/env bash
# The fuzzing part of `make test`: every libFuzzer target (clang, ASan+UBSan, built in build-clang
# by `scripts/fuzz.sh --build-only`) runs for SECONDS (default 30) from its seed corpus, JOBS
# (default 2) at a time. Fails when any target finds a crash, a leak, a sanitizer report, a
# timeout or a broken invariant, and prints the command that replays the input it kept.
#   scripts/fuzz-smoke.sh [SECONDS]       CLANG_BUILD_DIR, JOBS and FUZZ_TARGETS may be set.
set -euo pipefail
seconds=${1:-30}
jobs=${JOBS:-2}
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
# shellcheck source=lib/clang-build.sh
. scripts/lib/clang-build.sh
build=$clang_build_dir

start=$(date +%s)
scripts/fuzz.sh --build-only  # the same build-clang (CLANG_BUILD_DIR)
echo "fuzz build: $(($(date +%s) - start)) s"
targets=$(fuzz_targets "$build")

# A fresh corpus each time (the seeds in the repository are only read), so one run's findings
# never hide in the next one's corpus.
run() {
  local t=$1 work="$build/fuzz-smoke/$1"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  local args=(-max_total_time="$seconds" -print_final_stats=1 -timeout=25 -rss_limit_mb=2048
              -artifact_prefix="$work/artifacts/")
  [ -f "fuzz/dict/$t.dict" ] && args+=(-dict="fuzz/dict/$t.dict")
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
    "$build/fuzz/$t" "${args[@]}" "$work/corpus" "fuzz/corpus/$t" >"$work/run.log" 2>&1
}

# Every target runs for the same time, so batches of JOBS keep the cores busy.
declare -A status pid
batch=()
flush() {
  for t in "${batch[@]}"; do
    if wait "${pid[$t]}"; then status[$t]=ok; else status[$t]=FAILED; fi
  done
  batch=()
}
start=$(date +%s)
for t in $targets; do
  run "$t" &
  pid[$t]=$!
  batch+=("$t")
  if [ ${#batch[@]} -ge "$jobs" ]; then flush; fi
done
if [ ${#batch[@]} -gt 0 ]; then flush; fi

failed=0
printf '%-22s %12s %10s  %s\n' target executions exec/s result
for t in $targets; do
  log="$build/fuzz-smoke/$t/run.log"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  printf '%-22s %12s %10s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "${status[$t]}"
done
echo "fuzz smoke: $(($(date +%s) - start)) s, ${seconds} s per target, $jobs at a time"
for t in $targets; do
  [ "${status[$t]}" = ok ] && continue
  failed=1
  log="$build/fuzz-smoke/$t/run.log"
  echo "---- $t FAILED (log: $log)" >&2
  grep -E -A30 'ERROR: |invariant broken|runtime error|deadly signal|ALARM' "$log" | head -60 >&2 ||
    tail -40 "$log" >&2
  for input in "$build/fuzz-smoke/$t/artifacts/"*; do
    [ -f "$input" ] && echo "reproduce: $build/fuzz/$t $input" >&2
  done
done
exit $failed
