#!lua name=montool

-- The functions of montool's Redis store. Every key of one client holds
-- its hash tag, so that one call sees and changes one client atomically:
--   P..'ids'   hash: event id -> fingerprint of its content
--   P..'keys'  hash: event key -> 'C' (CUMULATIVE) or 'T' (TIME-SERIES)
--   P..'cum'   hash: event key -> 'total count last'
--   P..'ts:'..key  list of 'timestamp value id' rows, in arrival order
--   P..'info'  hash: events -> count, seen -> last time seen
-- where P is the client's prefix, KEYS[1]. Go validates every event
-- before the call, so that nothing here fails half way.

-- Exact decimal addition of two numbers written as [-]digits[.digits].
local function parse(s)
  local neg = s:sub(1, 1) == '-'
  if neg then s = s:sub(2) end
  local int, frac = s:match('^(%d*)%.?(%d*)$')
  return neg, int, frac
end

-- cmp compares two digit strings of the same length.
local function cmp(a, b)
  if a == b then return 0 end
  if a < b then return -1 end
  return 1
end

local function addDigits(a, b)
  local out, carry = {}, 0
  for i = #a, 1, -1 do
    local d = a:byte(i) + b:byte(i) - 96 + carry
    carry = d >= 10 and 1 or 0
    out[i] = string.char(48 + d % 10)
  end
  local r = table.concat(out)
  if carry == 1 then r = '1' .. r end
  return r
end

-- subDigits returns a - b, for a >= b, of the same length.
local function subDigits(a, b)
  local out, borrow = {}, 0
  for i = #a, 1, -1 do
    local d = a:byte(i) - b:byte(i) - borrow
    borrow = d < 0 and 1 or 0
    out[i] = string.char(48 + (d + 10) % 10)
  end
  return table.concat(out)
end

local function add(x, y)
  local xn, xi, xf = parse(x)
  local yn, yi, yf = parse(y)
  local scale = math.max(#xf, #yf)
  xf = xf .. string.rep('0', scale - #xf)
  yf = yf .. string.rep('0', scale - #yf)
  local width = math.max(#xi, #yi)
  local a = string.rep('0', width - #xi) .. xi .. xf
  local b = string.rep('0', width - #yi) .. yi .. yf
  local neg, digits
  if xn == yn then
    neg, digits = xn, addDigits(a, b)
  elseif cmp(a, b) >= 0 then
    neg, digits = xn, subDigits(a, b)
  else
    neg, digits = yn, subDigits(b, a)
  end
  local int, frac = digits:sub(1, #digits - scale), digits:sub(#digits - scale + 1)
  int = int:gsub('^0+', '')
  frac = frac:gsub('0+$', '')
  if int == '' then int = '0' end
  local r = int
  if frac ~= '' then r = r .. '.' .. frac end
  if r == '0' then return '0' end
  if neg then r = '-' .. r end
  return r
end

-- apply applies the events of one client. KEYS[1] is the client's prefix.
-- ARGV: now, may create the client (1 or 0), max keys (0: 65536), then
-- six fields an event: id, fingerprint, type (C or T), key, timestamp,
-- value. It returns a code an event: 0 accepted, 1 duplicate, 2 id
-- conflict, 3 type conflict, 4 over the keys limit, 5 over the clients
-- limit; then 1 when it made the client, else 0.
local function apply(keys, args)
  local p = keys[1]
  local now, mayCreate, maxKeys = args[1], args[2] == '1', tonumber(args[3])
  if maxKeys == 0 then maxKeys = 65536 end
  local exists = redis.call('EXISTS', p .. 'info') == 1
  local out, accepted = {}, 0
  local nkeys
  for i = 4, #args, 6 do
    local id, fp, typ, key, ts, value = args[i], args[i + 1], args[i + 2], args[i + 3], args[i + 4], args[i + 5]
    local code
    local seen = redis.call('HGET', p .. 'ids', id)
    if not exists and not mayCreate then
      code = 5
    elseif seen then
      code = seen == fp and 1 or 2
    else
      local t = redis.call('HGET', p .. 'keys', key)
      if t and t ~= typ then
        code = 3
      elseif not t then
        nkeys = nkeys or redis.call('HLEN', p .. 'keys')
        if nkeys >= maxKeys then code = 4 end
      end
      if not code then
        if not t then
          redis.call('HSET', p .. 'keys', key, typ)
          nkeys = nkeys + 1
        end
        redis.call('HSET', p .. 'ids', id, fp)
        if typ == 'C' then
          local cur = redis.call('HGET', p .. 'cum', key)
          local total, count, last = '0', 0, ts
          if cur then
            local a, b, c = cur:match('^(%S+) (%d+) (%d+)$')
            total, count, last = a, tonumber(b), c
            if #ts > #last or (#ts == #last and ts > last) then last = ts end
          end
          redis.call('HSET', p .. 'cum', key, add(total, value) .. ' ' .. (count + 1) .. ' ' .. last)
        else
          redis.call('RPUSH', p .. 'ts:' .. key, ts .. ' ' .. value .. ' ' .. id)
        end
        accepted = accepted + 1
        code = 0
      end
    end
    out[#out + 1] = code
  end
  local made = 0
  if accepted > 0 then
    if not exists then made = 1 end
    redis.call('HINCRBY', p .. 'info', 'events', accepted)
    exists = true
  end
  if exists then redis.call('HSET', p .. 'info', 'seen', now) end
  out[#out + 1] = made
  return out
end

-- delete forgets a client. KEYS[1] is its prefix. It returns the number of
-- its events, or -1 when it has none.
local function delete(keys)
  local p = keys[1]
  local n = redis.call('HGET', p .. 'info', 'events')
  if not n then return -1 end
  for _, key in ipairs(redis.call('HKEYS', p .. 'keys')) do
    redis.call('DEL', p .. 'ts:' .. key)
  end
  redis.call('DEL', p .. 'ids', p .. 'keys', p .. 'cum', p .. 'info')
  return tonumber(n)
end

redis.register_function('montool_apply', apply)
redis.register_function('montool_delete', delete)
