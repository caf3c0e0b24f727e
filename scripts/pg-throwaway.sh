#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on a free loopback port.
#   scripts/pg-throwaway.sh start DIR   -> prints postgresql://... (server is running)
#   scripts/pg-throwaway.sh stop DIR
#   scripts/pg-throwaway.sh restart DIR -> starts the stopped cluster again on the same port
#                                          (outage tests: clients reconnect to the same URL)
#   scripts/pg-throwaway.sh freeze DIR  -> SIGSTOP to the server and its sessions: connections
#                                          stay open and TCP is accepted, nothing is answered
#   scripts/pg-throwaway.sh thaw DIR    -> SIGCONT: the server carries on where it stopped
# initdb refuses to run as root, so as root the cluster belongs to the `postgres` user.
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?data directory}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$bin/initdb" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

# shellcheck source=lib/local-servers.sh
. "$(dirname "$0")/lib/local-servers.sh"

# Starts the cluster in DIR on PORT. Tests want speed, not durability (PG_DURABLE=1 keeps
# PostgreSQL's own durable defaults, for throughput figures); max_connections covers parallel
# test suites. PG_EXTRA_OPTS adds server settings, e.g. "-c log_min_duration_statement=40" to
# see in DIR/server.log what stalled during a bench round.
start_server() {
  local speed="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ "${PG_DURABLE:-0}" = 1 ] && speed=""
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $1 -k $dir -c listen_addresses=127.0.0.1 $speed -c max_connections=300 ${PG_EXTRA_OPTS:-}" \
    start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
}

# SIGSTOP or SIGCONT to the postmaster and every process it started.
signal_cluster() {
  [ -f "$dir/data/postmaster.pid" ] || return 0
  local pid
  pid=$(head -n 1 "$dir/data/postmaster.pid")
  kill -"$1" "$pid" $(pgrep -P "$pid") 2>/dev/null || true
}

case "$cmd" in
start)
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
  port=$(free_port)
  as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  start_server "$port"
  echo "$port" >"$dir/port"
  echo "postgresql://postgres@127.0.0.1:$port/postgres"
  ;;
freeze) signal_cluster STOP ;;
thaw) signal_cluster CONT ;;
stop)
  signal_cluster CONT  # a frozen cluster cannot stop
  [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  ;;
restart)
  [ -f "$dir/port" ] || { echo "no cluster in $dir (start it first)" >&2; exit 1; }
  port=$(cat "$dir/port")
  as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1 &&
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  start_server "$port"
  echo "postgresql://postgres@127.0.0.1:$port/postgres"
  ;;
*) echo "usage: $0 start|stop|restart|freeze|thaw DIR" >&2; exit 2 ;;
esac
