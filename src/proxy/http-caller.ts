/**
 * A proxy over HTTP: each call is a `POST` of the request JSON to the endpoint, answered with
 * `200` and `{"result"|"error"|"disconnect": ...}` (spec §3.9). Connections to the backend are
 * kept alive between calls in a pool shared by every proxy on the same origin and TLS options
 * (http-pools.ts), so a connect storm does not open a TCP connection per client, and the connect
 * and subscribe proxies of one backend do not each open their own.
 *
 * Headers, from lowest to highest priority: `http.static_headers`, then the connection's forwarded
 * headers, then `Content-Type: application/json`. A status other than 200 is an error for the
 * client through `status_to_code_transforms` when one matches, else a `ProxyCallError`.
 */
import type { ConnectionOptions } from 'node:tls';
import type { Dispatcher } from 'undici';
import { HttpExchange } from './http-exchange.js';
import type { HttpPools, PoolLease } from './http-pools.js';
import { decodeAnswer, requestJson } from './json-wire.js';
import { ProxyCallError, type ProxyAnswer, type ProxyCaller, type ProxyMethod, type ProxyRequests, type ProxyResults } from './types.js';

/** Largest answer read from a backend, bytes; a longer one fails the call. */
export const PROXY_MAX_ANSWER_BYTES = 10 * 1024 * 1024;

/** A non-200 status turned into a client error or disconnect. */
export type StatusTransform =
  | { status: number; kind: 'error'; code: number; message: string; temporary: boolean }
  | { status: number; kind: 'disconnect'; code: number; reason: string };

export interface HttpProxyOptions {
  /** Logged with every failure (`ProxyCaller.name`: the config path, a `proxies[]` entry with its name). */
  name: string;
  endpoint: string;
  timeoutMs: number;
  /** Names lower-case. */
  staticHeaders: ReadonlyMap<string, string>;
  transforms: readonly StatusTransform[];
  /** `http.tls`; undefined: the system's roots for `https://`. */
  tls?: ConnectionOptions;
  /** Where the backend's pool comes from: one set per app, shared by its proxies. */
  pools: HttpPools;
}

export class HttpProxyCaller implements ProxyCaller {
  readonly name: string;
  readonly #lease: PoolLease;
  readonly #pool: Dispatcher;
  readonly #path: string;
  readonly #opts: HttpProxyOptions;
  /** Static headers and the content type: every call's headers when the connection forwards none. */
  readonly #baseHeaders: Readonly<Record<string, string>>;

  constructor(opts: HttpProxyOptions) {
    const url = new URL(opts.endpoint);
    this.name = opts.name;
    this.#opts = opts;
    this.#path = `${url.pathname}${url.search}`;
    this.#baseHeaders = Object.freeze({ ...Object.fromEntries(opts.staticHeaders), 'content-type': 'application/json' });
    this.#lease = opts.pools.acquire(url.origin, opts.tls);
    this.#pool = this.#lease.pool;
  }

  async call<M extends ProxyMethod>(method: M, request: ProxyRequests[M], forwarded: ReadonlyMap<string, string>): Promise<ProxyAnswer<ProxyResults[M]>> {
    // Forwarded headers go over the static ones; the content type over both.
    let headers = this.#baseHeaders;
    if (forwarded.size > 0) headers = { ...Object.fromEntries(this.#opts.staticHeaders), ...Object.fromEntries(forwarded), 'content-type': 'application/json' };
    const opts = this.#opts;
    const a = await HttpExchange.post(this.#pool, this.#path, headers, requestJson(request), opts.timeoutMs, PROXY_MAX_ANSWER_BYTES);
    if (a.status !== 200) {
      const t = opts.transforms.find((x) => x.status === a.status);
      if (t === undefined) throw new ProxyCallError(`backend answered HTTP ${a.status}`, a.status);
      return t.kind === 'error'
        ? { kind: 'error', code: t.code, message: t.message, temporary: t.temporary }
        : { kind: 'disconnect', code: t.code, reason: t.reason };
    }
    return decodeAnswer(method, a.text);
  }

  /** Gives up this proxy's hold on the pool; the last proxy on a backend closes it. */
  async close(): Promise<void> {
    await this.#lease.release();
  }
}
