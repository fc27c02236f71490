-- wrk: the patient's own 90-day summary; the token is in TOKEN.
local token = os.getenv("TOKEN")
function request()
  return wrk.format("GET", "/v1/journal/summary?days=90", { ["Authorization"] = "Bearer " .. token })
end

done = dofile(os.getenv("BENCH_DIR") .. "/report.lua")
