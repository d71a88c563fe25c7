/**
 * The Redis presence manager's Lua scripts (written for Rotor; the key layout is Centrifugo's, see
 * keys.ts). Every script takes the channel's keys in this order:
 *
 *   KEYS[1] `P.presence.data.CH`          HASH client ID → protobuf ClientInfo
 *   KEYS[2] `P.presence.expire.CH`        ZSET client ID → expire-at
 *   KEYS[3] `P.presence.user.clients.CH`  HASH user ID → connections of that user (user mapping only)
 *   KEYS[4] `P.presence.user.expire.CH`   ZSET user ID → expire-at (user mapping only)
 *
 * The user mapping is on exactly when KEYS[3] and KEYS[4] are passed.
 *
 * Expire-at scores are Unix time in **seconds**, as Centrifugo writes them, with a millisecond
 * fraction so sub-second TTLs work; Rotor and Centrifugo nodes on one Redis read each other's
 * entries. "Now" is the Redis server's clock (TIME), never the node's, so nodes with skewed clocks
 * agree on what expired. TIME before writes is allowed: scripts replicate by effects (the only mode
 * since Redis 7, the default since 5).
 *
 * Expired entries are purged lazily by reads (presence and stats), and the keys themselves expire
 * a TTL after the channel's last add (PEXPIRE, ms). The user mapping stays exact under expiry: a
 * purged connection decrements its user, found by decoding the stored ClientInfo's `user` field
 * (field 1) in Lua. Users whose own expire-at passed are purged too, as Centrifugo does, which
 * cleans up counts that Centrifugo nodes (whose purge does not decrement) left behind.
 */
import { script, type LuaScript } from './scripts.js';

/** Lua shared by every script: the clock, the ClientInfo user decoder, the user count release and the purge. */
const HELPERS = `local data, expire, users, user_expire = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

local function now()
  local t = redis.call('time')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end

-- A protobuf varint at byte i of s: value and the index after it, or nil when s is cut short.
local function varint(s, i)
  local v, mul = 0, 1
  while true do
    local b = string.byte(s, i)
    if b == nil or mul > 2^63 then return nil end
    i = i + 1
    v = v + (b % 128) * mul
    if b < 128 then return v, i end
    mul = mul * 128
  end
end

-- The user (field 1, a string) of a protobuf ClientInfo; '' when absent (proto3 omits an empty
-- string: an anonymous connection) or when the record is malformed.
local function user_of(info)
  local i, n = 1, #info
  while i <= n do
    local key
    key, i = varint(info, i)
    if key == nil then return '' end
    local wire = key % 8
    if wire == 0 then
      local _
      _, i = varint(info, i)
      if i == nil then return '' end
    elseif wire == 2 then
      local len
      len, i = varint(info, i)
      if len == nil then return '' end
      if key == 10 then return string.sub(info, i, i + len - 1) end
      i = i + len
    elseif wire == 1 then
      i = i + 8
    elseif wire == 5 then
      i = i + 4
    else
      return ''
    end
  end
  return ''
end

-- One connection of user u is gone: the user goes when it was the last.
local function release(u)
  if redis.call('hincrby', users, u, -1) <= 0 then
    redis.call('hdel', users, u)
    redis.call('zrem', user_expire, u)
  end
end

-- Deletes entries whose expire-at is at or before t (seconds), and their user counts.
local function purge(t)
  local cutoff = string.format('%.6f', t)
  local expired = redis.call('zrangebyscore', expire, '-inf', cutoff)
  for _, client in ipairs(expired) do
    if users then
      local info = redis.call('hget', data, client)
      if info then release(user_of(info)) end
    end
    redis.call('hdel', data, client)
  end
  if #expired > 0 then redis.call('zremrangebyscore', expire, '-inf', cutoff) end
  if users then
    local gone = redis.call('zrangebyscore', user_expire, '-inf', cutoff)
    for _, u in ipairs(gone) do redis.call('hdel', users, u) end
    if #gone > 0 then redis.call('zremrangebyscore', user_expire, '-inf', cutoff) end
  end
end
`;

function presenceScript(name: string, body: string): LuaScript {
  return script(name, `${HELPERS}\n${body}`);
}

/**
 * Adds or refreshes a connection. ARGV: 1 client ID, 2 protobuf ClientInfo, 3 TTL ms (> 0),
 * 4 its user ID. The user count goes up only for a client ID not yet present, so a refresh does
 * not count twice; a client ID re-added under another user moves to that user. The user's
 * expire-at only moves forward (ZADD GT): it is the latest of its connections'.
 */
export const PRESENCE_ADD = presenceScript(
  'presence_add',
  `local client, info, ttl, u = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local at = string.format('%.3f', now() + tonumber(ttl) / 1000)
local previous = false
if users then previous = redis.call('hget', data, client) end
redis.call('hset', data, client, info)
redis.call('zadd', expire, at, client)
redis.call('pexpire', data, ttl)
redis.call('pexpire', expire, ttl)
if users then
  if not previous then
    redis.call('hincrby', users, u, 1)
  else
    local old = user_of(previous)
    if old ~= u then
      release(old)
      redis.call('hincrby', users, u, 1)
    end
  end
  redis.call('zadd', user_expire, 'GT', at, u)
  redis.call('pexpire', users, ttl)
  redis.call('pexpire', user_expire, ttl)
end
return 0`,
);

/**
 * Removes a connection; a no-op when absent. ARGV: 1 client ID. The user count released is the
 * stored entry's user, so a caller's wrong user ID cannot skew it (as in memory presence).
 */
export const PRESENCE_REMOVE = presenceScript(
  'presence_remove',
  `local info = redis.call('hget', data, ARGV[1])
if not info then return 0 end
redis.call('hdel', data, ARGV[1])
redis.call('zrem', expire, ARGV[1])
if users then release(user_of(info)) end
return 1`,
);

/** Purges what expired, then returns HGETALL of the data hash (client ID, ClientInfo, ...). */
export const PRESENCE_GET = presenceScript(
  'presence_get',
  `purge(now())
return redis.call('hgetall', data)`,
);

/**
 * Purges what expired, then returns {clients, users}. Users: with the mapping, the user hash's
 * length; without it, the distinct `user` fields of the stored ClientInfos, counted here so the
 * records never cross the network (all anonymous connections are one user '').
 */
export const PRESENCE_STATS = presenceScript(
  'presence_stats',
  `purge(now())
local clients = redis.call('hlen', data)
if users then return {clients, redis.call('hlen', users)} end
local seen, n = {}, 0
for _, info in ipairs(redis.call('hvals', data)) do
  local u = user_of(info)
  if not seen[u] then
    seen[u] = true
    n = n + 1
  end
end
return {clients, n}`,
);
