/**
 * The uni_grpc wire messages (unistream.proto): the ConnectRequest a call opens with, decoded
 * once into the protocol's `ConnectRequest`, and the Push messages it receives.
 *
 * Pushes are not encoded here. unistream.proto numbers its Push fields as the client protocol
 * does, so the Protobuf codec's bare Push is already a unistream Push; the codec prefixes it
 * with its length as a varint, which gRPC does not want (it frames each message itself), so
 * `bareMessage` returns a view past the prefix. A broadcast's encoded bytes (node/prepared.ts)
 * thus go to every uni_grpc subscriber without another encoding.
 */
import pb from 'protobufjs/light.js';
import { ProtocolDecodeError } from '../../protocol/codec.js';
import type { ConnectRequest, SubscribeRequest } from '../../protocol/types.js';
import { readUvarint32 } from '../../protocol/varint.js';
import { descriptor } from './descriptor.generated.js';
import { messageOf } from '../../util/message-of.js';

const root = pb.Root.fromJSON(descriptor as unknown as pb.INamespace);
const ConnectRequestType = root.lookupType('centrifugal.centrifugo.unistream.ConnectRequest');

/** The HTTP/2 path of `CentrifugoUniStream.Consume`. */
export const CONSUME_PATH = '/centrifugal.centrifugo.unistream.CentrifugoUniStream/Consume';

/** protobufjs gives uint64 as `Long` when the `long` package resolves, else as a number. */
type Uint64 = number | { toNumber(): number };

// As protobufjs decodes them: proto3 defaults for absent scalars, maps always objects.
interface PbSubscribeRequest {
  recover: boolean;
  epoch: string;
  offset: Uint64;
}
interface PbConnectRequest {
  token: string;
  data: Uint8Array;
  subs: Record<string, PbSubscribeRequest>;
  name: string;
  version: string;
  headers: Record<string, string>;
}

/**
 * Decodes a ConnectRequest. Only what unistream.proto defines is read: per channel in `subs`,
 * `recover`, `epoch` and `offset`. Zero values are left out, as the other codecs do. Throws
 * `ProtocolDecodeError` on malformed input; empty input is the empty request.
 */
export function decodeConnectRequest(buf: Uint8Array): ConnectRequest {
  let m: PbConnectRequest;
  try {
    m = ConnectRequestType.decode(buf) as unknown as PbConnectRequest;
  } catch (err) {
    throw new ProtocolDecodeError(`malformed ConnectRequest: ${messageOf(err)}`, { cause: err });
  }
  const r: ConnectRequest = {};
  if (m.token !== '') r.token = m.token;
  // Copied: the decoded bytes are a view of grpc-js's receive buffer.
  if (m.data.length > 0) r.data = new Uint8Array(m.data);
  const channels = Object.keys(m.subs);
  if (channels.length > 0) {
    const subs: Record<string, SubscribeRequest> = {};
    for (const channel of channels) {
      const s = m.subs[channel]!;
      const sub: SubscribeRequest = { channel };
      if (s.recover) sub.recover = true;
      if (s.epoch !== '') sub.epoch = s.epoch;
      const offset = typeof s.offset === 'number' ? s.offset : s.offset.toNumber();
      if (offset > 0) sub.offset = offset;
      // Plain assignment to `__proto__` would set the prototype instead of adding a channel.
      Object.defineProperty(subs, channel, { value: sub, writable: true, enumerable: true, configurable: true });
    }
    r.subs = subs;
  }
  if (m.name !== '') r.name = m.name;
  if (m.version !== '') r.version = m.version;
  if (Object.keys(m.headers).length > 0) r.headers = { ...m.headers };
  return r;
}

/**
 * The message inside a varint-delimited one, as a Buffer sharing its memory (grpc-js copies it
 * into its frame). The session's ping, the single byte 0, becomes the empty Push.
 */
export function bareMessage(delimited: Uint8Array): Buffer {
  const { end } = readUvarint32(delimited, 0);
  return Buffer.from(delimited.buffer, delimited.byteOffset + end, delimited.byteLength - end);
}
