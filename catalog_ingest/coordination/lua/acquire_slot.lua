-- Take a free request slot of a provider, or say how long until one may be free.
-- KEYS[1] slots (sorted set: slot -> instant it is free again, ms of Redis' clock)
-- KEYS[2] holders (hash: slot -> token)
-- ARGV[1] number of slots, ARGV[2] lease in ms, ARGV[3] the caller's token
-- Returns {slot, 0} when taken, {-1, ms until the earliest slot is free} otherwise.
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local slots = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
-- slots are only ever added as 0..n-1: at least `slots` members means ours all exist
if redis.call('ZCARD', KEYS[1]) < slots then
  for i = 0, slots - 1 do
    redis.call('ZADD', KEYS[1], 'NX', 0, tostring(i))
  end
end
local earliest = nil
local members = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #members, 2 do
  local member, score = members[i], tonumber(members[i + 1])
  if tonumber(member) < slots then
    if score <= now then
      redis.call('ZADD', KEYS[1], now + lease, member)
      redis.call('HSET', KEYS[2], member, ARGV[3])
      return {tonumber(member), 0}
    end
    if earliest == nil or score < earliest then
      earliest = score
    end
  end
end
return {-1, earliest - now}
