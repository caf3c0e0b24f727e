#!/usr/bin/env bash
# Tests under AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer included), built in
# the clang build the fuzz targets use (build-clang, scripts/lib/clang-build.sh), then ctest
# through scripts/test.sh (which starts a throwaway PostgreSQL unless TEST_DATABASE_URL is set).
# Any sanitizer report fails the test.
# Only the test executables the chosen labels need are built.
#   scripts/test-sanitize.sh [LABEL...]   default: unit; `all` for the whole suite, whose tests
#                                         that run `tbpay` as a child then run the sanitized one.
#   CLANG_BUILD_DIR (default build-clang), JOBS, TEST_JOBS.
set -euo pipefail
labels=("${@:-unit}")
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
# shellcheck source=lib/clang-build.sh
. scripts/lib/clang-build.sh
build=$clang_build_dir

start=$(date +%s)
configure_clang_build "$build"
ctest_args=()
if [ "${labels[*]}" = all ]; then
  targets=(all)
else
  # tests_<label> (tests/CMakeLists.txt) is every test executable with that label; beyond the
  # unit tests, some tests run the `tbpay` binary.
  targets=("${labels[@]/#/tests_}")
  [ "${labels[*]}" = unit ] || targets+=(tbpay)
  regex=$(IFS='|'; echo "${labels[*]}")
  ctest_args=(-L "^($regex)\$")
fi
cmake --build "$build" --target "${targets[@]}" -j "${JOBS:-$(nproc)}"
echo "sanitizer build: $(($(date +%s) - start)) s"

# The first report fails the test (UBSan's checks are also built not to recover); leaks are
# reported at exit. A small quarantine: the default (256 MiB of freed memory kept back) would
# look like a leak to the outage test, which watches the server's RSS.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:quarantine_size_mb=32}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
start=$(date +%s)
BUILD_DIR=$build "$here/scripts/test.sh" "${ctest_args[@]}"
echo "sanitizer tests (${labels[*]}): $(($(date +%s) - start)) s"
