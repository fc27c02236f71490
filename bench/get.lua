-- wrk: an authenticated GET of PATH (default the 90-day summary) with the token in TOKEN; no
-- TOKEN: an anonymous GET (the /healthz anchor).
local token = os.getenv("TOKEN")
local path = os.getenv("PATH_TO_GET") or "/v1/journal/summary?days=90"
function request()
  local headers = {}
  if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
  return wrk.format("GET", path, headers)
end

done = dofile(os.getenv("BENCH_DIR") .. "/report.lua")
