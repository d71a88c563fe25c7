/**
 * Arbitraries for valid commands of the `Command` union, in the canonical form both decoders
 * produce: optional fields are absent or non-zero (proto3 drops zero values), booleans are `true`
 * when present, maps are non-empty, strings are well-formed Unicode, integers fit their proto type
 * and stay exact in a double. `bytes` payloads come from the protocol's payload arbitrary.
 */
import fc from 'fast-check';
import type { Command, ConnectRequest, FilterNode, HistoryRequest, SubscribeRequest } from '../../../src/protocol/types.js';
import { setMember } from './wire.js';

/** Any well-formed Unicode string (astral code points included, no lone surrogates). */
export const text = fc.string({ unit: 'binary', maxLength: 16 });
const nonEmpty = fc.string({ unit: 'binary', minLength: 1, maxLength: 16 });
/** Records with Object.prototype, as decoders build them (fast-check defaults to none). */
const PLAIN = { noNullPrototype: true } as const;
const yes = fc.constant(true as const);
const uint32 = fc.bigInt({ min: 1n, max: 0xffff_ffffn }).map(Number);
const positiveOffset = fc.maxSafeNat().filter((n) => n > 0);
const int64 = fc.maxSafeInteger().filter((n) => n !== 0);
const int32 = fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }).filter((n) => n !== 0);
/** Map keys: any string, with the keys that could touch a prototype among them. */
const mapKey = fc.oneof(text, fc.constantFrom('__proto__', 'constructor', 'toString', ''));

/** A non-empty map from an arbitrary of entries, `__proto__` kept as an ordinary key. */
function nonEmptyMap<V>(value: fc.Arbitrary<V>): fc.Arbitrary<Record<string, V>> {
  return fc.uniqueArray(fc.tuple(mapKey, value), { minLength: 1, maxLength: 3, selector: ([k]) => k }).map((entries) => {
    const m: Record<string, V> = {};
    for (const [k, v] of entries) setMember(m, k, v);
    return m;
  });
}

const filterNode: fc.Arbitrary<FilterNode> = fc.letrec<{ node: FilterNode }>((tie) => ({
  node: fc.record({
    op: fc.oneof(fc.constantFrom('', 'and', 'or', 'not'), text),
    key: text,
    cmp: fc.oneof(fc.constantFrom('eq', 'neq', 'in', 'nin', 'ex', 'nex', 'sw', 'ew', 'ct', 'lt', 'lte', 'gt', 'gte'), text),
    val: text,
    vals: fc.array(text, { maxLength: 3 }),
    nodes: fc.oneof({ depthSize: 'small', maxDepth: 4 }, fc.constant<FilterNode[]>([]), fc.array(tie('node'), { maxLength: 3 })),
  }, PLAIN),
})).node;

function subscribeRequest(payload: fc.Arbitrary<Uint8Array>): fc.Arbitrary<SubscribeRequest> {
  return fc.record(
    {
      channel: text,
      token: nonEmpty,
      recover: yes,
      epoch: nonEmpty,
      offset: positiveOffset,
      data: payload,
      positioned: yes,
      recoverable: yes,
      joinLeave: yes,
      delta: nonEmpty,
      flag: int64,
      tf: filterNode,
    },
    { requiredKeys: ['channel'], noNullPrototype: true },
  );
}

/** A valid bare ConnectRequest (also the body of the unidirectional transports). */
export function connectRequest(payload: fc.Arbitrary<Uint8Array>): fc.Arbitrary<ConnectRequest> {
  return fc.record(
    {
      token: nonEmpty,
      data: payload,
      subs: nonEmptyMap(subscribeRequest(payload)),
      name: nonEmpty,
      version: nonEmpty,
      headers: nonEmptyMap(text),
      flag: int64,
    },
    { requiredKeys: [], noNullPrototype: true },
  );
}

const historyRequest: fc.Arbitrary<HistoryRequest> = fc.record(
  {
    channel: text,
    limit: int32,
    since: fc.record({ offset: fc.oneof(fc.constant(0), positiveOffset), epoch: text }, PLAIN),
    reverse: yes,
  },
  { requiredKeys: ['channel'], noNullPrototype: true },
);

const channelOnly = fc.record({ channel: text }, PLAIN);

/** Any valid Command; every kind is equally likely. */
export function command(payload: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Command> {
  const optData = fc.record({ data: payload }, { requiredKeys: [], noNullPrototype: true });
  return fc.oneof(
    fc.record({ id: uint32, req: connectRequest(payload) }).map(({ id, req }): Command => ({ id, kind: 'connect', req })),
    fc.record({ id: uint32, req: subscribeRequest(payload) }).map(({ id, req }): Command => ({ id, kind: 'subscribe', req })),
    fc.record({ id: uint32, req: channelOnly }).map(({ id, req }): Command => ({ id, kind: 'unsubscribe', req })),
    fc.record({ id: uint32, req: fc.record({ channel: text, data: payload }, { requiredKeys: ['channel'], noNullPrototype: true }) }).map(
      ({ id, req }): Command => ({ id, kind: 'publish', req }),
    ),
    fc.record({ id: uint32, req: channelOnly }).map(({ id, req }): Command => ({ id, kind: 'presence', req })),
    fc.record({ id: uint32, req: channelOnly }).map(({ id, req }): Command => ({ id, kind: 'presence_stats', req })),
    fc.record({ id: uint32, req: historyRequest }).map(({ id, req }): Command => ({ id, kind: 'history', req })),
    uint32.map((id): Command => ({ id, kind: 'ping' })),
    // A send expects no reply, so its id may be 0 (what the SDK sends).
    fc.record({ id: fc.oneof(fc.constant(0), uint32), req: optData }).map(({ id, req }): Command => ({ id, kind: 'send', req })),
    fc.record({ id: uint32, req: fc.record({ data: payload, method: nonEmpty }, { requiredKeys: [], noNullPrototype: true }) }).map(
      ({ id, req }): Command => ({ id, kind: 'rpc', req }),
    ),
    fc.record({ id: uint32, req: fc.record({ token: nonEmpty }, { requiredKeys: [], noNullPrototype: true }) }).map(({ id, req }): Command => ({ id, kind: 'refresh', req })),
    fc.record({ id: uint32, req: fc.record({ channel: text, token: nonEmpty }, { requiredKeys: ['channel'], noNullPrototype: true }) }).map(
      ({ id, req }): Command => ({ id, kind: 'sub_refresh', req }),
    ),
    fc.constant<Command>({ id: 0, kind: 'pong' }),
  );
}
