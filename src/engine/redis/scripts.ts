/**
 * The Redis engine's Lua scripts (written for Rotor; the key layout and the PUB/SUB framing are
 * Centrifugo's, see keys.ts and framing.ts). A script runs atomically on the server, so offsets,
 * epochs, version suppression and idempotent results never race between nodes, and the PUBLISH
 * inside it keeps PUB/SUB order equal to offset order. Every TTL argument is in milliseconds
 * (PEXPIRE), so the engine honours sub-second TTLs.
 */
import { createHash } from 'node:crypto';

export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha1: string;
}

/** A script with its SHA-1, for EVALSHA. */
export function script(name: string, source: string): LuaScript {
  return { name, source, sha1: createHash('sha1').update(source).digest('hex') };
}

/**
 * Appends a publication to a channel stream and publishes it.
 * KEYS: stream, meta, [result] (the idempotent result key, only with an idempotency key).
 * ARGV: 1 payload (protobuf Publication without offset), 2 max length, 3 stream TTL ms,
 *   4 PUB/SUB channel ('' = do not publish), 5 meta TTL ms, 6 epoch to create when none exists,
 *   7 publish command (publish | spublish), 8 result TTL ms, 9 delta ('1' frames the previous
 *   entry along), 10 version (0 = none), 11 version epoch.
 * Returns {offset, epoch, fromCache ('1'|'0'), suppressed ('1'|'0')}.
 */
export const HISTORY_ADD = script(
  'history_add',
  `local stream, meta, result = KEYS[1], KEYS[2], KEYS[3]
if result then
  local cached = redis.call('hmget', result, 'e', 's')
  -- Centrifugo's publish without history stores the result with 'e' only.
  if cached[1] then return {cached[2] or '0', cached[1], '1', '0'} end
end
local epoch = redis.call('hget', meta, 'e')
if not epoch then
  epoch = ARGV[6]
  redis.call('hset', meta, 'e', epoch)
end
local version = tonumber(ARGV[10])
if version > 0 then
  local cur = redis.call('hmget', meta, 'v', 've')
  if cur[1] and (ARGV[11] == '' or ARGV[11] == cur[2]) and version <= tonumber(cur[1]) then
    redis.call('pexpire', meta, ARGV[5])
    return {redis.call('hget', meta, 's') or '0', epoch, '0', '1'}
  end
  redis.call('hset', meta, 'v', ARGV[10], 've', ARGV[11])
end
-- Lua formats numbers with %.14g: the offset goes into IDs and frames as an exact integer string.
local offset = string.format('%d', redis.call('hincrby', meta, 's', 1))
redis.call('pexpire', meta, ARGV[5])
if offset == '1' then redis.call('del', stream) end
local prev = ''
if ARGV[9] == '1' then
  local last = redis.call('xrevrange', stream, '+', '-', 'COUNT', 1)
  if #last > 0 then prev = last[1][2][2] end
end
redis.call('xadd', stream, 'MAXLEN', ARGV[2], offset, 'd', ARGV[1])
-- Held for release (wait_replicas): a stream without a release mark gets one just below, so
-- concurrent first releases from several nodes still publish every entry.
-- Published at once (wait_replicas off on this node): a mark right below it moves up, so a later
-- release does not publish this entry again and readers are not held below it. A mark further
-- below waits for the held entries between (releasing them may send this one twice, never lose
-- one). Centrifugo nodes do not move it; a mixed cluster gets duplicates, not gaps.
if ARGV[4] == '' then
  if redis.call('hexists', meta, 'r') == 0 then redis.call('hset', meta, 'r', tonumber(offset) - 1) end
else
  local r = redis.call('hget', meta, 'r')
  if r and tonumber(r) == tonumber(offset) - 1 then redis.call('hset', meta, 'r', offset) end
end
redis.call('pexpire', stream, ARGV[3])
if ARGV[4] ~= '' then
  local msg
  if ARGV[9] == '1' then
    msg = '__d1:' .. offset .. ':' .. epoch .. ':' .. #prev .. ':' .. prev .. ':' .. #ARGV[1] .. ':' .. ARGV[1]
  else
    msg = '__p1:' .. offset .. ':' .. epoch .. '__' .. ARGV[1]
  end
  redis.call(ARGV[7], ARGV[4], msg)
end
if result then
  redis.call('hset', result, 'e', epoch, 's', offset)
  redis.call('pexpire', result, ARGV[8])
end
return {offset, epoch, '0', '0'}`,
);

/**
 * Reads a channel stream's top and, unless told not to, its publications.
 * KEYS: stream, meta. ARGV: 1 epoch to create when none exists, 2 meta TTL ms, 3 expected epoch
 * ('' = any; a different current epoch reads nothing), 4 mode ('' position only, 'f' forward,
 * 'r' reverse), 5 from ID, 6 to ID, 7 count (0 = all), 8 released only ('1' under wait_replicas:
 * the top and the entries stop at the release mark, so no reader is handed a position a failover
 * could give to another publication).
 * Returns {top, epoch, entries} where entries are XRANGE/XREVRANGE replies.
 */
export const HISTORY_READ = script(
  'history_read',
  `local stream, meta = KEYS[1], KEYS[2]
local epoch = redis.call('hget', meta, 'e')
if not epoch then
  epoch = ARGV[1]
  redis.call('hset', meta, 'e', epoch)
end
redis.call('pexpire', meta, ARGV[2])
local top = redis.call('hget', meta, 's') or '0'
if ARGV[8] == '1' then
  local r = redis.call('hget', meta, 'r')
  if r and tonumber(r) < tonumber(top) then top = r end
end
if ARGV[4] == '' or (ARGV[3] ~= '' and ARGV[3] ~= epoch) then return {top, epoch, {}} end
-- Never past the top: entries above it are not released yet (wait_replicas), or belong to an
-- epoch whose meta was lost (evicted) while its stream stayed. Bounding the range, not the
-- reply, keeps COUNT exact.
local n = tonumber(top)
local from, to = ARGV[5], ARGV[6]
if ARGV[4] == 'f' then
  if to == '+' or tonumber(to) > n then to = top end
elseif from == '+' or tonumber(from) > n then
  from = top
end
local entries
local count = tonumber(ARGV[7])
if ARGV[4] == 'f' then
  if count > 0 then entries = redis.call('xrange', stream, from, to, 'COUNT', count)
  else entries = redis.call('xrange', stream, from, to) end
else
  if count > 0 then entries = redis.call('xrevrange', stream, from, to, 'COUNT', count)
  else entries = redis.call('xrevrange', stream, from, to) end
end
return {top, epoch, entries}`,
);

/**
 * A publish without history but with an idempotency key. KEYS: result. ARGV: 1 payload (already
 * framed), 2 PUB/SUB channel, 3 publish command, 4 result TTL ms.
 * Returns '1' when a cached result suppressed the publish, else '0'.
 */
export const PUBLISH_IDEMPOTENT = script(
  'publish_idempotent',
  `if redis.call('exists', KEYS[1]) == 1 then return '1' end
redis.call(ARGV[3], ARGV[2], ARGV[1])
redis.call('hset', KEYS[1], 'e', '', 's', '0')
redis.call('pexpire', KEYS[1], ARGV[4])
return '0'`,
);

/**
 * Publishes the stream's entries not yet published, up to a given offset, in offset order: the
 * second half of a publish under `wait_replicas`, run once WAIT has confirmed that offset.
 * Replication is one ordered stream, so every entry up to it is on the replicas too; an entry a
 * failover loses was never delivered, and a subscriber cannot hold an offset that the new master
 * hands out again with other data. Meta field `r` is the highest offset published this way;
 * concurrent releases from several nodes each publish only what the others have not.
 * KEYS: stream, meta. ARGV: 1 offset, 2 epoch it was written in (a stream reset since publishes
 * nothing), 3 PUB/SUB channel, 4 publish command, 5 delta ('1' frames the previous entry along).
 * Returns the number of publications sent.
 */
export const HISTORY_RELEASE = script(
  'history_release',
  `local stream, meta = KEYS[1], KEYS[2]
local cur = redis.call('hmget', meta, 'e', 's', 'r')
if cur[1] ~= ARGV[2] then return 0 end
local upto = math.min(tonumber(ARGV[1]), tonumber(cur[2] or '0'))
-- No mark yet (the first release, or history written without wait_replicas): only this one.
local released = tonumber(cur[3] or (upto - 1))
if released >= upto then return 0 end
local prev = ''
if ARGV[5] == '1' and released > 0 then
  local last = redis.call('xrange', stream, released, released)
  if #last > 0 then prev = last[1][2][2] end
end
local entries = redis.call('xrange', stream, released + 1, upto)
for _, e in ipairs(entries) do
  local id = string.match(e[1], '^(%d+)')
  local offset = tonumber(id)
  local data = e[2][2]
  -- Entries trimmed away in between: the one before is not this one's base.
  if offset ~= released + 1 then prev = '' end
  released = offset
  local msg
  if ARGV[5] == '1' then
    msg = '__d1:' .. id .. ':' .. ARGV[2] .. ':' .. #prev .. ':' .. prev .. ':' .. #data .. ':' .. data
  else
    msg = '__p1:' .. id .. ':' .. ARGV[2] .. '__' .. data
  end
  redis.call(ARGV[4], ARGV[3], msg)
  prev = data
end
redis.call('hset', meta, 'r', upto)
return #entries`,
);
