-- The 80/10/5/5 mix for wrk (scripts/bench): list pages, get one, create, patch; ids and
-- pages uniform over the seeded range; creates use emails unique to this run.
--   wrk -s scripts/bench_mix.lua URL -- <profiles> <page limit> <run token> [<mix, e.g. 80,10,5,5>]
local profiles, limit, token, pages = 10000, 20, "run", 500
local list_to, get_to, create_to = 80, 90, 95
local created = 0
local next_thread = 0
local json_headers = { ["Content-Type"] = "application/json" }

function setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_id", next_thread)
end

function init(args)
  profiles = tonumber(args[1]) or profiles
  limit = tonumber(args[2]) or limit
  token = args[3] or token
  pages = math.ceil(profiles / limit)
  if args[4] then
    local w = {}
    for n in string.gmatch(args[4], "[0-9]+") do w[#w + 1] = tonumber(n) end
    local total = w[1] + w[2] + w[3] + w[4]
    list_to = 100 * w[1] / total
    get_to = 100 * (w[1] + w[2]) / total
    create_to = 100 * (w[1] + w[2] + w[3]) / total
  end
  math.randomseed(os.time() * 1000 + (thread_id or 0))
end

function request()
  local r = math.random(100)
  if r <= list_to then
    return wrk.format("GET", "/api/profiles?page=" .. math.random(pages) .. "&limit=" .. limit)
  elseif r <= get_to then
    return wrk.format("GET", "/api/profile/" .. math.random(profiles))
  elseif r <= create_to then
    created = created + 1
    local email = "wrk-" .. token .. "-" .. (thread_id or 0) .. "-" .. created .. "@example.test"
    local body = '{"name":"Bench User","email":"' .. email .. '","bio":"benchmark"}'
    return wrk.format("POST", "/api/profiles", json_headers, body)
  else
    local body = '{"bio":"patched by wrk ' .. created .. '"}'
    return wrk.format("PATCH", "/api/profile/" .. math.random(profiles), json_headers, body)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,' ..
    '"status_errors":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
    '"timeouts":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), e.status, e.connect, e.read, e.write, e.timeout))
end
