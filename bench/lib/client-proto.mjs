/**
 * Client side of the Centrifugo protocol v2 for the load generator: encode Commands, decode
 * Replies (Protobuf, varint-delimited; JSON, newline-joined). Built from Rotor's compiled
 * descriptor with protobufjs.
 */
import pb from 'protobufjs/light.js';
import { descriptor } from '../../dist/protocol/protobuf/descriptor.generated.js';

const root = pb.Root.fromJSON(descriptor);
export const CommandType = root.lookupType('centrifugal.centrifuge.protocol.Command');
export const ReplyType = root.lookupType('centrifugal.centrifuge.protocol.Reply');

export const PB_PING = Buffer.from([0]);
export const JSON_PING = '{}';

export function varintPrefixed(body) {
  const head = [];
  let n = body.length;
  while (n > 0x7f) {
    head.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  head.push(n);
  return Buffer.concat([Buffer.from(head), body]);
}

/** One varint-delimited protobuf Command. */
export function encodeCommandPb(cmd) {
  return varintPrefixed(Buffer.from(CommandType.encode(CommandType.fromObject(cmd)).finish()));
}

/**
 * Calls `onReply(reply)` for each Reply in a protobuf frame. `reply` is the protobufjs message
 * (fields camelCased); an empty Reply (server ping) has id 0 and no fields.
 */
export function decodeRepliesPb(buf, onReply) {
  let off = 0;
  while (off < buf.length) {
    let len = 0;
    let shift = 0;
    let b;
    do {
      b = buf[off++];
      len |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    onReply(len === 0 ? null : ReplyType.decode(buf.subarray(off, off + len)));
    off += len;
  }
}
