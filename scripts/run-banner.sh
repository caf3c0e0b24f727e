#!/usr/bin/env bash
# Printed by `make run` before the server starts: how to try the flow by hand.
cat <<'TXT'

tbpay is starting on http://127.0.0.1:8080 with demo keys (config/dev.env), SQLite in var/.
In another terminal:

  set -a; . config/dev.env; set +a
  build/tbpay payments create --provider zalopay --order-code TB-DEMO-1 --amount 150000
  build/tbpay sign zalopay --order-code TB-DEMO-1 --amount 150000 > /tmp/cb.json
  curl -s -X POST http://127.0.0.1:8080/webhook/zalopay -H 'content-type: application/json' -d @/tmp/cb.json
  build/tbpay payments show TB-DEMO-1
  build/tbpay relay && tail -n 1 var/events.jsonl

Stop with Ctrl-C.
TXT
