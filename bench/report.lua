-- The line every wrk script prints at the end, for bench/run to read.
return function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format("requests=%d per_second=%.0f p50_ms=%.2f p99_ms=%.2f errors=%d\n", summary.requests,
    summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(99) / 1000, bad))
end
