/**
 * The framing of a channel's messages on NATS, as Centrifugo's NATS broker writes them: one
 * protobuf `Push` of the client protocol (client.proto) per message, carrying the channel (field 2)
 * and one of a `Publication` (field 4), a `Join` (field 5) or a `Leave` (field 6), the last two
 * wrapping a `ClientInfo` (field 1). This differs from the Redis broker's `__p1:`/`__j__`/`__l__`
 * prefixes; keeping Centrifugo's Push is what lets Rotor and Centrifugo nodes share one NATS.
 *
 * Only the envelope is handled here, by hand (a few tags and lengths); the Publication and
 * ClientInfo records inside are the ones `protocol/protobuf/records.ts` encodes and decodes.
 * `unwrapPublication` takes off a decoded Publication what is there for the broker, not clients.
 */
import type { Publication, StreamPosition } from '../../protocol/types.js';

const FIELD_CHANNEL = 2;
const FIELD_PUB = 4;
const FIELD_JOIN = 5;
const FIELD_LEAVE = 6;
/** `Join.info` and `Leave.info`. */
const FIELD_INFO = 1;
const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;
/** The tag Centrifugo puts a publication's epoch in when it sends a stream position over NATS. */
const EPOCH_TAG = '__centrifugo_epoch';

export type PushKind = 'publication' | 'join' | 'leave';

export interface PushEnvelope {
  kind: PushKind;
  /** The channel the sender named ('' when absent). */
  channel: string;
  /** The Publication record (publication) or ClientInfo record (join, leave), still encoded. */
  record: Uint8Array;
}

/** A message that is not a Push this broker understands; the message says what is wrong. */
export class PushFormatError extends Error {
  override readonly name = 'PushFormatError';
}

const te = new TextEncoder();
const td = new TextDecoder('utf-8', { fatal: true });

/** A Push of `kind` for `channel` around an encoded Publication or ClientInfo `record`. */
export function encodePush(kind: PushKind, channel: string, record: Uint8Array): Uint8Array {
  const ch = te.encode(channel);
  const field = kind === 'publication' ? FIELD_PUB : kind === 'join' ? FIELD_JOIN : FIELD_LEAVE;
  // Join and Leave hold the ClientInfo in their field 1.
  const inner = kind === 'publication' ? record.length : 1 + varintSize(record.length) + record.length;
  const size = 1 + varintSize(ch.length) + ch.length + 1 + varintSize(inner) + inner;
  const out = new Uint8Array(size);
  let at = 0;
  out[at++] = (FIELD_CHANNEL << 3) | WIRE_LEN;
  at = putVarint(out, at, ch.length);
  out.set(ch, at);
  at += ch.length;
  out[at++] = (field << 3) | WIRE_LEN;
  at = putVarint(out, at, inner);
  if (kind !== 'publication') {
    out[at++] = (FIELD_INFO << 3) | WIRE_LEN;
    at = putVarint(out, at, record.length);
  }
  out.set(record, at);
  return out;
}

/**
 * Reads a Push envelope. Unknown fields are skipped, as protobuf readers do; a Push with none of
 * a publication, join or leave, or bytes that are not protobuf, throw PushFormatError.
 */
export function decodePush(bytes: Uint8Array): PushEnvelope {
  let channel = '';
  let found: { kind: PushKind; body: Uint8Array } | undefined;
  for (const f of fields(bytes)) {
    if (f.wire !== WIRE_LEN) continue;
    const body = f.body as Uint8Array;
    if (f.field === FIELD_CHANNEL) {
      try {
        channel = td.decode(body);
      } catch {
        throw new PushFormatError('the channel is not UTF-8');
      }
    } else if (f.field === FIELD_PUB) found = { kind: 'publication', body };
    else if (f.field === FIELD_JOIN) found = { kind: 'join', body };
    else if (f.field === FIELD_LEAVE) found = { kind: 'leave', body };
  }
  if (found === undefined) throw new PushFormatError('a Push with no publication, join or leave');
  if (found.kind === 'publication') return { kind: 'publication', channel, record: found.body };
  // An empty Join/Leave has no info: an empty ClientInfo record decodes to user '' and client ''.
  let info: Uint8Array = new Uint8Array(0);
  for (const f of fields(found.body)) if (f.field === FIELD_INFO && f.wire === WIRE_LEN) info = f.body as Uint8Array;
  return { kind: found.kind, channel, record: info };
}

interface Field {
  field: number;
  wire: number;
  /** The bytes of a length-delimited field (a view into the input). */
  body: Uint8Array | undefined;
}

function* fields(bytes: Uint8Array): Generator<Field> {
  let at = 0;
  while (at < bytes.length) {
    const [key, afterKey] = readVarint(bytes, at);
    at = afterKey;
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (field === 0) throw new PushFormatError('field number 0');
    switch (wire) {
      case WIRE_VARINT:
        at = readVarint(bytes, at)[1];
        yield { field, wire, body: undefined };
        break;
      case WIRE_I64:
      case WIRE_I32: {
        at += wire === WIRE_I64 ? 8 : 4;
        if (at > bytes.length) throw new PushFormatError('truncated fixed-size field');
        yield { field, wire, body: undefined };
        break;
      }
      case WIRE_LEN: {
        const [len, afterLen] = readVarint(bytes, at);
        if (afterLen + len > bytes.length) throw new PushFormatError(`field ${field} runs past the end (${len} bytes at ${afterLen} of ${bytes.length})`);
        yield { field, wire, body: bytes.subarray(afterLen, afterLen + len) };
        at = afterLen + len;
        break;
      }
      default:
        throw new PushFormatError(`wire type ${wire} (field ${field}) is not used by Push`);
    }
  }
}

/** An unsigned varint at `at`: its value (exact up to 2^53) and the offset after it. */
function readVarint(bytes: Uint8Array, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (at >= bytes.length) throw new PushFormatError('truncated varint');
    const b = bytes[at++] as number;
    value += (b & 0x7f) * scale;
    if (b < 0x80) return [value, at];
    scale *= 128;
  }
  throw new PushFormatError('varint longer than 10 bytes');
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function putVarint(out: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}

/**
 * Takes off what the wire carries for the broker rather than for clients: the delta flag (it says
 * whether to deliver as a delta), the publish time (Centrifugo's NATS broker does not pass it on)
 * and the epoch tag of a publication sent with a stream position.
 */
export function unwrapPublication(pub: Publication): { position: StreamPosition; useDelta: boolean } {
  const useDelta = pub.delta === true;
  delete pub.delta;
  delete pub.time;
  const position: StreamPosition = { offset: 0, epoch: '' };
  const tags = pub.tags;
  if (tags !== undefined && EPOCH_TAG in tags) {
    const epoch = tags[EPOCH_TAG] as string;
    if ((pub.offset ?? 0) > 0) {
      position.offset = pub.offset as number;
      position.epoch = epoch;
    }
    delete tags[EPOCH_TAG];
    if (Object.keys(tags).length === 0) delete pub.tags;
  }
  return { position, useDelta };
}
