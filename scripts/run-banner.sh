#!/usr/bin/env bash
# Printed by `make run` (scripts/run-dev.sh) before the server starts: how to try the flow by
# hand, at the address the server is about to listen on. Usage: run-banner.sh [BUILD_DIR]
build=${1:-build}
address=${LISTEN_ADDR:-127.0.0.1:8080}
events=${EVENTS_FILE:-var/events.jsonl}
database="SQLite in var/"
[ -n "${DATABASE_URL:-}" ] && database="the database of DATABASE_URL"
cat <<TXT

tbpay is starting on http://$address with demo keys (config/dev.env), $database.
In another terminal:

  set -a; . config/dev.env; set +a
  $build/tbpay payments create --provider zalopay --order-code TB-DEMO-1 --amount 150000
  $build/tbpay sign zalopay --order-code TB-DEMO-1 | curl -s -X POST http://$address/webhook/zalopay -H 'content-type: application/json' -d @-
  $build/tbpay payments show TB-DEMO-1
  tail -n 1 $events

The server publishes the event itself within a second (its relay runs in the background); do
not run \`tbpay relay\` beside it on the same SQLite file.
TXT
if [ -n "${DATABASE_URL:-}${EVENTS_FILE:-}" ]; then
  echo "Give that terminal the same DATABASE_URL and EVENTS_FILE as this one."
fi
echo "Stop with Ctrl-C."
