-- Acknowledge a batch and add its outputs in one atomic step.
--
-- An output is added only when XACK really removed its input from the group's pending
-- list. A worker whose entry was reclaimed and already forwarded by another consumer
-- gets 0 from XACK and adds nothing, so a raw entry yields exactly one output.
-- Re-running the same call (after a lost reply) is therefore harmless.
--
-- XACK is deliberately the script's first write: at maxmemory (noeviction) Redis refuses a
-- script's first memory-growing write, but not the writes after one that changed data, so a
-- stage can always acknowledge and forward what Redis already accepted (the pipeline drains
-- when memory is full, and the trimming that follows frees the input).
--
-- KEYS[1] input stream, KEYS[2] output stream, KEYS[3] dead-letter stream,
-- KEYS[4] this minute's throughput counter of the stage (read by `newswire stats`),
-- KEYS[5..] revision keys of `pub` entries (same hash tag as the streams).
-- ARGV[1] group, ARGV[2] approximate MAXLEN of the output (0: no trimming),
-- ARGV[3] revision state TTL in seconds,
-- then per entry: id, kind, n, [key index, content hash, article id when kind == 'pub'],
-- then n field/value pairs.
--   kind 'out': add the pairs to the output stream.
--   kind 'dlq': add the pairs to the dead-letter stream.
--   kind 'ack': acknowledge only.
--   kind 'pub': the same content already published under this revision key is only
--               acknowledged; otherwise the revision is incremented and the event added,
--               with its `id` field set to '<article id>/r<revision>' and its `data`
--               field prefixed with '{"revision":<revision>,'.
-- Returns one status letter per entry, in order: f forwarded, d dead-lettered,
-- u unchanged re-submission (acknowledged only), s already acknowledged by another consumer.

local group = ARGV[1]
local maxlen = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local statuses = {}
local i = 4

local function add(stream, first, n, trim, id_value, data_prefix)
  local args = {stream}
  if trim and maxlen > 0 then
    args[#args + 1] = 'MAXLEN'
    args[#args + 1] = '~'
    args[#args + 1] = maxlen
  end
  args[#args + 1] = '*'
  for j = first, first + 2 * n - 1, 2 do
    local field, value = ARGV[j], ARGV[j + 1]
    if id_value and field == 'id' then
      value = id_value
    elseif data_prefix and field == 'data' then
      value = data_prefix .. value
    end
    args[#args + 1] = field
    args[#args + 1] = value
  end
  redis.call('XADD', unpack(args))
end

while i <= #ARGV do
  local id, kind, n = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  i = i + 3
  local key_index, content_hash, article_id
  if kind == 'pub' then
    key_index, content_hash, article_id = tonumber(ARGV[i]), ARGV[i + 1], ARGV[i + 2]
    i = i + 3
  end
  local acked = redis.call('XACK', KEYS[1], group, id)
  if acked == 0 then
    statuses[#statuses + 1] = 's'
  elseif kind == 'out' then
    add(KEYS[2], i, n, true)
    statuses[#statuses + 1] = 'f'
  elseif kind == 'dlq' then
    add(KEYS[3], i, n, false)
    statuses[#statuses + 1] = 'd'
  elseif kind == 'pub' then
    local key = KEYS[key_index]
    local state = redis.call('HMGET', key, 'hash', 'revision')
    if state[1] == content_hash then
      statuses[#statuses + 1] = 'u'
    else
      local revision = (tonumber(state[2]) or 0) + 1
      redis.call('HSET', key, 'hash', content_hash, 'revision', revision)
      add(KEYS[2], i, n, true, article_id .. '/r' .. revision, '{"revision":' .. revision .. ',')
      statuses[#statuses + 1] = 'f'
    end
    redis.call('EXPIRE', key, ttl)
  end
  i = i + 2 * n
end

local done = #statuses
if done > 0 then
  redis.call('INCRBY', KEYS[4], done)
  redis.call('EXPIRE', KEYS[4], 180)
end
return table.concat(statuses)
