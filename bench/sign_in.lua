-- wrk: password sign-ins (Argon2id on every request), cycling through the patients in TOKENS.
local emails = {}
for line in io.lines(os.getenv("TOKENS")) do
  emails[#emails + 1] = line:match("^(%S+) ")
end

local n = 0
function request()
  n = n + 1
  local body = string.format('{"grant_type":"password","email":"%s","password":"correct horse battery"}',
    emails[n % #emails + 1])
  return wrk.format("POST", "/v1/auth/token", { ["Content-Type"] = "application/json" }, body)
end

done = dofile(os.getenv("BENCH_DIR") .. "/report.lua")
