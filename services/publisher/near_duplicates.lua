-- The near-duplicate index: for each article of a batch (in order), the most similar earlier article of the
-- same story within the window; then the batch is indexed. One call per batch, so the work is one round trip
-- and two publisher workers never miss each other's articles between a lookup and an insert.
--
-- KEYS[1] the index's key prefix, ending with ':' (every key below starts with it and shares its hash tag,
-- so the script is one hash slot on Redis Cluster).
-- ARGV: now, since (oldest score still in the window), window_s, threshold, candidates_per_band, n_items,
--       then per item: article id, encoded signature (hex values joined by ','), n_bands, the bands.
-- Returns per item: root ('' when nothing matched), equal bins, compared bins (similarity = equal / compared).
-- Every read happens before the first write, so a Redis at maxmemory refuses the batch before it changed anything.
local prefix = KEYS[1]
local now = ARGV[1]
local since = ARGV[2]
local window_s = ARGV[3]
local threshold = tonumber(ARGV[4])
local per_band = tonumber(ARGV[5])
local n_items = tonumber(ARGV[6])
local EMPTY = 'ffffffff'

local function parse(encoded)
  local values = {}
  for value in string.gmatch(encoded, '[^,]+') do
    values[#values + 1] = value
  end
  return values
end

-- Stored articles: id -> {root, values}, or false when its signature has expired.
local stored = {}
local function stored_article(id)
  local known = stored[id]
  if known == nil then
    local value = redis.call('GET', prefix .. 'sig:' .. id)
    known = false
    if value then
      local bar = string.find(value, '|', 1, true)
      if bar then
        known = {string.sub(value, 1, bar - 1), parse(string.sub(value, bar + 1))}
      end
    end
    stored[id] = known
  end
  return known
end

local items = {}
local position = 7
for i = 1, n_items do
  local item = {id = ARGV[position], encoded = ARGV[position + 1], bands = {}}
  item.values = parse(item.encoded)
  local n_bands = tonumber(ARGV[position + 2])
  for b = 1, n_bands do
    item.bands[b] = ARGV[position + 2 + b]
  end
  position = position + 3 + n_bands
  items[i] = item
end

local replies = {}
-- Earlier articles of this batch, per band: {id, root, values}.
local batch_bands = {}
for i, item in ipairs(items) do
  local pool = {}
  local pooled = {}
  -- An earlier article of the batch shares most bands with a near-duplicate: compare it once, not once per band.
  local pooled_entries = {}
  for _, band in ipairs(item.bands) do
    local members = redis.call('ZREVRANGEBYSCORE', prefix .. 'band:' .. band, '+inf', since, 'LIMIT', 0, per_band)
    for _, member in ipairs(members) do
      if member ~= item.id and not pooled[member] then
        pooled[member] = true
        local known = stored_article(member)
        if known then
          pool[#pool + 1] = {member, known[1], known[2]}
        end
      end
    end
    local earlier = batch_bands[band]
    if earlier then
      for e = math.max(1, #earlier - per_band + 1), #earlier do
        local entry = earlier[e]
        if not pooled_entries[entry] then
          pooled_entries[entry] = true
          pool[#pool + 1] = entry
        end
      end
    end
  end
  local best_root, best_equal, best_compared, best = '', 0, 0, -1
  for _, candidate in ipairs(pool) do
    local other = candidate[3]
    if candidate[1] ~= item.id and #other == #item.values then
      local compared, equal = 0, 0
      for v = 1, #other do
        local mine, theirs = item.values[v], other[v]
        if mine ~= EMPTY or theirs ~= EMPTY then
          compared = compared + 1
          if mine == theirs then
            equal = equal + 1
          end
        end
      end
      if compared > 0 then
        local similarity = equal / compared
        if similarity >= threshold and similarity > best then
          best, best_root, best_equal, best_compared = similarity, candidate[2], equal, compared
        end
      end
    end
  end
  item.root = best_root ~= '' and best_root or item.id
  local entry = {item.id, item.root, item.values}
  for _, band in ipairs(item.bands) do
    local earlier = batch_bands[band]
    if not earlier then
      earlier = {}
      batch_bands[band] = earlier
    end
    earlier[#earlier + 1] = entry
  end
  replies[#replies + 1] = best_root
  replies[#replies + 1] = best_equal
  replies[#replies + 1] = best_compared
end

local touched = {}
for _, item in ipairs(items) do
  redis.call('SET', prefix .. 'sig:' .. item.id, item.root .. '|' .. item.encoded, 'EX', window_s)
  for _, band in ipairs(item.bands) do
    local key = prefix .. 'band:' .. band
    redis.call('ZADD', key, now, item.id)
    touched[key] = true
  end
end
for key in pairs(touched) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', since)
  redis.call('EXPIRE', key, window_s)
end
return replies
