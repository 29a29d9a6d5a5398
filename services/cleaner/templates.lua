-- Source templates: match an article's lines against its source's count-min sketch, then learn from it.
--
-- KEYS[1] sketch (string of depth*width 8-bit counters), KEYS[2] meta (hash: articles, name),
-- KEYS[3] recent article identities (sorted set, score = arrival), KEYS[4] registry of sources (sorted set).
-- ARGV: now, ttl_s, width, depth, halve_after, max_identities, max_sources,
--       key_prefix, source_id, source_name, learn (1/0), n_lines, n_identities,
--       then n_lines*depth cell indices (row-major per line), then the identities.
-- Returns {articles before this one, estimate per line..., learned (1/0), evicted sources}; the caller decides
-- which estimates make a line template.
-- All keys share the caller's hash tag, so the script is one hash slot on Redis Cluster.
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local width = tonumber(ARGV[3])
local depth = tonumber(ARGV[4])
local halve_after = tonumber(ARGV[5])
local max_identities = tonumber(ARGV[6])
local max_sources = tonumber(ARGV[7])
local prefix = ARGV[8]
local source_id = ARGV[9]
local source_name = ARGV[10]
local learn = ARGV[11] == '1'
local n_lines = tonumber(ARGV[12])
local n_identities = tonumber(ARGV[13])
local cells_at = 14
local identities_at = cells_at + n_lines * depth

local articles = tonumber(redis.call('HGET', KEYS[2], 'articles') or '0')

-- Read every counter of every line in one BITFIELD call.
local estimates = {}
local values = {}
if n_lines > 0 and articles > 0 then
  local ops = {}
  for i = 0, n_lines * depth - 1 do
    ops[#ops + 1] = 'GET'
    ops[#ops + 1] = 'u8'
    ops[#ops + 1] = '#' .. ARGV[cells_at + i]
  end
  values = redis.call('BITFIELD_RO', KEYS[1], unpack(ops))
end
for line = 0, n_lines - 1 do
  local least = 0
  if articles > 0 then
    least = 255
    for row = 0, depth - 1 do
      local value = values[line * depth + row + 1]
      if value < least then least = value end
    end
  end
  estimates[line + 1] = least
end

local result = {articles}
for line = 1, n_lines do result[#result + 1] = estimates[line] end

-- A re-submission of a story already counted (same identity) teaches nothing about the template.
local seen = false
for i = 0, n_identities - 1 do
  if redis.call('ZSCORE', KEYS[3], ARGV[identities_at + i]) then seen = true end
end
if not learn or seen then
  result[#result + 1] = 0
  result[#result + 1] = 0
  return result
end

-- Conservative update: raise each line's counters to its estimate + 1 (never past 255).
local ops = {'OVERFLOW', 'SAT'}
for line = 0, n_lines - 1 do
  local target = estimates[line + 1] + 1
  for row = 0, depth - 1 do
    local value = 0
    if articles > 0 then value = values[line * depth + row + 1] end
    if value < target then
      ops[#ops + 1] = 'SET'
      ops[#ops + 1] = 'u8'
      ops[#ops + 1] = '#' .. ARGV[cells_at + line * depth + row]
      ops[#ops + 1] = target
    end
  end
end
if #ops > 2 then redis.call('BITFIELD', KEYS[1], unpack(ops)) end
articles = articles + 1

-- Decay: halve every counter and the article count, so the sketch follows the source's current template.
if articles >= halve_after then
  local sketch = redis.call('GET', KEYS[1]) or ''
  local halved = {}
  for i = 1, #sketch do halved[i] = string.char(math.floor(string.byte(sketch, i) / 2)) end
  redis.call('SET', KEYS[1], table.concat(halved))
  articles = math.floor(articles / 2)
end
redis.call('HSET', KEYS[2], 'articles', articles, 'name', source_name, 'updated', now)

for i = 0, n_identities - 1 do
  redis.call('ZADD', KEYS[3], now, ARGV[identities_at + i])
end
local excess = redis.call('ZCARD', KEYS[3]) - max_identities
if excess > 0 then redis.call('ZREMRANGEBYRANK', KEYS[3], 0, excess - 1) end

-- Bound the total: the sources not seen for the longest time go first.
redis.call('ZADD', KEYS[4], now, source_id)
local evicted = 0
local over = redis.call('ZCARD', KEYS[4]) - max_sources
if over > 0 then
  local oldest = redis.call('ZRANGE', KEYS[4], 0, over - 1)
  for _, old in ipairs(oldest) do
    -- EXPIRE with 0 deletes the key (as Redis documents), with a command the cleaner's user already has.
    for _, part in ipairs({':sketch', ':meta', ':seen'}) do redis.call('EXPIRE', prefix .. old .. part, 0) end
    redis.call('ZREM', KEYS[4], old)
    evicted = evicted + 1
  end
end
for i = 1, 4 do redis.call('EXPIRE', KEYS[i], ttl) end
result[#result + 1] = 1
result[#result + 1] = evicted
return result
