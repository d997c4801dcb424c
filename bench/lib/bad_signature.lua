-- wrk script: a GitHub-shaped push whose X-Hub-Signature-256 is wrong (right format, wrong digest), so
-- every request is authenticated and rejected with 403 before any git work. No response() callback:
-- it would make wrk parse every answer and take CPU from the server on a small machine.
wrk.method = "POST"
wrk.body = '{"ref":"refs/heads/main","after":"0123456789abcdef0123456789abcdef01234567"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Hub-Signature-256"] = "sha256=" .. string.rep("0", 64)

-- one machine-readable line for bench/run.sh
function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  io.write(string.format("bench_summary requests=%d rps=%.1f p50_us=%d p99_us=%d max_us=%d errors=%d non2xx=%d\n",
    summary.requests, summary.requests / secs, latency:percentile(50), latency:percentile(99), latency.max,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
