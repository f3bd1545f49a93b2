-- POST the same signed sipQuery on every request; a 200 whose status is not "0" counts as an error.
local json_headers = os.getenv("BENCH_HEADERS")
wrk.method = "POST"
wrk.body = os.getenv("BENCH_QUERY")
for name, value in string.gmatch(json_headers, '"([%w%-]+)":%s*"([^"]*)"') do
  wrk.headers[name] = value
end

function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"status":"0"', 1, true) then
    wrk.thread:stop()
    io.stderr:write("unexpected answer: " .. status .. " " .. string.sub(body, 1, 200) .. "\n")
  end
end
