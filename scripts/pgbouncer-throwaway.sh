#!/usr/bin/env bash
# A throwaway PgBouncer in transaction pooling mode, in front of a PostgreSQL server on this
# machine: as the core service's deployments put one in front of the database for Lambda.
#   scripts/pgbouncer-throwaway.sh start DIR PG_PORT -> prints postgresql://...@127.0.0.1:PORT
#                                                       (any database name reaches PG_PORT's)
#   scripts/pgbouncer-throwaway.sh stop DIR
# PgBouncer refuses to run as root, so as root it runs as the `postgres` user.
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?folder}
bouncer=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)  # sbin is not on every PATH
[ -x "$bouncer" ] || { echo "pgbouncer not found (apt-get install pgbouncer)" >&2; exit 1; }

# shellcheck source=lib/local-servers.sh
. "$(dirname "$0")/lib/local-servers.sh"

case "$cmd" in
start)
  pg_port=${3:?PostgreSQL port}
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
  port=$(free_port)
  echo '"postgres" ""' >"$dir/users.txt"
  cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=$pg_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
pool_mode = transaction
default_pool_size = 8
max_client_conn = 400
server_reset_query =
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
  [ "$(id -u)" -eq 0 ] && chown postgres "$dir"/*
  as_owner "$bouncer" -d -q "$dir/pgbouncer.ini" || { cat "$dir/pgbouncer.log" >&2; exit 1; }
  for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
    sleep 0.05
  done
  echo "postgresql://postgres@127.0.0.1:$port"
  ;;
stop)
  [ -f "$dir/pgbouncer.pid" ] && kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true
  ;;
*) echo "usage: $0 start DIR PG_PORT | stop DIR" >&2; exit 2 ;;
esac
