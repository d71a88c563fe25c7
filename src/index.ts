/**
 * Rotor as a library: a Centrifugo-compatible real-time server inside your Node.js program
 * (docs/embedding.md).
 *
 * ```ts
 * import { startRotor, ReplyError } from 'rotor';
 *
 * const rotor = await startRotor({
 *   config: {
 *     http_server: { port: 8000 },
 *     client: { token: { hmac_secret_key: process.env.SECRET } },
 *     channel: { namespaces: [{ name: 'chat', allow_subscribe_for_client: true }] },
 *   },
 *   hooks: {
 *     async subscribing({ client, channel }) {
 *       if (!(await mayRead(client.user, channel))) throw new ReplyError(103, 'permission denied');
 *     },
 *   },
 * });
 * await rotor.publish('chat:index', { text: 'hello' });
 * const { nodes } = await rotor.api('info');
 * await rotor.stop();
 * ```
 *
 * - {@link startRotor} builds the server from a config object (the content of a config file,
 *   merged over the defaults and validated as a file is) and starts it: listening on
 *   `http_server.port`, or serving on your own `http.Server` (`server` option).
 * - {@link Rotor.publish} and {@link Rotor.api} call the server API's methods from code: the same
 *   methods, requests and results as `POST /api/<method>`.
 * - {@link RotorHooks} plug your code into connecting (and the refresh of connections it let
 *   expire), subscribing, publishing and RPC; a hook refuses by throwing {@link ReplyError} or
 *   {@link DisconnectError}.
 * - {@link Rotor.stop} stops it gracefully.
 *
 * Nothing else in the package is public API: deep imports are not exported.
 */
import { startEmbedded, type Rotor, type RotorOptions } from './app/embed.js';

export type { Rotor, RotorOptions, PublishOptions, PublishResult } from './app/embed.js';
export type {
  RotorHooks,
  RotorClient,
  HookPayload,
  ConnectingEvent,
  ConnectingResult,
  RefreshingEvent,
  RefreshingResult,
  SubscribingEvent,
  SubscribingResult,
  PublishingEvent,
  PublishingResult,
  RpcCallEvent,
  RpcCallResult,
} from './app/embed-hooks.js';
export type { EmbedderServer } from './app/attach.js';
export type { ConfigInput as RotorConfig } from './config/schema.js';
export type { Logger as RotorLogger } from './util/logger.js';
export { ConfigError, type ConfigIssue } from './config/errors.js';
/**
 * Thrown by a hook: the client gets this error reply (`code` 400–1999 for your own errors, or one
 * of Centrifugo's: 103 permission denied, 108 not available, ...). Also what `publish` and `api`
 * reject with, carrying the API error.
 */
export { ReplyError } from './protocol/errors.js';
/**
 * Thrown by a hook: the connection is closed with `{ code, reason }` (4000–4999 for your own;
 * 4000–4499 make the SDK reconnect, 4500–4999 do not).
 */
export { DisconnectError, type Disconnect } from './protocol/errors.js';
/** Rotor's version, as `rotor version` prints it. */
export { VERSION } from './app/version.js';

/**
 * Builds and starts Rotor. Rejects with a {@link ConfigError} for an invalid config, or with an
 * error naming the option when a setting cannot work (a port in use, a TLS file that does not
 * load); nothing is left running then.
 */
export function startRotor(options: RotorOptions = {}): Promise<Rotor> {
  return startEmbedded(options);
}
