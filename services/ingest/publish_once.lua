-- Add a request's articles of one partition to its raw stream, at most once per Idempotency-Key.
-- KEYS[1]: the partition's raw stream; KEYS[2] (only with an Idempotency-Key): the request's record,
--          in the same hash slot, so the check, the XADDs and the record are one atomic step.
-- ARGV[1]: record TTL (s); ARGV[2]: fingerprint of the request body; ARGV[3]: number of entries;
--          then per entry: its field count n, then its n field names and values, alternating.
-- Returns {'written', ids...}, {'replayed', ids...} (the record's ids) or {'mismatch'} (same key, other body).
local record_key = KEYS[2]
if record_key then
  local stored = redis.call('GET', record_key)
  if stored then
    local record = cjson.decode(stored)
    if record['fingerprint'] ~= ARGV[2] then
      return {'mismatch'}
    end
    return {'replayed', unpack(record['ids'])}
  end
end
local ids = {}
local position = 4
for i = 1, tonumber(ARGV[3]) do
  local count = tonumber(ARGV[position])
  local fields = {}
  for j = 1, count do
    fields[j] = ARGV[position + j]
  end
  ids[i] = redis.call('XADD', KEYS[1], '*', unpack(fields))
  position = position + count + 1
end
if record_key then
  redis.call('SET', record_key, cjson.encode({fingerprint = ARGV[2], ids = ids}), 'EX', tonumber(ARGV[1]))
end
return {'written', unpack(ids)}
