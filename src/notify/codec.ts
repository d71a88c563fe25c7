/**
 * The gRPC wire of lifecycle events: `rotor.notify.NotifyRequest` and `NotifyResponse`
 * (notify.proto), through `protobufjs/light` and the generated descriptor. The decoders are the
 * edge for bytes from the backend (and, in tests, for what a backend receives): they never throw.
 */
import pb from 'protobufjs/light.js';
import { descriptor } from './descriptor.generated.js';
import type { LifecycleEvent } from './events.js';

const root = pb.Root.fromJSON(descriptor as unknown as pb.INamespace);
const RequestType = root.lookupType('rotor.notify.NotifyRequest');
const ResponseType = root.lookupType('rotor.notify.NotifyResponse');

/** Rotor's method, on the `lifecycle_events` endpoint. */
export const NOTIFY_METHOD = '/rotor.notify.LifecycleNotifier/Notify';
/** Centrifugo PRO's method for channel state events, on a `channel.proxy.state` endpoint. */
export const PRO_CHANNEL_STATE_METHOD = '/centrifugal.centrifugo.proxy.CentrifugoProxy/NotifyChannelState';

/** One event as decoded: proto3 defaults for what is unset. */
export interface WireEvent {
  timeMs: number;
  channel: string;
  type: string;
  client: string;
  user: string;
  code: number;
  reason: string;
  durationMs: number;
}

/** The `error` of a NotifyResponse, when set. */
export interface WireError {
  code: number;
  message: string;
  temporary: boolean;
}

/** protobufjs decodes 64-bit integers to `Long` when the `long` package resolves. */
type Int64 = number | { toNumber(): number };

function num(v: Int64 | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

function wireEvent(e: LifecycleEvent): Record<string, string | number> {
  switch (e.type) {
    case 'disconnect':
      return { type: e.type, timeMs: e.timeMs, client: e.client, user: e.user, code: e.code, reason: e.reason, durationMs: e.durationMs };
    case 'unsubscribe':
      return { type: e.type, timeMs: e.timeMs, channel: e.channel, client: e.client, user: e.user, code: e.code, reason: e.reason };
    case 'occupied':
    case 'vacated':
      return { type: e.type, timeMs: e.timeMs, channel: e.channel };
  }
}

export function encodeNotifyRequest(events: readonly LifecycleEvent[]): Buffer {
  const bytes = RequestType.encode(RequestType.fromObject({ events: events.map(wireEvent) })).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The events of a request, or an Error for bytes that are not one. */
export function decodeNotifyRequest(bytes: Uint8Array): WireEvent[] | Error {
  try {
    const m = RequestType.toObject(RequestType.decode(bytes), { defaults: true }) as { events: Array<Omit<WireEvent, 'timeMs' | 'durationMs'> & { timeMs: Int64; durationMs: Int64 }> };
    return m.events.map((e) => ({ ...e, timeMs: num(e.timeMs), durationMs: num(e.durationMs) }));
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

export function encodeNotifyResponse(error?: WireError): Buffer {
  const bytes = ResponseType.encode(ResponseType.fromObject(error === undefined ? { result: {} } : { error })).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A decoded NotifyResponse: its `error`, when set. */
export interface WireResponse {
  error?: WireError;
}

/**
 * The response, or an Error for bytes that are not one. Never null: grpc-js takes a null message
 * for no message at all.
 */
export function decodeNotifyResponse(bytes: Uint8Array): WireResponse | Error {
  try {
    const m = ResponseType.toObject(ResponseType.decode(bytes), { defaults: false }) as { error?: Partial<WireError> };
    if (m.error === undefined) return {};
    return { error: { code: m.error.code ?? 0, message: m.error.message ?? '', temporary: m.error.temporary === true } };
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}
