/**
 * Centrifugo's framing of messages on a channel's PUB/SUB channel (`P.client.CH`):
 *
 * - `__p1:OFFSET:EPOCH__` + Publication: a publication kept in history, at that position;
 * - `__d1:OFFSET:EPOCH:LEN:PREV:LEN:CUR`: the same with the previous stream entry, for deltas;
 * - `__j__` + ClientInfo: a join; `__l__` + ClientInfo: a leave;
 * - a bare Publication: a publication without history (offset 0, empty epoch).
 *
 * Publications and ClientInfos are protobuf records (protocol/protobuf/records.ts). The history
 * framings are built inside the Lua script (scripts.ts); this module builds the others and parses
 * all of them. Parsing never throws: a message that is none of these is `undefined`.
 *
 * A record's `delta` and `time` are for the broker, not for clients: Centrifugo sets `time` on
 * every record it writes, and `delta` on a bare one to say "deliver as a delta" (`__d1` says so
 * for the framed ones). Both are taken off every publication parsed here, as Centrifugo does
 * before its node sees them, so a client never gets a `time` or a `delta: true` on full data.
 */
import type { ClientInfo, Publication, StreamPosition } from '../../protocol/types.js';
import { decodeClientInfoRecord, decodePublicationRecord, encodeClientInfoRecord } from '../../protocol/protobuf/records.js';

export type PubSubMessage =
  | { kind: 'publication'; pub: Publication; position: StreamPosition; prev: Publication | undefined; delta: boolean }
  | { kind: 'join' | 'leave'; info: ClientInfo };

const UNDERSCORE = 0x5f;
const COLON = 0x3a;
const JOIN_PREFIX = Buffer.from('__j__');
const LEAVE_PREFIX = Buffer.from('__l__');

export function frameJoin(info: ClientInfo): Buffer {
  return Buffer.concat([JOIN_PREFIX, encodeClientInfoRecord(info)]);
}

export function frameLeave(info: ClientInfo): Buffer {
  return Buffer.concat([LEAVE_PREFIX, encodeClientInfoRecord(info)]);
}

export function parsePubSubMessage(msg: Buffer): PubSubMessage | undefined {
  try {
    return parse(msg);
  } catch {
    return undefined;
  }
}

function parse(msg: Buffer): PubSubMessage | undefined {
  if (msg.length >= 5 && msg[0] === UNDERSCORE && msg[1] === UNDERSCORE) {
    const tag = msg.toString('latin1', 0, 5);
    if (tag === '__j__') return { kind: 'join', info: decodeClientInfoRecord(msg.subarray(5)) };
    if (tag === '__l__') return { kind: 'leave', info: decodeClientInfoRecord(msg.subarray(5)) };
    if (tag === '__p1:') return parseP1(msg);
    if (tag === '__d1:') return parseD1(msg);
    // A Publication record never starts with "__" (0x5f is not a valid field tag of it), so
    // anything else with this start is a framing this node does not know.
    return undefined;
  }
  const pub = decodePublicationRecord(msg);
  const delta = pub.delta === true;
  return { kind: 'publication', pub: forClients(pub), position: { offset: 0, epoch: '' }, prev: undefined, delta };
}

/** A publication read from a record (PUB/SUB or a history stream), without the broker's fields. */
export function forClients(pub: Publication): Publication {
  // Only when set (records Rotor writes carry neither): a delete changes the object's shape.
  if (pub.delta !== undefined) delete pub.delta;
  if (pub.time !== undefined) delete pub.time;
  return pub;
}

/** `__p1:OFFSET:EPOCH__BODY` */
function parseP1(msg: Buffer): PubSubMessage | undefined {
  const c = msg.indexOf(COLON, 5);
  if (c < 0) return undefined;
  const end = msg.indexOf('__', c + 1, 'latin1');
  if (end < 0) return undefined;
  const offset = Number(msg.toString('latin1', 5, c));
  if (!Number.isSafeInteger(offset)) return undefined;
  const epoch = msg.toString('latin1', c + 1, end);
  const pub = forClients(decodePublicationRecord(msg.subarray(end + 2)));
  pub.offset = offset;
  return { kind: 'publication', pub, position: { offset, epoch }, prev: undefined, delta: false };
}

/** `__d1:OFFSET:EPOCH:PREVLEN:PREV:CURLEN:CUR` */
function parseD1(msg: Buffer): PubSubMessage | undefined {
  let at = 5;
  const field = (): string | undefined => {
    const c = msg.indexOf(COLON, at);
    if (c < 0) return undefined;
    const s = msg.toString('latin1', at, c);
    at = c + 1;
    return s;
  };
  const offset = Number(field());
  const epoch = field();
  const prevLen = Number(field());
  if (!Number.isSafeInteger(offset) || epoch === undefined || !Number.isSafeInteger(prevLen) || at + prevLen > msg.length) return undefined;
  const prevBytes = msg.subarray(at, at + prevLen);
  at += prevLen + 1;
  const curLen = Number(field());
  if (!Number.isSafeInteger(curLen) || at + curLen > msg.length) return undefined;
  const pub = forClients(decodePublicationRecord(msg.subarray(at, at + curLen)));
  pub.offset = offset;
  let prev: Publication | undefined;
  if (prevLen > 0) {
    prev = forClients(decodePublicationRecord(prevBytes));
    prev.offset = offset - 1;
  }
  return { kind: 'publication', pub, position: { offset, epoch }, prev, delta: true };
}
