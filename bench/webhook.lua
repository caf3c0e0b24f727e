-- wrk script: posts pre-signed callbacks (bench/signed_callbacks output, `PATH<TAB>BODY` lines),
-- each exactly once. Thread k of T takes lines k, k+T, k+2T, ... so no payment is posted twice;
-- a thread that has sent all its lines stops (and says so) instead of wrapping around.
--
--   wrk -t T -c C -d 20s -s bench/webhook.lua http://127.0.0.1:PORT -- callbacks.tsv T
--
-- wrk initializes its threads one after the other and starts each as soon as it is ready, so
-- thread 0 would post alone while thread 1 still reads the file (on the machine's other core:
-- tenths of a second for a full `make bench`'s files, seconds for larger ones), and its early
-- requests would count, with their latencies, before the measured seconds begin. Each thread
-- therefore marks itself ready in CALLBACKS.ready, and no thread posts before all have (the
-- wait precedes the first request's clock).
--
-- A reply counts as success when it is HTTP 200 with ZaloPay's "return_code":1 or PayOS's
-- "error":0. Anything else is a failure; the first few are printed. The summary ends with
-- `key=value` lines that scripts/bench.sh reads.

local ffi = require("ffi")
ffi.cdef("int usleep(unsigned int usec);")

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local file = args[1]
  nthreads = tonumber(args[2] or "1")
  ready_path = file .. ".ready"
  requests = {}
  local headers = { ["Content-Type"] = "application/json" }
  local n, k = 0, 0
  for line in io.lines(file) do
    if n % nthreads == id then
      local tab = line:find("\t", 1, true)
      k = k + 1
      -- Formatted once here: per request, wrk then only hands over a ready string (a quarter
      -- less CPU per request than wrk.format() in request(), and the load generator shares the
      -- machine with what it measures).
      requests[k] = wrk.format("POST", line:sub(1, tab - 1), headers, line:sub(tab + 1))
    end
    n = n + 1
  end
  total = k
  sent = 0
  successes = 0
  failures = 0
  exhausted = 0
  -- Thread 0 is initialized first: it starts the file afresh; the others add to it.
  local ready = assert(io.open(ready_path, id == 0 and "w" or "a"))
  ready:write(".")
  ready:close()
  waiting = nthreads > 1
  -- The process's CPU so far. In the last thread to be initialized (id T-1) that is what wrk
  -- spent reading and formatting every thread's callbacks before any thread posted;
  -- bench_report leaves it out of wrk's CPU per callback.
  setup_cpu = os.clock()
  -- wrk calls thread 0's request() once from its main thread, before starting any thread, to
  -- check what it returns: that call must neither wait nor use a callback up.
  checking = id == 0
end

local function threads_ready()
  local f = io.open(ready_path, "r")
  if not f then return 0 end
  local n = #f:read("*a")
  f:close()
  return n
end

function request()
  if checking then
    checking = false
    return requests[1] or wrk.format("GET", "/healthz")
  end
  if waiting then
    while threads_ready() < nthreads do ffi.C.usleep(1000) end
    waiting = false
  end
  if sent >= total then
    -- Nothing fresh left: stop rather than post a duplicate (which would be cheaper).
    exhausted = 1
    wrk.thread:stop()
    return wrk.format("GET", "/healthz")
  end
  sent = sent + 1
  return requests[sent]
end

function response(status, headers, body)
  if status == 200 and (body:find('"return_code":1', 1, true) or body:find('"error":0', 1, true)) then
    successes = successes + 1
  elseif exhausted == 1 and status == 200 and body:find('"status"', 1, true) then
    -- the /healthz sent while stopping
  else
    failures = failures + 1
    if failures <= 3 then
      io.stderr:write(string.format("wrk: thread %d: HTTP %d %s\n", id, status, body:sub(1, 200)))
    end
  end
end

function done(summary, latency, requests)
  os.remove(threads[1]:get("ready_path"))
  local ok, bad, out, posted = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    ok = ok + (t:get("successes") or 0)
    bad = bad + (t:get("failures") or 0)
    out = out + (t:get("exhausted") or 0)
    posted = posted + (t:get("sent") or 0)
  end
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format("bench_requests=%d\n", summary.requests))
  io.write(string.format("bench_posted=%d\n", posted))
  io.write(string.format("bench_success=%d\n", ok))
  io.write(string.format("bench_failure=%d\n", bad))
  io.write(string.format("bench_socket_errors=%d\n", e.connect + e.read + e.write + e.timeout))
  io.write(string.format("bench_non2xx=%d\n", e.status))
  io.write(string.format("bench_threads_exhausted=%d\n", out))
  io.write(string.format("bench_seconds=%.3f\n", secs))
  io.write(string.format("bench_rps=%.1f\n", ok / secs))
  io.write(string.format("bench_p50_ms=%.3f\n", latency:percentile(50) / 1000))
  io.write(string.format("bench_p90_ms=%.3f\n", latency:percentile(90) / 1000))
  io.write(string.format("bench_p99_ms=%.3f\n", latency:percentile(99) / 1000))
  io.write(string.format("bench_max_ms=%.3f\n", latency.max / 1000))
  io.write(string.format("bench_setup_cpu_s=%.3f\n", threads[#threads]:get("setup_cpu") or 0))
end
