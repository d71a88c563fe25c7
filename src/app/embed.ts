/**
 * Rotor inside another program (`import { startRotor } from 'rotor'`, see src/index.ts and
 * docs/embedding.md): the same App the `rotor` command runs, built from a config object instead of
 * a file, with the embedder's hooks around the policy and, optionally, the embedder's HTTP server
 * instead of a listener of its own.
 */
import { validateConfig, deepFreeze } from '../config/load.js';
import { unknownKeyWarnings } from '../config/suggest.js';
import type { Config, ConfigInput } from '../config/schema.js';
import type { Logger } from '../util/logger.js';
import { App } from './app.js';
import type { ApiObject } from './api-calls.js';
import type { EmbedderServer } from './attach.js';
import { EmbedderPolicy, type RotorHooks } from './embed-hooks.js';
import { createLogger, type ProcessLogger } from './logger.js';

export interface RotorOptions {
  /**
   * Configuration in the form of a config file's content (docs/config.md), merged over the
   * defaults and validated as a file is: an invalid value rejects with a `ConfigError` listing
   * every problem; an unknown key is logged as a warning. `CENTRIFUGO_*` variables are not read.
   */
  config?: ConfigInput;
  /**
   * Your HTTP(S) server: Rotor serves its client endpoints (and the HTTP API and health
   * endpoints, where the config puts them on the external port) on it, and every other path stays
   * with your handlers. Without it Rotor listens on `http_server.port` itself. Attach after your
   * own `request`/`upgrade` listeners are in place; `stop()` takes Rotor's off and leaves the
   * server running. TLS is the server's: leave `http_server.tls` off.
   */
  server?: EmbedderServer;
  /** Hooks into connecting (and refreshing what it accepted), subscribing, publishing and RPC; see `RotorHooks`. */
  hooks?: RotorHooks;
  /**
   * Where Rotor logs: anything with pino's `trace`/`debug`/`info`/`warn`/`error` (a pino logger
   * does). By default, JSON lines to stdout or `log.file` at `log.level`, as the `rotor` command.
   */
  log?: Logger;
}

/** Options of {@link Rotor.publish}: the server API `publish` request's fields. */
export interface PublishOptions {
  /** Publication tags (delivered to subscribers, usable by their tags filter). */
  tags?: Record<string, string>;
  /** Not kept in the channel's history even when the namespace keeps history. */
  skipHistory?: boolean;
  /** A repeat with the same key within 5 minutes is not published again (same result). */
  idempotencyKey?: string;
  /** Subscribers that negotiated deltas get a fossil delta against the previous publication. */
  delta?: boolean;
  /** Entire-state channels: not published when `version` is not above the last one of `versionEpoch`. */
  version?: number;
  versionEpoch?: string;
}

/** Where a publication went in the channel's stream; both absent when the channel keeps no history. */
export interface PublishResult {
  offset?: number;
  epoch?: string;
}

/** A running Rotor. */
export interface Rotor {
  /**
   * Port of the client endpoints. Attached to your server: its port when Rotor started, 0 if it
   * was not listening yet.
   */
  readonly port: number;
  /** Port of the HTTP API and health endpoints: `port` unless `http_server.internal_port` is set. */
  readonly internalPort: number;
  /**
   * Publishes into `channel`, as the server API's `publish` does (no permission checks, the
   * namespace must exist). `data` is a `Uint8Array` (sent as these bytes) or any JSON value.
   * Rejects with a `ReplyError` carrying the API error code (102 unknown channel, 107 bad request).
   */
  publish(channel: string, data: unknown, options?: PublishOptions): Promise<PublishResult>;
  /**
   * Runs any server API method (`publish`, `broadcast`, `subscribe`, `disconnect`, `presence`,
   * `history`, `channels`, `info`, `batch`, ...; docs/api.md) with the request object of its HTTP
   * form, and resolves with the result object. Binary payloads go in `b64data`/`b64info`.
   * Rejects with a `ReplyError` carrying the API error (104 for an unknown method).
   */
  api(method: string, request?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /**
   * Graceful stop: no new connections, clients disconnected with 3001 (they reconnect elsewhere),
   * engine closed; connections still open after `timeoutMs` (default `shutdown.timeout`) are
   * dropped. Safe to call more than once.
   */
  stop(timeoutMs?: number): Promise<void>;
}

/** The config a `config` option gives, validated as a file's content is, and its warnings. */
export function embeddedConfig(input: ConfigInput): { config: Readonly<Config>; warnings: string[] } {
  const raw = input as Record<string, unknown>;
  const unknown = unknownKeyWarnings(raw);
  const { config, warnings } = validateConfig(raw);
  return { config: deepFreeze(config), warnings: [...unknown, ...warnings] };
}

class EmbeddedRotor implements Rotor {
  constructor(
    private readonly app: App,
    readonly port: number,
    readonly internalPort: number,
    private readonly shutdownTimeoutMs: number,
    private readonly ownLog: ProcessLogger | undefined,
  ) {}

  async publish(channel: string, data: unknown, options: PublishOptions = {}): Promise<PublishResult> {
    const req: ApiObject = { channel };
    if (data instanceof Uint8Array) req.b64data = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
    else req.data = data;
    if (options.tags !== undefined) req.tags = options.tags;
    if (options.skipHistory === true) req.skip_history = true;
    if (options.idempotencyKey !== undefined) req.idempotency_key = options.idempotencyKey;
    if (options.delta === true) req.delta = true;
    if (options.version !== undefined) req.version = options.version;
    if (options.versionEpoch !== undefined) req.version_epoch = options.versionEpoch;
    const r = await this.app.api('publish', req);
    const out: PublishResult = {};
    if (typeof r.offset === 'number') out.offset = r.offset;
    if (typeof r.epoch === 'string') out.epoch = r.epoch;
    return out;
  }

  api(method: string, request: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return this.app.api(method, request);
  }

  async stop(timeoutMs = this.shutdownTimeoutMs): Promise<void> {
    await this.app.stop(timeoutMs);
    // Lines still waiting for a slow stdout reader get a second; the process goes on anyway.
    await this.ownLog?.close(Date.now() + 1000);
  }
}

/** Builds and starts Rotor (see {@link RotorOptions}); on a failed start, stops what had started. */
export async function startEmbedded(options: RotorOptions = {}): Promise<Rotor> {
  const { config, warnings } = embeddedConfig(options.config ?? {});
  const ownLog = options.log === undefined ? createLogger(config.log.level, config.log.file) : undefined;
  const log = options.log ?? ownLog!;
  for (const w of warnings) log.warn(w);
  const hooks = options.hooks;
  const app = await App.create(config, log, {
    ...(hooks !== undefined ? { policy: (rotor) => new EmbedderPolicy(rotor, hooks) } : {}),
    ...(options.server !== undefined ? { server: options.server } : {}),
  });
  try {
    const addr = await app.start();
    return new EmbeddedRotor(app, addr.port, addr.internalPort, config.shutdown.timeout, ownLog);
  } catch (err) {
    await app.stop(0);
    throw err;
  }
}
