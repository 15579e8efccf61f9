-- GCRA: reserve (or, with ARGV[3] = 0, only check) the next slot of KEYS[1]'s rate.
-- The key holds the theoretical arrival time (TAT) in microseconds of Redis's clock.
local interval = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local maxwait = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then
  tat = now
end
local wait = tat - tau - now
if wait < 0 then
  wait = 0
end
if maxwait >= 0 and wait > maxwait then
  return {0, wait}
end
local newtat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', newtat), 'PX', math.ceil((newtat - now) / 1000) + 1000)
return {1, wait}
