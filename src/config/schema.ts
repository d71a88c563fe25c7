/**
 * The configuration schema: the single description of every option (Centrifugo v6 layout).
 *
 * Sections live in ./schema/*.ts; this file assembles them in Centrifugo's order and exports the
 * parsed types. Durations are integer milliseconds in {@link Config}; `-1` in
 * `client.ping_interval` / `client.pong_timeout` means disabled.
 */
import type { z } from 'zod';
import { item } from './schema/define.js';
import { channelSection, namespaceItem, rpcSection, withoutNamespace } from './schema/channel.js';
import { clientSection } from './schema/client.js';
import { engineSections } from './schema/engine.js';
import { proxiesList } from './schema/proxy.js';
import { lifecycleEventsSection } from './schema/notify.js';
import { serverSections } from './schema/server.js';
import { transportSections } from './schema/transports.js';

const { http_server, log, http_api, grpc_api, consumers, ...observability } = serverSections;
const { emulation, ...transports } = transportSections;

export const configSchema = item('Rotor configuration (Centrifugo v6 compatible).', {
  http_server,
  log,
  ...engineSections,
  client: clientSection,
  channel: channelSection,
  rpc: rpcSection,
  proxies: proxiesList,
  lifecycle_events: lifecycleEventsSection,
  http_api,
  grpc_api,
  consumers,
  ...transports,
  emulation,
  ...observability,
});

/** The loaded configuration (durations in milliseconds). */
export type Config = z.output<typeof configSchema>;

/** A config file's content before validation (all keys optional, durations as strings/seconds). */
export type ConfigInput = z.input<typeof configSchema>;

type NamespaceOutput = z.output<typeof namespaceItem>;

/**
 * Options of one channel namespace, snake_case as in the file. `name` is absent for
 * `channel.without_namespace`.
 */
export type ChannelOptions = Omit<NamespaceOutput, 'name'> & { name?: string };

/** One `channel.namespaces[]` item. */
export type ChannelNamespace = NamespaceOutput;

/** One `rpc.namespaces[]` item. */
export type RpcNamespace = Config['rpc']['namespaces'][number];

/** A proxy object (endpoint, timeout in ms, headers, ...) as used by `channel.proxy.*`, `rpc.proxy`. */
export type ProxyConfig = Config['channel']['proxy']['subscribe'];

/** One `proxies[]` item: a proxy object with a name. */
export type NamedProxyConfig = Config['proxies'][number];

/** The TLS object used by listeners and clients. */
export type TlsConfig = Config['http_server']['tls'];

/** Redis connection settings of the engine (also the shape of broker.redis / presence_manager.redis plus extras). */
export type RedisEngineConfig = Config['engine']['redis'];

// Compile-time check that without_namespace and namespace items share the option set.
type WithoutNamespaceKeys = keyof z.output<typeof withoutNamespace>;
const sameOptionKeys: [WithoutNamespaceKeys] extends [keyof ChannelOptions] ? true : never = true;
void sameOptionKeys;
