-- wrk script for benchmarks/citizen_lookup_bench.py: GET /c/certificate with a random citizen
-- session cookie per request, paced to a constant rate, figures printed as one JSON line.
--
--   wrk -t2 -c64 -d20s --latency -s citizen_lookup.lua http://127.0.0.1:PORT \
--       -- TOKENS_FILE RATE_PER_SECOND
--
-- Pacing (wrk 4.1 has no constant-rate mode; wrk2 is not packaged): each thread hands out send
-- slots at RATE / threads per second from `delay()`, so a free connection waits for the next
-- slot. When every connection is busy a request goes out after its slot; how late is counted
-- (`late_*`), because wrk measures latency from the actual send and would otherwise hide a
-- server that cannot keep up (coordinated omission). RATE 0 = as fast as the connections go.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } vx_timespec;
int clock_gettime(int clk_id, vx_timespec *tp);
]]
local ts = ffi.new("vx_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

-- per thread (each thread has its own Lua state); globals, so that done() can read them
-- with thread:get()
requests = {}
interval = 0 -- ms between the send slots of this thread
next_slot = nil
late = 0
late_max = 0
statuses = {}
non_200 = 0
checked = 0

function init(args)
  local file = assert(io.open(args[1], "r"), "cannot read the tokens file")
  for token in file:lines() do
    if #token > 0 then
      table.insert(requests, wrk.format("GET", wrk.path, {
        ["Host"] = wrk.headers["Host"],
        ["Accept"] = "text/html",
        ["Cookie"] = "vaxlink_citizen=" .. token,
      }))
    end
  end
  file:close()
  assert(#requests > 0, "no tokens in the tokens file")
  local rate = tonumber(args[2] or "0")
  local nthreads = tonumber(args[3] or "1")
  if rate > 0 then interval = 1000 * nthreads / rate end
  math.randomseed(id * 7919 + os.time())
end

function request()
  return requests[math.random(#requests)]
end

function delay()
  if interval == 0 then return 0 end
  local now = now_ms()
  if next_slot == nil then next_slot = now end
  local slot = next_slot
  next_slot = next_slot + interval
  if slot >= now then return slot - now end
  local behind = now - slot
  if behind > 10 then late = late + 1 end
  if behind > late_max then late_max = behind end
  return 0
end

function response(status, headers, body)
  if status ~= 200 then
    non_200 = non_200 + 1
    statuses[status] = (statuses[status] or 0) + 1
  elseif checked == 0 and body and body:find('id="certificate-qr"', 1, true) then
    checked = 1
  end
end

function done(summary, latency, requests)
  local late_total, late_worst, bad, ok_page = 0, 0, 0, 0
  local by_status = {}
  for _, t in ipairs(threads) do
    late_total = late_total + t:get("late")
    late_worst = math.max(late_worst, t:get("late_max"))
    bad = bad + t:get("non_200")
    ok_page = math.max(ok_page, t:get("checked"))
    for k, v in pairs(t:get("statuses")) do by_status[tostring(k)] = (by_status[tostring(k)] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(by_status) do table.insert(parts, string.format('"%s": %d', k, v)) end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, '
      .. '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, '
      .. '"non_200": %d, "status": {%s}, "page_checked": %s, '
      .. '"latency_us": {"min": %d, "mean": %.1f, "max": %d, "stdev": %.1f, '
      .. '"p50": %d, "p90": %d, "p95": %d, "p99": %d, "p999": %d}, '
      .. '"late_over_10ms": %d, "late_max_ms": %.1f}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.timeout, bad, table.concat(parts, ", "),
    ok_page == 1 and "true" or "false",
    latency.min, latency.mean, latency.max, latency.stdev,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency:percentile(99.9), late_total, late_worst))
end
