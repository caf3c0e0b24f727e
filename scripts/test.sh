#!/usr/bin/env bash
# Runs the whole suite: starts a throwaway PostgreSQL (unless TEST_DATABASE_URL is set) and a
# PgBouncer in transaction mode in front of it (unless TEST_PGBOUNCER_URL is set), runs ctest,
# stops both. Extra arguments go to ctest (e.g. -L reliability).
set -euo pipefail
build=${BUILD_DIR:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
pgdir=$(mktemp -d /tmp/tbpay-pg.XXXXXX)
chmod 755 "$pgdir"
trap '"$here/scripts/pgbouncer-throwaway.sh" stop "$pgdir/bouncer"
      "$here/scripts/pg-throwaway.sh" stop "$pgdir"; rm -rf "$pgdir"' EXIT
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  TEST_DATABASE_URL=$("$here/scripts/pg-throwaway.sh" start "$pgdir")
  export TEST_DATABASE_URL
  echo "throwaway PostgreSQL at $TEST_DATABASE_URL"
fi
if [ -z "${TEST_PGBOUNCER_URL:-}" ]; then
  pg_port=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.urlsplit(sys.argv[1]).port or 5432)' "$TEST_DATABASE_URL")
  TEST_PGBOUNCER_URL=$("$here/scripts/pgbouncer-throwaway.sh" start "$pgdir/bouncer" "$pg_port")
  export TEST_PGBOUNCER_URL
  echo "throwaway PgBouncer (transaction pooling) at $TEST_PGBOUNCER_URL"
fi
cd "$here/$build"
# Four at a time on two cores: many tests spend their time waiting (for a timeout, a restart, a
# child process), and at two the machine was idle 44% of the run. TEST_JOBS changes it.
ctest --output-on-failure --timeout 600 -j "${TEST_JOBS:-4}" "$@"
