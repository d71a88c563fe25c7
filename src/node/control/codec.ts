/**
 * Control messages on the wire: protobuf `rotor.control.Command` (control.proto), loaded from the
 * generated descriptor through `protobufjs/light`. `decodeControl` is the edge: bytes from another
 * node become a `ControlMessage`, or a reason the message is dropped. It never throws.
 */
import pb from 'protobufjs/light.js';
import type { StreamPosition } from '../../protocol/types.js';
import type { SubscriptionOptions } from '../events.js';
import { descriptor } from './descriptor.generated.js';
import type { ControlCommand, ControlMessage, NodeInfo, UserTarget } from './messages.js';
import type { UserWatchEvent } from '../watch/events.js';

/** The control schema's major version; see control.proto for when it changes. */
export const CONTROL_VERSION = 1;

const root = pb.Root.fromJSON(descriptor as unknown as pb.INamespace);
const CommandType = root.lookupType('rotor.control.Command');
const ChannelsRequestType = root.lookupType('rotor.control.ChannelsRequest');
const ChannelsResultType = root.lookupType('rotor.control.ChannelsResult');
const EmulationType = root.lookupType('rotor.control.Emulation');

/** protobufjs decodes 64-bit integers to `Long` when the `long` package resolves. */
type Int64 = number | { toNumber(): number };

function num(v: Int64 | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

const EMPTY = new Uint8Array(0);

/** A decoded bytes field: protobufjs gives an empty array, not bytes, for an absent one. */
function bytes(v: Uint8Array | readonly number[]): Uint8Array {
  return v instanceof Uint8Array ? v : EMPTY;
}

// Decoded shapes: proto3 defaults for absent scalars, null for absent messages, and absent
// (undefined or null) for unset `optional` fields.
interface PbTarget {
  user: string;
  client: string;
  session: string;
}
interface PbNode {
  uid: string;
  name: string;
  version: string;
  numClients: number;
  numUsers: number;
  numChannels: number;
  uptime: number;
  numSubs: number;
  reply: boolean;
  metrics?: { interval: number; items: Record<string, number> } | null;
  process?: { cpu: number; rss: Int64 } | null;
}
interface PbOptions {
  emitPresence: boolean;
  emitJoinLeave: boolean;
  pushJoinLeave: boolean;
  enablePositioning: boolean;
  enableRecovery: boolean;
  recoveryMode: string;
  chanInfo?: Uint8Array | null;
  data?: Uint8Array | null;
  expireAt: Int64;
  allowedDeltaTypes: string[];
  historyMetaTtlMs: Int64;
  allowTagsFilter: boolean;
}
interface PbCommand {
  version: number;
  from: string;
  node: PbNode | null;
  shutdown: object | null;
  disconnect: { target: PbTarget | null; code: number; reason: string; whitelist: string[] } | null;
  unsubscribe: { target: PbTarget | null; channel: string } | null;
  subscribe: { target: PbTarget | null; channel: string; options: PbOptions | null; since: { offset: Int64; epoch: string } | null } | null;
  refresh: { target: PbTarget | null; expired: boolean; expireAt: Int64; info?: Uint8Array | null } | null;
  surveyRequest: { id: Int64; op: string; data: Uint8Array | number[] } | null;
  surveyResponse: { id: Int64; code: number; data: Uint8Array | number[] } | null;
  watchUsers: { users: string[] } | null;
  userEvent: PbUserEvent | null;
}
interface PbUserEvent {
  type: string;
  user: string;
  client: string;
  node: string;
  time: Int64;
  channel: string;
  transport: string;
  code: number;
  reason: string;
}

export function encodeControl(from: string, c: ControlCommand): Uint8Array {
  return CommandType.encode({ version: CONTROL_VERSION, from, ...commandFields(c) }).finish();
}

function commandFields(c: ControlCommand): Record<string, unknown> {
  switch (c.kind) {
    case 'node':
      return { node: { ...c.info, reply: c.reply } };
    case 'shutdown':
      return { shutdown: {} };
    case 'disconnect':
      return { disconnect: { target: target(c.target), code: c.code, reason: c.reason, whitelist: c.whitelist } };
    case 'unsubscribe':
      return { unsubscribe: { target: target(c.target), channel: c.channel } };
    case 'subscribe':
      return { subscribe: { target: target(c.target), channel: c.channel, options: c.options, since: c.since } };
    case 'refresh':
      return { refresh: { target: target(c.target), expired: c.expired, expireAt: c.expireAt, info: c.info } };
    case 'surveyRequest':
      return { surveyRequest: { id: c.id, op: c.op, data: c.data } };
    case 'surveyResponse':
      return { surveyResponse: { id: c.id, code: c.code, data: c.data } };
    case 'watchUsers':
      return { watchUsers: { users: c.users } };
    case 'userEvent':
      return { userEvent: c.event };
  }
}

function target(t: UserTarget): PbTarget {
  return { user: t.user, client: t.client ?? '', session: t.session ?? '' };
}

/** A decoded message, or why it is dropped (logged by the caller). */
export type DecodedControl = { ok: true; message: ControlMessage } | { ok: false; reason: string };

export function decodeControl(data: Uint8Array): DecodedControl {
  let m: PbCommand;
  try {
    m = CommandType.decode(data) as unknown as PbCommand;
  } catch (e) {
    return { ok: false, reason: `undecodable control message: ${(e as Error).message}` };
  }
  if (m.version !== CONTROL_VERSION) return { ok: false, reason: `control message version ${m.version} from node ${m.from} (this node speaks ${CONTROL_VERSION})` };
  if (m.from === '') return { ok: false, reason: 'control message without a sender' };
  const command = toCommand(m);
  if (command === undefined) return { ok: false, reason: `control message from node ${m.from} has no command this node knows` };
  return { ok: true, message: { from: m.from, command } };
}

function toCommand(m: PbCommand): ControlCommand | undefined {
  if (m.node !== null) return { kind: 'node', info: nodeInfo(m.node), reply: m.node.reply };
  if (m.shutdown !== null) return { kind: 'shutdown' };
  // A user operation must name its user: an empty one would select every anonymous connection.
  if (m.disconnect !== null) {
    const d = m.disconnect;
    const target = fromTarget(d.target);
    return target && { kind: 'disconnect', target, code: d.code, reason: d.reason, whitelist: d.whitelist };
  }
  if (m.unsubscribe !== null) {
    const target = fromTarget(m.unsubscribe.target);
    return target && { kind: 'unsubscribe', target, channel: m.unsubscribe.channel };
  }
  if (m.subscribe !== null) {
    const s = m.subscribe;
    const target = fromTarget(s.target);
    const since: StreamPosition | undefined = s.since === null ? undefined : { offset: num(s.since.offset), epoch: s.since.epoch };
    return target && { kind: 'subscribe', target, channel: s.channel, options: options(s.options), since };
  }
  if (m.refresh !== null) {
    const r = m.refresh;
    const target = fromTarget(r.target);
    return target && { kind: 'refresh', target, expired: r.expired, expireAt: num(r.expireAt), info: r.info ?? undefined };
  }
  if (m.surveyRequest !== null) return { kind: 'surveyRequest', id: num(m.surveyRequest.id), op: m.surveyRequest.op, data: bytes(m.surveyRequest.data) };
  if (m.surveyResponse !== null) return { kind: 'surveyResponse', id: num(m.surveyResponse.id), code: m.surveyResponse.code, data: bytes(m.surveyResponse.data) };
  if (m.watchUsers !== null) return { kind: 'watchUsers', users: m.watchUsers.users };
  if (m.userEvent !== null) {
    const event = userEvent(m.userEvent);
    return event && { kind: 'userEvent', event };
  }
  return undefined;
}

/** The event, or undefined for a type this node does not know or one without a user. */
function userEvent(e: PbUserEvent): UserWatchEvent | undefined {
  if (e.user === '') return undefined;
  const base = { user: e.user, client: e.client, node: e.node, time: num(e.time) };
  switch (e.type) {
    case 'connect':
      return { ...base, type: 'connect', transport: e.transport };
    case 'subscribe':
      return { ...base, type: 'subscribe', channel: e.channel };
    case 'unsubscribe':
      return { ...base, type: 'unsubscribe', channel: e.channel, code: e.code, reason: e.reason };
    case 'disconnect':
      return { ...base, type: 'disconnect', code: e.code, reason: e.reason };
    default:
      return undefined;
  }
}

function nodeInfo(n: PbNode): NodeInfo {
  return {
    uid: n.uid,
    name: n.name,
    version: n.version,
    numClients: n.numClients,
    numUsers: n.numUsers,
    numSubs: n.numSubs,
    numChannels: n.numChannels,
    uptime: n.uptime,
    ...(n.metrics != null ? { metrics: { interval: n.metrics.interval, items: { ...n.metrics.items } } } : {}),
    ...(n.process != null ? { process: { cpu: n.process.cpu, rss: num(n.process.rss) } } : {}),
  };
}

/** The target, or undefined when it names no user (the message is then dropped). */
function fromTarget(t: PbTarget | null): UserTarget | undefined {
  return t === null || t.user === '' ? undefined : { user: t.user, client: t.client, session: t.session };
}

/** A Subscribe without options: every flag off, as an empty message decodes. */
const NO_OPTIONS: PbOptions = {
  emitPresence: false,
  emitJoinLeave: false,
  pushJoinLeave: false,
  enablePositioning: false,
  enableRecovery: false,
  recoveryMode: '',
  expireAt: 0,
  allowedDeltaTypes: [],
  historyMetaTtlMs: 0,
  allowTagsFilter: false,
};

function options(o: PbOptions | null = NO_OPTIONS): SubscriptionOptions {
  if (o === null) o = NO_OPTIONS;
  const out: SubscriptionOptions = {
    emitPresence: o.emitPresence,
    emitJoinLeave: o.emitJoinLeave,
    pushJoinLeave: o.pushJoinLeave,
    enablePositioning: o.enablePositioning,
    enableRecovery: o.enableRecovery,
    recoveryMode: o.recoveryMode === 'cache' ? 'cache' : 'stream',
    expireAt: num(o.expireAt),
    allowedDeltaTypes: o.allowedDeltaTypes,
    historyMetaTtlMs: num(o.historyMetaTtlMs),
    allowTagsFilter: o.allowTagsFilter,
  };
  if (o.chanInfo !== null && o.chanInfo !== undefined) out.chanInfo = o.chanInfo;
  if (o.data !== null && o.data !== undefined) out.data = o.data;
  return out;
}

/** The "channels" survey's request: the pattern each node matches its channels with. */
export function encodeChannelsRequest(pattern: string): Uint8Array {
  return ChannelsRequestType.encode({ pattern }).finish();
}

/** Throws on bytes that are not a ChannelsRequest. */
export function decodeChannelsRequest(data: Uint8Array): string {
  return (ChannelsRequestType.decode(data) as unknown as { pattern: string }).pattern;
}

/** The "channels" survey's answer: channel → subscriber count on one node. */
export function encodeChannels(channels: ReadonlyMap<string, number>): Uint8Array {
  const list: { name: string; numClients: number }[] = [];
  for (const [name, numClients] of channels) list.push({ name, numClients });
  return ChannelsResultType.encode({ channels: list }).finish();
}

/** Throws on bytes that are not a ChannelsResult. */
export function decodeChannels(data: Uint8Array): Map<string, number> {
  const m = ChannelsResultType.decode(data) as unknown as { channels: { name: string; numClients: number }[] };
  const out = new Map<string, number>();
  for (const c of m.channels) out.set(c.name, c.numClients);
  return out;
}

/** The "emulation" survey's data: commands for one session. */
export function encodeEmulation(session: string, data: Uint8Array): Uint8Array {
  return EmulationType.encode({ session, data }).finish();
}

/** Throws on bytes that are not an Emulation message. */
export function decodeEmulation(b: Uint8Array): { session: string; data: Uint8Array } {
  const m = EmulationType.decode(b) as unknown as { session: string; data: Uint8Array | number[] };
  return { session: m.session, data: bytes(m.data) };
}
