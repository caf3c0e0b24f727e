# Sourced by the throwaway-server scripts: runs a command as the `postgres` user when called as
# root (initdb and PgBouncer refuse root), as the caller otherwise.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    id -u postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}
