/**
 * The server API's result objects, shaped as Centrifugo's encoder writes them (encoding/json over
 * the API's generated structs). Most fields are omitempty there and are left out here when zero
 * or empty (the value is `undefined`, which `toJsonText` skips); the fields Centrifugo's
 * generator strips omitempty from are always written, zero or not:
 * ClientInfo `user`, `client`; PresenceResult `presence`; PresenceStatsResult `num_clients`,
 * `num_users`; HistoryResult `publications`, `epoch`, `offset`; NodeResult `uid`, `name`,
 * `version`, `num_clients`, `num_users`, `num_channels`, `num_subs`.
 */
import type { ClientInfo, Publication, StreamPosition } from '../protocol/types.js';
import type { PresenceStats } from '../node/events.js';
import type { NodeInfo } from '../node/node.js';
import type { Obj } from '../protocol/json/fields.js';
import { JsonBytes } from '../protocol/json/json-text.js';
import { dict } from '../util/dict.js';

/** A bytes field: undefined (omitted) when absent or empty. */
function bytesField(b: Uint8Array | undefined): JsonBytes | undefined {
  return b !== undefined && b.length > 0 ? new JsonBytes(b) : undefined;
}

export function clientInfoResult(c: ClientInfo): Obj {
  return { user: c.user, client: c.client, conn_info: bytesField(c.connInfo), chan_info: bytesField(c.chanInfo) };
}

export function publicationResult(p: Publication): Obj {
  return {
    data: bytesField(p.data),
    info: p.info && clientInfoResult(p.info),
    offset: p.offset || undefined,
    tags: p.tags !== undefined && Object.keys(p.tags).length > 0 ? p.tags : undefined,
  };
}

/** `publish`: the stream position when the channel keeps history, else `{}`. */
export function publishResult(position: StreamPosition | undefined): Obj {
  return { offset: position?.offset || undefined, epoch: position?.epoch || undefined };
}

export function presenceResult(presence: Record<string, ClientInfo>): Obj {
  const out = dict<unknown>();
  for (const [id, info] of Object.entries(presence)) out[id] = clientInfoResult(info);
  return { presence: out };
}

export function presenceStatsResult(s: PresenceStats): Obj {
  return { num_clients: s.numClients, num_users: s.numUsers };
}

export function historyResult(publications: readonly Publication[], position: StreamPosition): Obj {
  return { publications: publications.map(publicationResult), epoch: position.epoch, offset: position.offset };
}

/** One node of the `info` result, fields in Centrifugo's order; `uptime` 0 and absent `metrics` are omitted. */
export function nodeResult(i: NodeInfo): Obj {
  return {
    uid: i.uid,
    name: i.name,
    version: i.version,
    num_clients: i.numClients,
    num_users: i.numUsers,
    num_channels: i.numChannels,
    uptime: i.uptime || undefined,
    metrics: i.metrics,
    process: i.process,
    num_subs: i.numSubs,
  };
}

/**
 * `batch`: `{"replies":[…]}`, the whole HTTP response (no `result` wrapper, see
 * `BARE_RESPONSE_METHODS`). `replies` is omitempty in Centrifugo: an empty batch answers `{}`.
 */
export function batchResult(replies: Obj[]): Obj {
  return { replies: replies.length > 0 ? replies : undefined };
}
