#!/usr/bin/env bash
# Measures the Lambda package the way Lambda runs it: unzipped into an empty folder, bootstrap
# started with only Lambda's environment, against a loopback Runtime API (Python, below) and a
# real PostgreSQL. Prints one "name value unit" line per measurement:
#   lambda_zip_size        size of BUILD_DIR/lambda/tbpay.zip
#   lambda_cold_start      exec of bootstrap -> its first GET /invocation/next
#   lambda_webhook_first   first webhook invocation (next handed out -> response posted)
#   lambda_webhook_later   median of the later ones
#   lambda_webhook_db      the database's part of a later one: the statement the function ran
#                          per callback (read from its open session, else the source's), run
#                          by pgbench -c 1 -M prepared on the same database, one callback per
#                          transaction as the function commits it, DB_SECONDS (default 2) half
#                          way through the invocations and again after them: the median of
#                          those transactions (and the mean)
#   lambda_peak_rss        VmHWM of the function process after all invocations
# Usage: scripts/bench-lambda.sh [BUILD_DIR]   (DATABASE_SERVER_URL: use that server, else a
# throwaway PostgreSQL with production durability is started). INVOCATIONS (default 50)
# webhook calls.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$here/$build" ;; esac
tbpay="$build/tbpay"
zip="$build/lambda/tbpay.zip"
[ -x "$tbpay" ] || { echo "bench-lambda: $tbpay not found (make build)" >&2; exit 1; }
[ -f "$zip" ] && [ "$zip" -nt "$tbpay" ] || "$here/scripts/package-lambda.sh" "$build" >&2
invocations=${INVOCATIONS:-50}

work=$(mktemp -d /tmp/tbpay-bench-lambda.XXXXXX)
chmod 755 "$work"
cleanup() {
  [ -n "${pgdir:-}" ] && "$here/scripts/pg-throwaway.sh" stop "$pgdir"
  rm -rf "$work"
}
trap cleanup EXIT
server=${DATABASE_SERVER_URL:-}
if [ -z "$server" ]; then
  pgdir="$work/pg"
  export PG_DURABLE=${PG_DURABLE:-1}
  server=$("$here/scripts/pg-throwaway.sh" start "$pgdir")
  # pg_stat_activity shows a statement whole (the default keeps 1 KB of it).
  psql -q "$server" -c "ALTER SYSTEM SET track_activity_query_size = 16384" >/dev/null
  "$here/scripts/pg-throwaway.sh" restart "$pgdir" >/dev/null
fi
db="tbpay_bench_lambda_$$"
psql -q "$server" -c "CREATE DATABASE $db" >/dev/null
database_url="${server%/*}/$db"

export DATABASE_URL="$database_url" ZALOPAY_APP_ID=2553 ZALOPAY_KEY1=bench-key1 ZALOPAY_KEY2=bench-key2
"$tbpay" migrate >/dev/null
mkdir -p "$work/events"
for i in $(seq 1 "$invocations"); do
  "$tbpay" payments create --provider zalopay --order-code "TB-BENCH-$i" --amount 10000 >/dev/null
  "$tbpay" sign zalopay --order-code "TB-BENCH-$i" --amount 10000 >"$work/events/$i.json"
done

mkdir -p "$work/task"
unzip -q "$zip" -d "$work/task"

# The database's part of a warm invocation: the same statement, bound the same way (prepared),
# one callback per transaction, on the same database, by one client, WAL flush included. Half
# way through the invocations (the function idles, its session open, as between invocations)
# and again after them, so that a change in the disk's speed hits both. Not in it: the settings
# statement the function sends in the same round trip (reads no table). ZaloPay payments as
# scripts/bench.sh seeds them, numbered past the invocations' own.
export DB_URL=$database_url DB_WORK=$work DB_HERE=$here DB_SECONDS=${DB_SECONDS:-2}
export DB_FIRST=1001 DB_LAST=$((1001 + 2 * ${DB_PAYMENTS:-40000}))
db_seconds=$DB_SECONDS
psql -q -v ON_ERROR_STOP=1 -v seed=20251213 -v first="$DB_FIRST" -v last="$DB_LAST" \
  -f "$here/bench/seed_payments.sql" "$database_url" >/dev/null
psql -q "$database_url" -c "VACUUM ANALYZE payments" -c "VACUUM ANALYZE outbox" -c CHECKPOINT >/dev/null
cat >"$work/db_part.sh" <<'SH'
#!/usr/bin/env bash
# db_part.sh 1|2: one run of the database's part (scripts/bench-lambda.sh); 1 also reads the
# statement from the function's open session.
set -euo pipefail
cd "$DB_WORK"
if [ "$1" = 1 ]; then
  . "$DB_HERE/scripts/lib/session-statement.sh"
  session_statement "$DB_URL" "datname = current_database() AND pid <> pg_backend_pid()" >captured.sql
  if [ -s captured.sql ]; then
    echo "the statement read from the function's session" >statement.txt
  else
    src=$DB_HERE/src/store/postgres/apply_callback_sql.h
    python3 "$DB_HERE/bench/ceiling_script.py" extract "$src" >captured.sql
    echo "$(python3 "$DB_HERE/bench/ceiling_script.py" name "$src") (not seen in the function's session)" >statement.txt
  fi
  python3 "$DB_HERE/bench/ceiling_script.py" pgbench --zalopay-only <captured.sql >db.pgbench
  n=-1
else  # on from where the first run stopped
  n=$(($(sed -n 's/^number of transactions actually processed: //p' db-1.txt) - 1))
fi
pgbench -n -c 1 -j 1 -M prepared -T "$DB_SECONDS" -l --log-prefix="db_log_$1" \
  -D n="$n" -D first="$DB_FIRST" -D last="$DB_LAST" -D clients=1 -D seed=20251213 \
  -D zalopay=ZALOPAY -D payos=PAYOS -D outcome=COMPLETED \
  -D allowed='{"PENDING","FAILED","CANCELLED"}' -D ts='2025-12-13 06:05:18.385' \
  -D event_type=PAYMENT_COMPLETED -f db.pgbench "$DB_URL" >"db-$1.txt" 2>&1 ||
  { cat "db-$1.txt" >&2; exit 1; }
SH
chmod +x "$work/db_part.sh"

python3 - "$work" "$zip" "$database_url" "$invocations" <<'PY'
import http.server, json, os, socketserver, statistics, subprocess, sys, threading, time

work, zip_path, database_url, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
task = os.path.join(work, "task")
events = []
for i in range(1, n + 1):
    body = open(os.path.join(work, "events", f"{i}.json")).read().strip()
    events.append(json.dumps({"version": "2.0", "rawPath": "/dev/webhook/zalopay",
        "requestContext": {"http": {"method": "POST", "path": "/dev/webhook/zalopay"},
                           "stage": "dev", "requestId": f"bench-{i}"},
        "body": body, "isBase64Encoded": False}))

lock = threading.Condition()
state = {"first_next": None, "handed": {}, "done": {}, "queue": list(enumerate(events)),
         "bad": 0}

class RuntimeApi(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else delayed ACKs add ~40 ms to every exchange
    def log_message(self, *args):
        pass
    def reply(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        with lock:
            if state["first_next"] is None:
                state["first_next"] = time.perf_counter()
            while not state["queue"]:
                lock.wait()
                if state.get("closing"):
                    self.close_connection = True
                    return
            i, payload = state["queue"].pop(0)
        if i == n // 2:
            # Half way: the database's part, while the function idles between invocations.
            state["db_part"] = subprocess.run([os.path.join(work, "db_part.sh"), "1"]).returncode
        with lock:
            state["handed"][f"bench-{i}"] = time.perf_counter()
        deadline = int((time.time() + 30) * 1000)
        self.reply(200, payload.encode(), [("Lambda-Runtime-Aws-Request-Id", f"bench-{i}"),
                   ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                   ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:ap-southeast-1:1:function:bench"),
                   ("Content-Type", "application/json")])
    def do_POST(self):
        now = time.perf_counter()
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        parts = self.path.split("/")
        request_id = parts[-2]
        with lock:
            state["done"][request_id] = now
            if parts[-1] != "response" or json.loads(json.loads(body)["body"]).get("return_code") != 1:
                state["bad"] += 1
            lock.notify_all()
        self.reply(202, b'{"status":"OK"}')

class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    def handle_error(self, request, client_address):
        pass  # the function process is killed at the end: its connection resets

server = Server(("127.0.0.1", 0), RuntimeApi)
threading.Thread(target=server.serve_forever, daemon=True).start()
env = {
    "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}", "_HANDLER": "webhook",
    "LAMBDA_TASK_ROOT": task, "AWS_REGION": "ap-southeast-1",
    "AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023",
    "AWS_LAMBDA_FUNCTION_NAME": "ticketbottle-payment-webhook-handler-bench",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512", "TZ": ":UTC", "LANG": "en_US.UTF-8",
    "PATH": "/usr/local/bin:/usr/bin/:/bin:/opt/bin", "LOG_LEVEL": "warn",
    "DATABASE_URL": database_url, "ZALOPAY_APP_ID": "2553", "ZALOPAY_KEY1": "bench-key1",
    "ZALOPAY_KEY2": "bench-key2",
}
log = open(os.path.join(work, "function.log"), "w")
started = time.perf_counter()
proc = subprocess.Popen([os.path.join(task, "bootstrap")], cwd=task, env=env, stdout=log, stderr=log)
with lock:
    lock.wait_for(lambda: len(state["done"]) == n, timeout=300)
    rss_kb = None
    for line in open(f"/proc/{proc.pid}/status"):
        if line.startswith("VmHWM:"):
            rss_kb = int(line.split()[1])
    state["closing"] = True
    lock.notify_all()
proc.kill()
proc.wait()
server.shutdown()
if state.get("db_part") != 0:
    sys.exit("bench-lambda: the database's part half way failed (see above)")
if len(state["done"]) != n or state["bad"]:
    sys.exit(f"bench-lambda: {len(state['done'])}/{n} invocations answered, {state['bad']} not return_code 1; see {work}/function.log")
durations = [(state["done"][f"bench-{i}"] - state["handed"][f"bench-{i}"]) * 1000 for i in range(n)]
print(f"lambda_zip_size {os.path.getsize(zip_path) / 1048576:.2f} MiB")
print(f"lambda_cold_start {(state['first_next'] - started) * 1000:.1f} ms")
print(f"lambda_webhook_first {durations[0]:.2f} ms")
print(f"lambda_webhook_later {statistics.median(durations[1:]):.2f} ms (median of {n - 1})")
print(f"lambda_peak_rss {rss_kb / 1024:.1f} MiB")
PY

"$work/db_part.sh" 2
db_processed=0
for part in 1 2; do
  db_processed=$((db_processed + $(sed -n 's/^number of transactions actually processed: //p' "$work/db-$part.txt")))
done
completed=$(psql -At "$database_url" -c "SELECT count(*) FROM payments
  WHERE status = 'COMPLETED' AND \"orderCode\" LIKE 'TB-BENCH-%'
    AND substr(\"orderCode\", 10)::int BETWEEN $DB_FIRST AND $DB_LAST")
[ "$db_processed" = "$completed" ] && [ "$db_processed" -gt 0 ] ||
  { echo "bench-lambda: pgbench ran $db_processed transactions but $completed payments completed" >&2; exit 1; }

python3 - "$work" "$db_processed" "$db_seconds" "$(cat "$work/statement.txt")" <<'PY'
import glob, statistics, sys
work, processed, seconds, statement = sys.argv[1:5]
latencies = [int(line.split()[2]) / 1000 for path in glob.glob(f"{work}/db_log_*")
             for line in open(path) if line.strip()]
print(f"lambda_webhook_db {statistics.median(latencies):.3f} ms (median of {len(latencies)} "
      f"transactions, mean {statistics.mean(latencies):.3f} ms; pgbench -c 1 -M prepared, "
      f"{seconds} s half way and {seconds} s after; {statement})")
PY
