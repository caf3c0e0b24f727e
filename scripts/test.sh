#!/usr/bin/env bash
# Runs the whole suite: starts a throwaway PostgreSQL (unless TEST_DATABASE_URL is set),
# runs ctest, stops the server. Extra arguments go to ctest (e.g. -L reliability).
set -euo pipefail
build=${BUILD_DIR:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  pgdir=$(mktemp -d /tmp/tbpay-pg.XXXXXX)
  chmod 755 "$pgdir"
  trap '"$here/scripts/pg-throwaway.sh" stop "$pgdir"; rm -rf "$pgdir"' EXIT
  TEST_DATABASE_URL=$("$here/scripts/pg-throwaway.sh" start "$pgdir")
  export TEST_DATABASE_URL
  echo "throwaway PostgreSQL at $TEST_DATABASE_URL"
fi
cd "$here/$build"
ctest --output-on-failure --timeout 600 -j "${TEST_JOBS:-2}" "$@"
