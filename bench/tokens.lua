-- wrk script: GET /orders with `Authorization: Bearer <token>`, cycling through a file of tokens (one per
-- line), given after `--`. A line `DPoP <token> <proof>` sends `Authorization: DPoP <token>` and
-- `DPoP: <proof>` instead (RFC 9449 §7.1). Requests are formatted once in init(), so the per-request Lua cost is a
-- table lookup, the same for every app and scenario. done() prints one BENCH_RESULT JSON line; its
-- `issued` > `pool` means some token was sent twice (the orchestrator checks that where it matters).
-- (wrk's thread:stop() cannot end a run early: wrk divides by the full duration.)
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local path = args[1]
  if path == nil then error("usage: wrk ... -s tokens.lua <url> -- <tokens-file>") end
  reqs = {}
  n = 0
  for line in io.lines(path) do
    if #line > 0 then
      n = n + 1
      local token, proof = line:match("^DPoP (%S+) (%S+)$")
      if token then
        reqs[n] = wrk.format("GET", wrk.path, { ["Authorization"] = "DPoP " .. token, ["DPoP"] = proof })
      else
        reqs[n] = wrk.format("GET", wrk.path, { ["Authorization"] = "Bearer " .. line })
      end
    end
  end
  if n == 0 then error("no tokens in " .. path) end
  i = 0
  issued = 0
end

function request()
  i = i + 1
  if i > n then i = 1 end
  issued = issued + 1
  return reqs[i]
end

function done(summary, latency, requests)
  local issuedTotal, pool = 0, 0
  for _, t in ipairs(threads) do
    issuedTotal = issuedTotal + t:get("issued")
    pool = pool + t:get("n")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"issued":%d,"pool":%d,"status":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, issuedTotal, pool, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
