/**
 * Keys and Lua scripts of the Redis channel state manager (channel-state.ts); written for Rotor,
 * Centrifugo OSS has no such keys. `P` is the engine's prefix, `CH` the channel (as a hash tag
 * `{CH}` on a Redis Cluster, like every per-channel key in keys.ts), `M` a member: a node ID and
 * a generation, `<nodeId>.<gen>`.
 *
 * - `P.chstate.members.CH`  SET: the members with a subscriber of CH;
 * - `P.chstate.status.CH`   STRING: `o` occupied, `v|<deadline ms>|<left at ms>` waiting out the
 *                           vacated delay; absent: vacated;
 * - `P.chstate.vacating`    ZSET: channel → when to look at it (ms); a candidate, not the truth:
 *                           whoever finds it due asks the channel's own keys (CONFIRM);
 * - `P.chstate.nodes`       ZSET: member → expire-at (ms), refreshed by the member's heartbeat;
 * - `P.chstate.node.M`      SET: the channels M reported (a superset of where it is a member).
 *
 * A channel's two keys share its slot, so OCCUPY, LEAVE and CONFIRM are atomic per channel: of
 * two nodes racing, exactly one sees each transition and emits its event. The other keys are
 * single-key scripts (a Cluster may hold them anywhere). Every time is the Redis server's clock
 * (TIME) in whole milliseconds, so nodes with skewed clocks agree on deadlines and expiry.
 */
import { script } from './scripts.js';

export class ChannelStateKeys {
  readonly vacating: string;
  readonly nodes: string;

  /** `tagged`: wrap channels in `{}` (a Redis Cluster). */
  constructor(readonly prefix: string, private readonly tagged: boolean) {
    this.vacating = `${prefix}.chstate.vacating`;
    this.nodes = `${prefix}.chstate.nodes`;
  }

  /** KEYS of OCCUPY, LEAVE and CONFIRM: members, status. */
  channel(channel: string): [string, string] {
    const ch = this.tagged ? `{${channel}}` : channel;
    return [`${this.prefix}.chstate.members.${ch}`, `${this.prefix}.chstate.status.${ch}`];
  }

  /** The channels member `m` reported. */
  index(member: string): string {
    return `${this.prefix}.chstate.node.${member}`;
  }
}

const NOW = `local function now_ms()
  local t = redis.call('time')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/**
 * A member has a subscriber of the channel. KEYS: members, status. ARGV: 1 member.
 * Returns the time of the transition (ms) when the channel was vacated until now (emit
 * `occupied`), else 0 (already occupied, or occupied again within the vacated delay).
 */
export const CS_OCCUPY = script(
  'cs_occupy',
  `${NOW}
redis.call('sadd', KEYS[1], ARGV[1])
local st = redis.call('get', KEYS[2])
if st == 'o' then return 0 end
redis.call('set', KEYS[2], 'o')
if st then return 0 end
return now_ms()`,
);

/**
 * A member has no subscriber of the channel left. KEYS: members, status. ARGV: 1 member, 2 vacated
 * delay ms. When it was the last member of an occupied channel, the channel starts waiting out
 * the delay: returns the delay (ms) until CONFIRM may emit `vacated`; else -1.
 */
export const CS_LEAVE = script(
  'cs_leave',
  `${NOW}
redis.call('srem', KEYS[1], ARGV[1])
if redis.call('scard', KEYS[1]) > 0 then return -1 end
if redis.call('get', KEYS[2]) ~= 'o' then return -1 end
local now = now_ms()
redis.call('set', KEYS[2], 'v|' .. (now + tonumber(ARGV[2])) .. '|' .. now)
return tonumber(ARGV[2])`,
);

/**
 * Whether a waiting channel's delay ran out. KEYS: members, status. Returns {2, left-at ms} when
 * it did and nobody came back: the status is gone, emit `vacated`; {1, deadline ms, ms still to
 * wait} when it is still waiting; {0} when nothing waits (occupied again, or vacated already).
 */
export const CS_CONFIRM = script(
  'cs_confirm',
  `${NOW}
local st = redis.call('get', KEYS[2])
if not st then return {0} end
local deadline, left = string.match(st, '^v|(%d+)|(%d+)$')
if not deadline then return {0} end
local now = now_ms()
if now < tonumber(deadline) then return {1, tonumber(deadline), tonumber(deadline) - now} end
if redis.call('scard', KEYS[1]) > 0 then
  redis.call('set', KEYS[2], 'o')
  return {0}
end
redis.call('del', KEYS[2])
return {2, tonumber(left)}`,
);

/**
 * Marks a channel to be looked at in a delay, before LEAVE may start the wait, so a node dying
 * right after LEAVE leaves the wait findable. KEYS: vacating. ARGV: 1 channel, 2 delay ms.
 * Returns the score written.
 */
export const CS_MARK = script(
  'cs_mark',
  `${NOW}
local at = now_ms() + tonumber(ARGV[2])
redis.call('zadd', KEYS[1], at, ARGV[1])
return at`,
);

/**
 * Candidates due now. KEYS: vacating. ARGV: 1 limit. Returns {channel, score, ...}.
 */
export const CS_DUE = script(
  'cs_due',
  `${NOW}
return redis.call('zrangebyscore', KEYS[1], '-inf', now_ms(), 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[1]))`,
);

/**
 * Moves a candidate to `at` or drops it, unless someone rescored it since it was read at `seen`
 * (a newer wait). KEYS: vacating. ARGV: 1 channel, 2 seen score, 3 new score ('' = drop).
 */
export const CS_RESCORE = script(
  'cs_rescore',
  `local s = redis.call('zscore', KEYS[1], ARGV[1])
if not s or tonumber(s) ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] == '' then redis.call('zrem', KEYS[1], ARGV[1]) else redis.call('zadd', KEYS[1], tonumber(ARGV[3]), ARGV[1]) end
return 1`,
);

/**
 * A member's heartbeat. KEYS: nodes. ARGV: 1 member, 2 TTL ms, 3 '1' when the member must already
 * be there. Returns 0 when it had to be there and was not (it was taken for dead and swept), else 1.
 */
export const CS_HEARTBEAT = script(
  'cs_heartbeat',
  `${NOW}
if ARGV[3] == '1' and not redis.call('zscore', KEYS[1], ARGV[1]) then return 0 end
redis.call('zadd', KEYS[1], now_ms() + tonumber(ARGV[2]), ARGV[1])
return 1`,
);

/** Members whose heartbeat expired. KEYS: nodes. ARGV: 1 limit. Returns their IDs. */
export const CS_EXPIRED = script(
  'cs_expired',
  `${NOW}
return redis.call('zrangebyscore', KEYS[1], '-inf', now_ms(), 'LIMIT', 0, tonumber(ARGV[1]))`,
);

/** Drops a member from the heartbeats (its index is deleted apart: another slot). KEYS: nodes. ARGV: 1 member. */
export const CS_FORGET = script('cs_forget', `return redis.call('zrem', KEYS[1], ARGV[1])`);

/** Adds (ARGV[1] '+') or removes ('-') channels ARGV[2..] in a member's index. KEYS: index. */
export const CS_INDEX = script(
  'cs_index',
  `if ARGV[1] == '+' then return redis.call('sadd', KEYS[1], unpack(ARGV, 2)) end
return redis.call('srem', KEYS[1], unpack(ARGV, 2))`,
);

/** Up to ARGV[1] channels of a member's index. KEYS: index. */
export const CS_INDEX_SAMPLE = script('cs_index_sample', `return redis.call('srandmember', KEYS[1], tonumber(ARGV[1]))`);
