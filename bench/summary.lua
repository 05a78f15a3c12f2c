-- Shared by the wrk scripts: one machine-readable line with throughput, latency
-- percentiles (microseconds) and every kind of failure. wrk counts a status of 400 or more
-- under errors.status; this API answers no 1xx or 3xx, so that is every non-2xx answer.
function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        'WRK_SUMMARY {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,' ..
        '"errors_status":%d,"errors_connect":%d,"errors_read":%d,"errors_write":%d,"errors_timeout":%d}\n',
        summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
        latency:percentile(99.9), latency.max, e.status, e.connect, e.read, e.write, e.timeout))
end
