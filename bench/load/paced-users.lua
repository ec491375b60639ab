-- wrk script for the open loop: POST /users on a fixed schedule, whatever the answers (wrk itself is
-- closed-loop: here each connection waits, in delay(), for the next free slot of the thread's schedule).
-- The email carries the slot's scheduled time (CLOCK_REALTIME, microseconds), so a request sent late, or
-- held back because every connection was busy, still counts its latency from when it was due.
-- Arguments (after `--`): label, requests per thread, requests per second per thread, threads.
-- Each connection's first request is a GET /healthz: wrk sends it on connecting, before any delay().
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

local function micros()
  ffi.C.clock_gettime(0, now)
  return tonumber(now.tv_sec) * 1000000 + math.floor(tonumber(now.tv_nsec) / 1000)
end

function init(args)
  label = args[1]
  quota = tonumber(args[2])
  interval = 1000000 / tonumber(args[3])
  thread_count = tonumber(args[4])
  claimed = 0
  due = {}
  first = 1
  last = 0
  statuses = {}
  started = nil
  wrk.headers["Content-Type"] = "application/json"
end

function delay()
  if claimed >= quota then
    return 3600000
  end
  local at = micros()
  started = started or at
  local slot_at = started + claimed * interval
  last = last + 1
  due[last] = { index = claimed, at = slot_at }
  claimed = claimed + 1
  return math.max(0, math.floor((slot_at - at) / 1000))
end

function request()
  local slot = due[first]
  if slot == nil then
    return wrk.format("GET", "/healthz")
  end
  due[first] = nil
  first = first + 1
  local index = slot.index * thread_count + thread_id - 1
  local body = string.format('{"name":"Bench User","email":"%s-%d-%d-%d@example.com"}', label, thread_id, index, math.floor(slot.at))
  return wrk.format("POST", "/users", nil, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local parts = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      table.insert(parts, string.format('"%d":%d', status, count))
    end
  end
  io.write(string.format('BENCH-WRK {"statuses":[{%s}],"errors":%d}\n', table.concat(parts, "},{"), summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
