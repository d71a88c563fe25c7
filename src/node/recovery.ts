/**
 * Recovery of missed publications on (re)subscribe (spec §5.4).
 *
 * Stream mode reads the stream after the client's position, bounded by
 * `client.recovery_max_publication_limit`. The result is `recovered` only when continuity is
 * proven: same epoch (or the client had none) and the publications run without a gap from the
 * client's offset + 1 up to the stream top. Cache mode returns just the latest publication.
 */
import type { HistoryFilter, HistoryResult } from '../engine/types.js';
import type { SubscriptionOptions } from './events.js';
import type { Publication, StreamPosition } from '../protocol/types.js';

/**
 * What recovery reads: a channel's stream, as `Node.history` reads it. Recovery needs nothing
 * else of the node, so it stays a leaf under it instead of joining the node/session cycle.
 */
export interface StreamReader {
  history(channel: string, filter: HistoryFilter, metaTtlMs: number): Promise<HistoryResult>;
}

export interface RecoveryResult {
  recovered: boolean;
  publications: Publication[];
  /** Stream top at the time of the read. */
  position: StreamPosition;
}

/**
 * `maxPublications`: `client.recovery_max_publication_limit` (0 = no limit); more missed
 * publications than that is not recovered.
 */
export async function recover(
  stream: StreamReader,
  maxPublications: number,
  channel: string,
  options: SubscriptionOptions,
  offset: number,
  epoch: string,
): Promise<RecoveryResult> {
  const metaTtlMs = options.historyMetaTtlMs;
  if (options.recoveryMode === 'cache') {
    const h = await stream.history(channel, { limit: 1, reverse: true }, metaTtlMs);
    const latest = h.publications[0];
    const samePosition = epoch === h.position.epoch && offset === h.position.offset;
    if (latest !== undefined && !samePosition) return { recovered: true, publications: [latest], position: h.position };
    return { recovered: samePosition, publications: [], position: h.position };
  }
  const h = await stream.history(channel, { since: { offset, epoch }, limit: maxPublications > 0 ? maxPublications : -1 }, metaTtlMs);
  const pubs = h.publications;
  const top = h.position;
  const epochOk = epoch === '' || epoch === top.epoch;
  let continuous: boolean;
  if (pubs.length === 0) continuous = top.offset === offset;
  else continuous = pubs[0]!.offset === offset + 1 && pubs[pubs.length - 1]!.offset === top.offset;
  const recovered = epochOk && continuous;
  return { recovered, publications: recovered ? pubs : [], position: top };
}
