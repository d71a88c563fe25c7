/**
 * The event the connecting hook is asked with (`ConnectEvent`). Its two header maps — the
 * request's own and the emulated ones from `ConnectRequest.headers` — are built on first read:
 * most connects never read them (a proxy and `client.user_id_http_header` do), and a connection
 * storm should not pay for maps nobody reads. The event holds the raw headers it needs, so it
 * stays whole after the session releases its opening request.
 */
import type { ConnectRequest, SubscribeRequest } from '../../protocol/types.js';
import type { ClientContext, ConnectEvent } from '../events.js';

type RawHeaders = Readonly<Record<string, string | string[] | undefined>>;

const NO_SUBS: Readonly<Record<string, never>> = Object.freeze({});
const NO_HEADERS: ReadonlyMap<string, string> = new Map();

export class ConnectingEvent implements ConnectEvent {
  readonly token: string;
  readonly data: Uint8Array | undefined;
  readonly name: string;
  readonly version: string;
  readonly subs: Readonly<Record<string, SubscribeRequest>>;
  readonly #rawHttp: RawHeaders;
  readonly #rawEmulated: Readonly<Record<string, string>> | undefined;
  #http: ReadonlyMap<string, string> | undefined;
  #emulated: ReadonlyMap<string, string> | undefined;
  readonly #rawMetadata: Readonly<Record<string, string>> | undefined;
  #metadata: ReadonlyMap<string, string> | undefined;

  /** `httpHeaders`: the opening request's headers as node:http gives them. */
  constructor(
    readonly client: ClientContext,
    req: ConnectRequest,
    httpHeaders: RawHeaders,
    metadata?: Readonly<Record<string, string>>,
  ) {
    this.#rawMetadata = metadata;
    this.token = req.token ?? '';
    this.data = req.data;
    this.name = req.name ?? '';
    this.version = req.version ?? '';
    this.subs = req.subs ?? NO_SUBS;
    this.#rawHttp = httpHeaders;
    this.#rawEmulated = req.headers;
  }

  get headers(): ReadonlyMap<string, string> {
    return (this.#http ??= requestHeaders(this.#rawHttp));
  }

  get emulatedHeaders(): ReadonlyMap<string, string> {
    return (this.#emulated ??= emulatedHeaders(this.#rawEmulated));
  }

  get metadata(): ReadonlyMap<string, string> {
    return (this.#metadata ??= emulatedHeaders(this.#rawMetadata));
  }
}

/**
 * node:http's headers as a map: names are already lower-case; the one header it keeps as an
 * array (`set-cookie`) is joined by ", " like the ones it joins itself.
 */
function requestHeaders(raw: RawHeaders): ReadonlyMap<string, string> {
  const out = new Map<string, string>();
  for (const name of Object.keys(raw)) {
    const v = raw[name];
    if (v !== undefined) out.set(name, Array.isArray(v) ? v.join(', ') : v);
  }
  return out;
}

/** Names lower-cased; where two names differ only in case, the later one in the map wins. */
function emulatedHeaders(raw: Readonly<Record<string, string>> | undefined): ReadonlyMap<string, string> {
  if (raw === undefined) return NO_HEADERS;
  const out = new Map<string, string>();
  for (const name of Object.keys(raw)) out.set(name.toLowerCase(), raw[name]!);
  return out.size > 0 ? out : NO_HEADERS;
}
