-- Agent-like alerts (POST /v1/alerts, no decisions: the server's profile bans the source IP), one alert per
-- request, each from a new source IP. Args: <JWT> <run id (0-255, keeps runs' IPs apart)>.
-- (LuaJIT: bit.* instead of Lua 5.3 operators.)
local token, run
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set('tid', #threads)
  table.insert(threads, thread)
end

function init(args)
  token = args[1]
  run = tonumber(args[2])
  thread_id = tid or 0
end

function request()
  counter = counter + 1
  local i = counter * 8 + thread_id
  local ip = string.format('%d.%d.%d.%d', 30 + (run % 20), bit.band(bit.rshift(i, 16), 255), bit.band(bit.rshift(i, 8), 255), bit.band(i, 255))
  local now = os.date('!%Y-%m-%dT%H:%M:%SZ')
  local body = '[{"capacity":5,"decisions":null,"events":[{"meta":[{"key":"source_ip","value":"' .. ip ..
    '"}],"timestamp":"' .. now .. '"}],"events_count":6,"labels":null,"leakspeed":"10s","message":"Ip ' .. ip ..
    ' performed bench/ingest (6 events over 1s)","remediation":true,"scenario":"bench/ingest","scenario_hash":"abc",' ..
    '"scenario_version":"0.1","simulated":false,"source":{"as_name":"","cn":"","ip":"' .. ip ..
    '","range":"","scope":"Ip","value":"' .. ip .. '"},"start_at":"' .. now .. '","stop_at":"' .. now .. '"}]'
  return wrk.format('POST', '/v1/alerts', {
    ['Authorization'] = 'Bearer ' .. token,
    ['Content-Type'] = 'application/json',
    ['User-Agent'] = 'crowdsec/v1.4.6-6~deb12u1+b1-linux-debian',
  }, body)
end

-- wrk runs with bench/wrk as its working directory (bench/lib/wrk.mjs).
done = dofile('summary.lua')
