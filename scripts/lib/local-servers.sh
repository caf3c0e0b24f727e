# Sourced by the scripts that start local servers (throwaway PostgreSQL and PgBouncer, the
# bench's tbpay).

# Runs a command as the `postgres` user when called as root (initdb and PgBouncer refuse root),
# as the caller otherwise.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    id -u postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# A loopback TCP port free right now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
