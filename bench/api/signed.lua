-- Signed voice API requests for wrk. BENCH_HEADERS carries Api-Key, Timestamp and Sign (valid for
-- the whole run); BENCH_MODE "query" posts the same sipQuery (BENCH_QUERY) every time, "add" posts
-- a sipAdd of 50 phones with a new group and phone name each time. A 200 whose status is not "0"
-- stops the run with the answer on stderr.
local mode = os.getenv("BENCH_MODE")
local app_id = os.getenv("BENCH_APP")
local counter = 0
wrk.method = "POST"
wrk.body = os.getenv("BENCH_QUERY")
for name, value in string.gmatch(os.getenv("BENCH_HEADERS"), '"([%w%-]+)":%s*"([^"]*)"') do
  wrk.headers[name] = value
end

if mode == "add" then
  function request()
    counter = counter + 1
    local body = string.format(
      '{"groupName":"bench%d","phoneName":"bench%d","quantity":50,"displayNum":"861000000","appId":"%s"}',
      counter, counter, app_id)
    return wrk.format(nil, nil, nil, body)
  end
end

function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"status":"0"', 1, true) then
    wrk.thread:stop()
    io.stderr:write("unexpected answer: " .. status .. " " .. string.sub(body, 1, 200) .. "\n")
  end
end
