-- Hand a slot back (only its holder can), resting it, and notify one blocked waiter.
-- KEYS[1] slots, KEYS[2] holders, KEYS[3] hand-back notices (list)
-- ARGV[1] slot, ARGV[2] token, ARGV[3] rest in ms, ARGV[4] slots (notices kept),
-- ARGV[5] lease in ms (notices expire with it). Returns 1 when released, 0 otherwise.
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then
  return 0
end
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[3]), ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('LPUSH', KEYS[3], ARGV[1])
redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[4]) - 1)
redis.call('PEXPIRE', KEYS[3], tonumber(ARGV[5]))
return 1
