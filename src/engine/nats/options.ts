/**
 * What the NATS broker needs to know, as plain data (spec §9.4): app/ builds it from the config
 * (`broker.nats`), so this layer never sees the config.
 */
import type { ConnectionOptions as TlsOptions } from 'node:tls';

/** Raw mode: channels map straight onto NATS subjects and payloads travel unframed. */
export interface NatsRawModeOptions {
  enabled: boolean;
  /**
   * Substrings of a channel name replaced before it becomes a subject (`{":": "."}` turns
   * `chat:index` into `chat.index`). At each position the longest matching key wins.
   */
  channelReplacements: Record<string, string>;
  /** Put before the (replaced) channel name to make the subject; often empty. */
  prefix: string;
}

export interface NatsBrokerOptions {
  /** `nats://host:port`; a comma-separated list names several servers of one cluster. User and
   * password (or a token, as the user part alone) may be given in the URL. */
  url: string;
  /** Start of every subject (`<prefix>.client.<channel>`, `<prefix>.control`, ...). */
  prefix: string;
  /** One connection attempt (TCP, TLS, the server's INFO and our CONNECT) must finish within this, ms. */
  dialTimeoutMs: number;
  /** A publish or subscribe is confirmed by the server (PING/PONG) within this, ms, or fails. */
  writeTimeoutMs: number;
  /** TLS to the servers; absent for plain TCP. Given, the connection must be TLS. */
  tls?: TlsOptions;
  /** Channels may hold `*` and `>` and subscribe to every matching subject (publications only). */
  allowWildcards: boolean;
  rawMode: NatsRawModeOptions;
}

/** The NATS Go client's default URL, which Centrifugo uses when `url` is empty. */
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
export const DEFAULT_NATS_PREFIX = 'centrifugo';
export const DEFAULT_NATS_DIAL_TIMEOUT_MS = 1000;
export const DEFAULT_NATS_WRITE_TIMEOUT_MS = 1000;

/** Options with Centrifugo's defaults for whatever `partial` leaves out. */
export function natsBrokerOptions(partial: Partial<NatsBrokerOptions> = {}): NatsBrokerOptions {
  const opts: NatsBrokerOptions = {
    url: partial.url ?? DEFAULT_NATS_URL,
    prefix: partial.prefix ?? DEFAULT_NATS_PREFIX,
    dialTimeoutMs: partial.dialTimeoutMs ?? DEFAULT_NATS_DIAL_TIMEOUT_MS,
    writeTimeoutMs: partial.writeTimeoutMs ?? DEFAULT_NATS_WRITE_TIMEOUT_MS,
    allowWildcards: partial.allowWildcards ?? false,
    rawMode: partial.rawMode ?? { enabled: false, channelReplacements: {}, prefix: '' },
  };
  if (partial.tls !== undefined) opts.tls = partial.tls;
  return opts;
}

/** A NATS URL that cannot be used; the message says why, the caller says which key. */
export class NatsAddressError extends Error {
  override readonly name = 'NatsAddressError';
}

/** The servers of `url` for the client, and the credentials the URLs carried. */
export interface NatsServers {
  /** `host:port` each, credentials removed. */
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
  /** A `tls://` URL asked for TLS. */
  tls: boolean;
}

/**
 * Splits a comma-separated list of `nats://[user[:password]@]host[:port]` (a bare `host:port` is
 * fine; `tls://` asks for TLS as the `tls` option does). As in the Go client, a user part with no
 * password is a token. Every URL must carry the same credentials: the client sends one set. An
 * empty `url` is DEFAULT_NATS_URL.
 */
export function parseNatsUrl(url: string): NatsServers {
  const out: NatsServers = { servers: [], tls: false };
  let creds: string | undefined;
  // No URL at all means the Go client's default, as in Centrifugo.
  for (const part of (url.trim() === '' ? DEFAULT_NATS_URL : url).split(',')) {
    const text = part.trim();
    if (text === '') continue;
    let u: URL;
    try {
      u = new URL(text.includes('://') ? text : `nats://${text}`);
    } catch {
      throw new NatsAddressError(`"${redactNatsUrl(text)}" is not a NATS address (nats://host:port)`);
    }
    if (u.protocol !== 'nats:' && u.protocol !== 'tls:') throw new NatsAddressError(`"${u.protocol}" is not a NATS scheme; use nats:// or tls://`);
    if (u.hostname === '') throw new NatsAddressError(`"${redactNatsUrl(text)}" has no host`);
    if (u.protocol === 'tls:') out.tls = true;
    const port = u.port === '' ? '4222' : u.port;
    out.servers.push(`${u.hostname}:${port}`);
    const these = `${u.username}:${u.password}`;
    if (creds !== undefined && creds !== these) throw new NatsAddressError('the NATS URLs carry different credentials; give one user and password for all');
    creds = these;
    if (u.username !== '' && u.password !== '') {
      out.user = decodeURIComponent(u.username);
      out.pass = decodeURIComponent(u.password);
    } else if (u.username !== '') {
      out.token = decodeURIComponent(u.username);
    }
  }
  if (out.servers.length === 0) throw new NatsAddressError('no NATS server given');
  return out;
}

/** The URL with any password or token replaced, for messages: secrets never reach logs. */
export function redactNatsUrl(url: string): string {
  return url.replace(/\/\/[^@/,]*@/g, '//***@');
}
