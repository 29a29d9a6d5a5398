-- Token bucket of one API key, shared by every ingest replica (Redis keeps the state and the clock).
-- KEYS[1]: the bucket (hash: tokens, at_ms)
-- ARGV[1]: rate (tokens per second, > 0); ARGV[2]: burst (capacity); ARGV[3]: cost (articles in the request)
-- Returns {allowed (1/0), tokens left (floor), wait before retrying in ms}.
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
-- Redis's clock, not the replica's: replicas with skewed clocks must not mint tokens.
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at_ms')
local tokens = tonumber(state[1]) or burst
local at_ms = tonumber(state[2]) or now_ms
tokens = math.min(burst, tokens + math.max(0, now_ms - at_ms) * rate / 1000)
local allowed = 0
local wait_ms = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  wait_ms = math.ceil((cost - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at_ms', tostring(now_ms))
-- A full bucket needs no state: let it expire once it would have refilled.
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, math.floor(tokens), wait_ms}
