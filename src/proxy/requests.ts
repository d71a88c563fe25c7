/**
 * What a proxy is, once configured (`ProxyEntry`), and the parts every request shares: the
 * connection's fields (proto fields 1–4), payloads in the proxy's encoding, the connection meta
 * when asked for, and the headers the proxy forwards.
 */
import type { ClientContext, KeptHeaders } from '../node/events.js';
import { ProxyCallError, type ProxyCaller, type ProxyRequestBase, type RequestPayload, type ResultPayload, type UserRequestBase } from './types.js';
import { decodeStdBase64 } from '../util/base64.js';

export interface ProxyEntry {
  readonly caller: ProxyCaller;
  /** `http_headers`: request header names forwarded, lower-case. */
  readonly httpHeaders: readonly string[];
  /** `emulated_headers`: `ConnectRequest.headers` names forwarded, lower-case. */
  readonly emulatedHeaders: readonly string[];
  /** `grpc_metadata`: uni_grpc metadata keys forwarded, lower-case. */
  readonly grpcMetadata: readonly string[];
  readonly includeConnectionMeta: boolean;
  readonly binaryEncoding: boolean;
}

const NO_HEADERS: ReadonlyMap<string, string> = new Map();

export function requestBase(c: ClientContext, p: ProxyEntry): ProxyRequestBase {
  return { client: c.clientId, transport: c.transport.name, protocol: c.transport.protocol, encoding: p.binaryEncoding ? 'binary' : 'json' };
}

/** The base plus `user` and, with `include_connection_meta`, the connection's `meta`. */
export function userRequestBase(c: ClientContext, p: ProxyEntry): UserRequestBase {
  const out: UserRequestBase = { ...requestBase(c, p), user: c.user };
  if (p.includeConnectionMeta && c.meta !== undefined) out.meta = c.meta;
  return out;
}

/** Puts `data` in the request: as bytes, or base64 in `b64data` with `binary_encoding`. */
export function setPayload(req: RequestPayload, data: Uint8Array | undefined, p: ProxyEntry): void {
  if (data === undefined || data.length === 0) return;
  if (p.binaryEncoding) req.b64data = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
  else req.data = data;
}

/**
 * A result payload's bytes: `b64*` decoded when given, else the plain field; undefined when
 * neither. Throws ProxyCallError for a `b64*` that is not standard base64 (Centrifugo answers
 * such a result with error 100).
 */
export function resultBytes(p: ResultPayload): Uint8Array | undefined {
  if (p.b64 === undefined) return p.raw;
  const bytes = decodeStdBase64(p.b64);
  if (bytes === undefined) throw new ProxyCallError('unexpected answer: a b64 field is not base64');
  return bytes;
}


/**
 * The headers a proxy forwards, in Centrifugo's precedence: emulated (`emulated_headers`) below the
 * request's own (`http_headers`); gRPC metadata (`grpc_metadata`) only for a connection that came
 * with no HTTP headers (uni_grpc). Static headers are the caller's, beneath all of these.
 */
export function forwardedHeaders(p: ProxyEntry, h: KeptHeaders | undefined): ReadonlyMap<string, string> {
  if (h === undefined || (p.httpHeaders.length === 0 && p.emulatedHeaders.length === 0 && p.grpcMetadata.length === 0)) return NO_HEADERS;
  const out = new Map<string, string>();
  for (const name of p.emulatedHeaders) {
    const v = h.emulated.get(name);
    if (v !== undefined) out.set(name, v);
  }
  for (const name of p.httpHeaders) {
    const v = h.request.get(name);
    if (v !== undefined) out.set(name, v);
  }
  if (h.request.size === 0) {
    for (const name of p.grpcMetadata) {
      const v = h.metadata.get(name);
      if (v !== undefined) out.set(name, v);
    }
  }
  return out;
}

/** Header names some proxy forwards: what a connection keeps from its connect (see `KeptHeaders`). */
export interface HeaderNeeds {
  readonly request: ReadonlySet<string>;
  readonly emulated: ReadonlySet<string>;
  readonly metadata: ReadonlySet<string>;
}

export function headerNeeds(entries: readonly ProxyEntry[]): HeaderNeeds {
  const request = new Set<string>();
  const emulated = new Set<string>();
  const metadata = new Set<string>();
  for (const e of entries) {
    for (const n of e.httpHeaders) request.add(n);
    for (const n of e.emulatedHeaders) emulated.add(n);
    for (const n of e.grpcMetadata) metadata.add(n);
  }
  return { request, emulated, metadata };
}

/** Keeps the needed names of the three maps; undefined when nothing is needed or present. */
export function keepHeaders(
  needs: HeaderNeeds,
  request: ReadonlyMap<string, string>,
  emulated: ReadonlyMap<string, string>,
  metadata: ReadonlyMap<string, string>,
): KeptHeaders | undefined {
  const pick = (names: ReadonlySet<string>, from: ReadonlyMap<string, string>): ReadonlyMap<string, string> => {
    if (names.size === 0 || from.size === 0) return NO_HEADERS;
    const out = new Map<string, string>();
    for (const n of names) {
      const v = from.get(n);
      if (v !== undefined) out.set(n, v);
    }
    return out.size > 0 ? out : NO_HEADERS;
  };
  const kept = { request: pick(needs.request, request), emulated: pick(needs.emulated, emulated), metadata: pick(needs.metadata, metadata) };
  return kept.request.size + kept.emulated.size + kept.metadata.size > 0 ? kept : undefined;
}
