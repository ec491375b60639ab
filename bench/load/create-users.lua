-- wrk script for the closed loop: POST /users with a unique email per request. The email carries the
-- request's send time (CLOCK_REALTIME, microseconds), so the bench computes each user's latency from
-- the database afterwards: the card's stored_at minus that time.
-- Arguments (after `--`): label, requests per thread. Once a thread has sent its share its connections
-- idle (delay), so that no request is cut off; the bench interrupts wrk when the users are stored.
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock, bench_timespec *now);
]]
local now = ffi.new("bench_timespec")
local threads = {}
local counter = 1

function setup(thread)
  thread:set("thread_id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  label = args[1]
  quota = tonumber(args[2])
  sent = 0
  answered = 0
  statuses = {}
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

local function micros()
  ffi.C.clock_gettime(0, now)
  return string.format("%d%06d", tonumber(now.tv_sec), math.floor(tonumber(now.tv_nsec) / 1000))
end

function request()
  sent = sent + 1
  local body = string.format('{"name":"Bench User","email":"%s-%d-%d-%s@example.com"}', label, thread_id, sent, micros())
  return wrk.format(nil, nil, nil, body)
end

function delay()
  if sent >= quota then
    return 3600000
  end
  return 0
end

function response(status, headers, body)
  answered = answered + 1
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local parts = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for status, count in pairs(counts) do
      table.insert(parts, string.format('"%d":%d', status, count))
    end
  end
  io.write(string.format('BENCH-WRK {"statuses":[{%s}],"errors":%d}\n', table.concat(parts, "},{"), summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
