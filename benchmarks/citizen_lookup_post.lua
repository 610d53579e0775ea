-- wrk script for benchmarks/citizen_lookup_post_bench.py: POST /c/lookup (the citizen lookup form)
-- for random people of the bench's registry, half with the right details, half with a wrong name,
-- each from a random client address (X-Forwarded-For; uvicorn trusts it from 127.0.0.1 only).
-- The CSRF token is double-submitted (cookie and header). Closed loop: as fast as the connections
-- go. Figures are printed as one JSON line.
--
--   wrk -t2 -c32 -d15s --latency -s citizen_lookup_post.lua http://127.0.0.1:PORT/c/lookup -- PEOPLE

local people = 1000
local csrf = "benchbenchbenchbenchbenchbenchbenchbench"
statuses = {}

function init(args)
  people = tonumber(args[1] or "1000")
  math.randomseed(os.time() + (id or 0))
end

function setup(thread)
  thread:set("id", math.random(1000000))
end

function request()
  local i = math.random(people)
  local name = (math.random(2) == 1) and "Nguyen Van An" or "Tran Thi Khac"
  local body = string.format("id_number=001%09d&full_name=%s&date_of_birth=14%%2F03%%2F1985",
                             i, name:gsub(" ", "+"))
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "vaxlink_csrf=" .. csrf,
    ["X-CSRF-Token"] = csrf,
    ["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255),
                                        math.random(1, 254)),
  }
  return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

local threads = {}
function setup(thread) table.insert(threads, thread) end

function done(summary, latency, requests)
  local by_status = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do by_status[tostring(k)] = (by_status[tostring(k)] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(by_status) do table.insert(parts, string.format('"%s": %d', k, v)) end
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "timeouts": %d, "status": {%s}, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.errors.timeout, table.concat(parts, ", "),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
