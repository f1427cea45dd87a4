-- Bouncer lookups GET /v1/decisions?ip= over the data set bench/lib/dataset.mjs seeds:
-- (LuaJIT: bit.* instead of Lua 5.3 operators.)
-- 40% hits on listed IPs, 10% inside listed /24 ranges, 50% misses. Args: <decision count> <api key>.
local n, key
local counts = {}

function init(args)
  n = tonumber(args[1])
  key = args[2]
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

local function listed_ip(i)
  return string.format('%d.%d.%d.7', 11 + bit.rshift(i, 16), bit.band(bit.rshift(i, 8), 255), bit.band(i, 255))
end

function request()
  local r = math.random()
  local ip
  if r < 0.4 then
    local i = math.random(0, n - 1)
    if i % 100 == 0 then i = i + 1 end
    if i >= n then i = n - 2 end
    ip = listed_ip(i)
  elseif r < 0.5 then
    local j = math.random(0, math.max(0, math.floor(n / 100) - 1))
    ip = string.format('%d.%d.%d.%d', 100 + bit.rshift(j, 16), bit.band(bit.rshift(j, 8), 255), bit.band(j, 255), math.random(1, 254))
  else
    ip = string.format('%d.%d.%d.%d', 200 + math.random(0, 20), math.random(0, 255), math.random(0, 255), math.random(1, 254))
  end
  return wrk.format('GET', '/v1/decisions?ip=' .. ip, { ['X-Api-Key'] = key, ['User-Agent'] = 'crowdsec-firewall-bouncer/v0.0.25' })
end

-- wrk runs with bench/wrk as its working directory (bench/lib/wrk.mjs).
done = dofile('summary.lua')
