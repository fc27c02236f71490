-- wrk: authenticated PUT of a new journal entry; one patient (token) per thread, so run with as
-- many threads as connections (-t32 -c32). Tokens come from the file named by TOKENS, one
-- "email token" line per patient.
local tokens = {}
for line in io.lines(os.getenv("TOKENS")) do
  local _, token = line:match("^(%S+) (%S+)$")
  tokens[#tokens + 1] = token
end

local next_thread = 0
function setup(thread)
  next_thread = next_thread + 1
  thread:set("token", tokens[(next_thread - 1) % #tokens + 1])
  thread:set("seed", next_thread)
end

local function uuid4()
  local b = {}
  for i = 1, 16 do b[i] = math.random(0, 255) end
  b[7] = (b[7] % 16) + 64
  b[9] = (b[9] % 64) + 128
  local h = {}
  for i = 1, 16 do h[i] = string.format("%02x", b[i]) end
  return table.concat(h, "", 1, 4) .. "-" .. table.concat(h, "", 5, 6) .. "-" .. table.concat(h, "", 7, 8)
    .. "-" .. table.concat(h, "", 9, 10) .. "-" .. table.concat(h, "", 11, 16)
end

function init(args)
  math.randomseed(os.time() * 1000 + seed)
  headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
end

local n = 0
function request()
  n = n + 1
  -- Entries spread over the last 30 days, an hour apart per thread and request.
  local at = os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() - 3600 - (n * 3607) % (30 * 86400))
  local body = string.format('{"recorded_at":"%s","pain":%d,"symptoms":[],"notes":"bench"}', at, n % 8)
  return wrk.format("PUT", "/v1/journal/entries/" .. uuid4(), headers, body)
end

done = dofile(os.getenv("BENCH_DIR") .. "/report.lua")
