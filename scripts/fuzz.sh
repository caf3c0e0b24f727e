#!/usr/bin/env bash
# Builds every libFuzzer target (clang, ASan+UBSan) in build-clang (scripts/lib/clang-build.sh)
# and runs each for SECONDS (default 60). Fails when any target finds a crash, a leak, a sanitizer
# report or a broken invariant; the input that did it is kept under
# build-clang/fuzz-work/<target>/artifacts/.
#   scripts/fuzz.sh [SECONDS]        CLANG_BUILD_DIR, JOBS and FUZZ_TARGETS (space-separated) may be set.
#   scripts/fuzz.sh --build-only     configure and build the targets, run nothing (fuzz-smoke.sh).
set -euo pipefail
build_only=0
if [ "${1:-}" = --build-only ]; then
  build_only=1
  shift
fi
seconds=${1:-60}
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
# shellcheck source=lib/clang-build.sh
. scripts/lib/clang-build.sh
build=$clang_build_dir
configure_clang_build "$build"

targets=$(fuzz_targets "$build")
if [ -z "$targets" ]; then
  echo "fuzz: no fuzz_* targets found" >&2
  exit 1
fi
# shellcheck disable=SC2086
cmake --build "$build" --target $targets -j "${JOBS:-2}"
[ "$build_only" = 1 ] && exit 0

failed=()
printf '%-22s %12s %10s %8s  %s\n' target executions exec/s corpus result
for t in $targets; do
  work="$build/fuzz-work/$t"
  mkdir -p "$work/corpus" "$work/artifacts"
  args=(-max_total_time="$seconds" -print_final_stats=1 -timeout=25 -rss_limit_mb=2048
        -artifact_prefix="$work/artifacts/")
  [ -f "fuzz/dict/$t.dict" ] && args+=(-dict="fuzz/dict/$t.dict")
  seeds=()
  [ -d "fuzz/corpus/$t" ] && seeds+=("fuzz/corpus/$t")
  # New inputs go to the work corpus; the seed corpus in the repository is only read.
  if "$build/fuzz/$t" "${args[@]}" "$work/corpus" "${seeds[@]}" >"$work/run.log" 2>&1; then
    result=ok
  else
    result="FAILED (see $work/run.log)"
    failed+=("$t")
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/run.log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/run.log" | tail -1)
  corpus=$(find "$work/corpus" -type f | wc -l)
  printf '%-22s %12s %10s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$corpus" "$result"
done

if [ ${#failed[@]} -gt 0 ]; then
  for t in "${failed[@]}"; do
    echo "---- $t" >&2
    grep -E -A25 'ERROR: |invariant broken|runtime error|deadly signal' "$build/fuzz-work/$t/run.log" | head -60 >&2 || tail -40 "$build/fuzz-work/$t/run.log" >&2
    ls "$build/fuzz-work/$t/artifacts/" >&2
  done
  exit 1
fi
