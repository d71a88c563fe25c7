/**
 * Protobuf `Publication` and `ClientInfo` records on their own (no length prefix), in the client
 * protocol's schema: what Centrifugo's Redis engine stores in history streams and sends over
 * PUB/SUB, so Rotor and Centrifugo read each other's records.
 *
 * Decoding is strict about shape only: unknown fields are skipped, absent ones get the model's
 * defaults. A malformed record throws (protobufjs' RangeError or Error).
 */
import pb from 'protobufjs/light.js';
import type { ClientInfo, Publication } from '../types.js';
import { descriptor } from './descriptor.generated.js';

const root = pb.Root.fromJSON(descriptor as unknown as pb.INamespace);
const PublicationType = root.lookupType('centrifugal.centrifuge.protocol.Publication');
const ClientInfoType = root.lookupType('centrifugal.centrifuge.protocol.ClientInfo');

type Int64 = number | { toNumber(): number };

interface PbClientInfo {
  user: string;
  client: string;
  connInfo: Uint8Array;
  chanInfo: Uint8Array;
}

interface PbPublication {
  data: Uint8Array;
  info: PbClientInfo | null;
  offset: Int64;
  tags: Record<string, string>;
  delta: boolean;
  time: Int64;
  channel: string;
}

const num = (v: Int64): number => (typeof v === 'number' ? v : v.toNumber());

export function encodePublicationRecord(pub: Publication): Uint8Array {
  return PublicationType.encode(pub).finish();
}

export function decodePublicationRecord(bytes: Uint8Array): Publication {
  const m = PublicationType.decode(bytes) as unknown as PbPublication;
  const pub: Publication = { data: m.data, offset: num(m.offset) };
  if (m.info !== null) pub.info = clientInfoOf(m.info);
  if (Object.keys(m.tags).length > 0) pub.tags = { ...m.tags };
  if (m.delta) pub.delta = true;
  const time = num(m.time);
  if (time > 0) pub.time = time;
  if (m.channel !== '') pub.channel = m.channel;
  return pub;
}

export function encodeClientInfoRecord(info: ClientInfo): Uint8Array {
  return ClientInfoType.encode(info).finish();
}

export function decodeClientInfoRecord(bytes: Uint8Array): ClientInfo {
  return clientInfoOf(ClientInfoType.decode(bytes) as unknown as PbClientInfo);
}

/**
 * Byte fields are copied into plain Uint8Arrays: decoded ones are slices of the whole message
 * (which they would keep alive for as long as the info lives, in presence say).
 */
function clientInfoOf(m: PbClientInfo): ClientInfo {
  const info: ClientInfo = { user: m.user, client: m.client };
  if (m.connInfo.length > 0) info.connInfo = Uint8Array.from(m.connInfo);
  if (m.chanInfo.length > 0) info.chanInfo = Uint8Array.from(m.chanInfo);
  return info;
}
