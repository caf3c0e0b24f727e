# shellcheck shell=bash
# The statement tbpay runs per callback, as pg_stat_activity shows it in tbpay's own sessions
# (scripts/bench.sh, scripts/bench-lambda.sh): the one that writes the outbox event, one
# without FOR UPDATE first (the lean first attempt) when a session shows it.
#   session_statement URL CONDITION   CONDITION: which sessions, in SQL
session_statement() {
  psql -At "$1" -c "SELECT query FROM pg_stat_activity WHERE $2
    AND query LIKE '%INSERT INTO outbox%' ORDER BY query LIKE '%FOR UPDATE%' LIMIT 1"
}
