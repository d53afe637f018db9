-- labctl's report for wrk: after wrk's own human-readable summary, one machine-readable line
--   LABCTL-WRK-RESULT {"requests": ..., "p50_us": ..., ...}
-- with the figures labctl shows, straight from wrk's own counters and latency histogram
-- (microseconds). labctl parses this line instead of the human text.
--
-- Only done() is defined: defining request() or response() would make wrk call into Lua for
-- every request and slow it down. Hence "status" below is wrk's own count of responses with a
-- status of 400 or more (wrk treats 1xx-3xx as success).

local function num(x)
  return string.format("%.0f", x or 0)
end

done = function(summary, latency, requests)
  local e = summary.errors
  local fields = {
    '"requests":' .. num(summary.requests),
    '"duration_us":' .. num(summary.duration),
    '"bytes":' .. num(summary.bytes),
    '"errors_connect":' .. num(e.connect),
    '"errors_read":' .. num(e.read),
    '"errors_write":' .. num(e.write),
    '"errors_timeout":' .. num(e.timeout),
    '"errors_status":' .. num(e.status),
    '"min_us":' .. num(latency.min),
    '"mean_us":' .. num(latency.mean),
    '"stdev_us":' .. num(latency.stdev),
    '"p50_us":' .. num(latency:percentile(50)),
    '"p75_us":' .. num(latency:percentile(75)),
    '"p90_us":' .. num(latency:percentile(90)),
    '"p99_us":' .. num(latency:percentile(99)),
    '"p999_us":' .. num(latency:percentile(99.9)),
    '"max_us":' .. num(latency.max),
  }
  io.write("LABCTL-WRK-RESULT {" .. table.concat(fields, ",") .. "}\n")
end
