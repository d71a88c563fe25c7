/**
 * Keep-alive connection pools to HTTP proxy backends, one undici `Pool` per backend: proxies
 * whose endpoints share an origin (scheme, host, port) and TLS options share its connections, so
 * `client.proxy.connect`, `channel.proxy.subscribe` and a `proxies[]` entry on one backend reuse
 * the same TCP (and TLS) connections instead of opening up to `MAX_CONNECTIONS` each. Only
 * connection-level settings pick the pool; each proxy keeps its own path, headers and timeout,
 * which are per call.
 *
 * A pool is counted by its users (`acquire` / `release`) and closed once, when the last proxy on
 * it is closed; a later `acquire` for that backend opens a new one. TLS options that cannot be
 * compared by value (a function such as `checkServerIdentity`) get a pool of their own.
 */
import type { ConnectionOptions } from 'node:tls';
import { Pool, type Dispatcher } from 'undici';

/** Connections kept per backend (Go's `MaxIdleConnsPerHost` in Centrifugo's proxy client). */
const MAX_CONNECTIONS = 255;
/** An idle connection to the backend is closed after this long, ms. */
const KEEP_ALIVE_MS = 60_000;

/** One proxy's hold on a shared pool. */
export interface PoolLease {
  readonly pool: Dispatcher;
  /** Gives the hold up (once; later calls do nothing); closes the pool when it was the last. */
  release(): Promise<void>;
}

export class HttpPools {
  readonly #pools = new Map<string, { pool: Pool; users: number }>();
  /** Numbers the keys of pools that are never shared. */
  #private = 0;

  /** A hold on the pool to `origin` with `tls` (undefined: defaults), opened when there is none. */
  acquire(origin: string, tls: ConnectionOptions | undefined): PoolLease {
    const key = `${origin} ${tlsKey(tls) ?? `private ${++this.#private}`}`;
    let shared = this.#pools.get(key);
    if (shared === undefined) {
      const pool = new Pool(origin, {
        connections: MAX_CONNECTIONS,
        keepAliveTimeout: KEEP_ALIVE_MS,
        keepAliveMaxTimeout: KEEP_ALIVE_MS,
        ...(tls !== undefined ? { connect: tls } : {}),
      });
      shared = { pool, users: 0 };
      this.#pools.set(key, shared);
    }
    shared.users++;
    const held = shared;
    let released = false;
    return {
      pool: held.pool,
      release: async () => {
        if (released) return;
        released = true;
        if (--held.users > 0) return;
        // Out of the map before closing: an acquire from now on opens a fresh pool.
        if (this.#pools.get(key) === held) this.#pools.delete(key);
        await held.pool.close();
      },
    };
  }

  /** Pools open now (for tests). */
  get size(): number {
    return this.#pools.size;
  }
}

/** TLS options as a comparable string; undefined when one of them is not plain data. */
function tlsKey(tls: ConnectionOptions | undefined): string | undefined {
  if (tls === undefined) return '';
  const parts: string[] = [];
  for (const k of Object.keys(tls).sort()) {
    const v: unknown = tls[k as keyof ConnectionOptions];
    if (v === undefined) continue;
    const s = plain(v);
    if (s === undefined) return undefined;
    parts.push(`${k}=${s}`);
  }
  return JSON.stringify(parts);
}

/** Strings, numbers, booleans, Buffers and arrays of them, as text; undefined for anything else. */
function plain(v: unknown): string | undefined {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
  if (Buffer.isBuffer(v)) return `b64:${v.toString('base64')}`;
  if (Array.isArray(v)) {
    const items = v.map(plain);
    return items.includes(undefined) ? undefined : `[${items.join(',')}]`;
  }
  return undefined;
}
