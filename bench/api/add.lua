-- POST sipAdd with quantity 50 and a unique group and phone name on every request.
local json_headers = os.getenv("BENCH_HEADERS")
local app_id = os.getenv("BENCH_APP")
local counter = 0
wrk.method = "POST"
for name, value in string.gmatch(json_headers, '"([%w%-]+)":%s*"([^"]*)"') do
  wrk.headers[name] = value
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"groupName":"bench%d","phoneName":"bench%d","quantity":50,"displayNum":"861000000","appId":"%s"}',
    counter, counter, app_id)
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"status":"0"', 1, true) then
    wrk.thread:stop()
    io.stderr:write("unexpected answer: " .. status .. " " .. string.sub(body, 1, 200) .. "\n")
  end
end
