/**
 * Building the engine the config names: a Broker and a PresenceManager.
 *
 * Each implementation is loaded with a dynamic `import()` only when the config names it, so a node
 * never loads the client library of an engine it does not use (a Redis or NATS client, say;
 * STYLE anti-pattern 11). Nothing here imports an implementation statically.
 *
 * Which implementation: Centrifugo's rule. The standalone `broker` section, when enabled, names the
 * broker; otherwise `engine.type` does. Likewise `presence_manager` for the presence manager. The
 * key that chose an implementation is the one named in errors, so `checkconfig` and a failed start
 * point at the same line of the config file.
 *
 * Adding an engine is one entry in {@link BROKERS} and, when it keeps presence, one in
 * {@link PRESENCE_MANAGERS}; each entry imports its module when called.
 */
import type { Config } from '../config/schema.js';
import type { Broker, ChannelStateManager, PresenceManager } from '../engine/types.js';
import type { RedisPubSubErrorSink } from '../engine/redis/pubsub-errors.js';
import type { NatsBrokerOptions } from '../engine/nats/options.js';
import type { Logger } from '../util/logger.js';
import { silentLogger } from '../util/logger.js';
import { RateLimitedLog } from '../util/rate-log.js';

/** What the node is built on. */
export interface EngineParts {
  broker: Broker;
  presence: PresenceManager;
  /**
   * Channel occupancy for channel state events, when the engine supplies one (a `MemoryBus`
   * shares one between its nodes); otherwise {@link createChannelStates} builds one from the
   * config, and only when channel state events are enabled.
   */
  channelState?: ChannelStateManager;
}

/** What the engine reports for the node's metrics; every member optional, unset counts nothing. */
export interface EngineObserver {
  /** `centrifugo_broker_redis_pub_sub_errors` (Redis broker only). */
  redisPubSubError?: RedisPubSubErrorSink;
}

type BrokerType = Config['broker']['type'];
type PresenceType = Config['presence_manager']['type'];

/**
 * The config key an implementation was chosen by: `engine` (the engine section, with its `redis`
 * settings), or the standalone `broker` / `presence_manager` section (with its own settings).
 */
export type EngineSection = 'engine' | 'broker' | 'presence_manager';

/** Builds one implementation from the config; `section` is where its settings are. */
type Loader<T> = (config: Readonly<Config>, section: EngineSection, log: Logger, observe: EngineObserver) => Promise<T>;

/**
 * Broker implementations by type. `undefined`: a type the config accepts (so a Centrifugo config
 * loads) but Rotor does not implement yet; `config/unimplemented.ts` refuses it at config
 * validation, and {@link createEngine} refuses it again for configs that skipped validation.
 */
const BROKERS: { readonly [T in BrokerType]: Loader<Broker> | undefined } = {
  memory: async (config) => {
    const { MemoryBroker } = await import('../engine/memory/broker.js');
    return new MemoryBroker({ historyMetaTtlMs: config.channel.history_meta_ttl });
  },
  redis: async (config, section, log, observe) => {
    const [{ RedisBroker }, { redisBrokerOptions }] = await Promise.all([import('../engine/redis/broker.js'), import('./redis-options.js')]);
    return new RedisBroker(redisBrokerOptions(config, section === 'broker' ? 'broker' : 'engine'), log, observe.redisPubSubError);
  },
  nats: async (config, _section, log) => {
    const [{ NatsBroker }, options] = await Promise.all([import('../engine/nats/broker.js'), natsOptions(config)]);
    const dropLog = new RateLimitedLog(log);
    return new NatsBroker(
      options,
      {
        // A flood of undecodable messages must not become a flood of lines: once per 10 s per kind.
        onDrop: (reason, kind) => dropLog.write('warn', kind, { reason }, 'nats broker: dropped a message'),
        onError: (err) => log.error({ err }, 'nats broker: error'),
        onLost: (message) => log.warn({ component: 'broker' }, message),
        onBack: (message) => log.info({ component: 'broker' }, message),
      },
    );
  },
  postgres: undefined,
  redisnats: undefined,
};

const PRESENCE_MANAGERS: { readonly [T in PresenceType]: Loader<PresenceManager> | undefined } = {
  memory: async () => {
    const { MemoryPresenceManager } = await import('../engine/memory/presence.js');
    return new MemoryPresenceManager();
  },
  // Connects here, so a Redis that cannot be reached stops the start with its address.
  redis: async (config, section, log) => {
    const [{ RedisPresenceManager }, { redisPresenceOptions }] = await Promise.all([import('../engine/redis/presence.js'), import('./redis-options.js')]);
    return RedisPresenceManager.open(redisPresenceOptions(config, section === 'presence_manager' ? 'presence_manager' : 'engine'), log);
  },
};

/** `broker.nats` as the NATS broker's options; throws naming the key (a bad URL, unreadable TLS files). */
async function natsOptions(config: Readonly<Config>): Promise<NatsBrokerOptions> {
  const [{ parseNatsUrl }, { clientTls }] = await Promise.all([import('../engine/nats/options.js'), import('./tls-options.js')]);
  const n = config.broker.nats;
  try {
    parseNatsUrl(n.url);
  } catch (err) {
    throw new Error(`broker.nats.url: ${(err as Error).message}`);
  }
  const tls = clientTls(n.tls, 'broker.nats.tls');
  return {
    url: n.url,
    prefix: n.prefix,
    dialTimeoutMs: n.dial_timeout,
    writeTimeoutMs: n.write_timeout,
    ...(tls === undefined ? {} : { tls }),
    allowWildcards: n.allow_wildcards,
    rawMode: { enabled: n.raw_mode.enabled, channelReplacements: n.raw_mode.channel_replacements, prefix: n.raw_mode.prefix },
  };
}

/**
 * Builds the chosen engine's options without connecting, so `checkconfig` finds what a start
 * would: a Redis address or NATS URL that cannot be used, TLS files that cannot be read. Throws
 * naming the key. Loads only the options modules of the engines the config chose.
 */
export async function checkEngineOptions(config: Readonly<Config>): Promise<void> {
  const choice = engineChoice(config);
  if (choice.broker.type === 'redis' || choice.presence.type === 'redis') {
    const { redisBrokerOptions, redisPresenceOptions } = await import('./redis-options.js');
    if (choice.broker.type === 'redis') redisBrokerOptions(config, choice.broker.section === 'broker' ? 'broker' : 'engine');
    if (choice.presence.type === 'redis') redisPresenceOptions(config, choice.presence.section === 'presence_manager' ? 'presence_manager' : 'engine');
  }
  if (choice.broker.type === 'nats') await natsOptions(config);
}

/** The implementation of each part and the config key that chose it. */
export interface EngineChoice {
  broker: { type: BrokerType; section: EngineSection };
  presence: { type: PresenceType; section: EngineSection };
}

export function engineChoice(config: Readonly<Config>): EngineChoice {
  return {
    broker: config.broker.enabled ? { type: config.broker.type, section: 'broker' } : { type: config.engine.type, section: 'engine' },
    presence: config.presence_manager.enabled
      ? { type: config.presence_manager.type, section: 'presence_manager' }
      : { type: config.engine.type, section: 'engine' },
  };
}

/** The config names an engine Rotor does not implement yet. The message names the key. */
export class EngineNotImplementedError extends Error {
  override readonly name = 'EngineNotImplementedError';
}

function notImplemented(section: EngineSection, type: string, what: string): EngineNotImplementedError {
  return new EngineNotImplementedError(`${section}.type: "${type}" ${what} is not implemented yet; use "memory"`);
}

/**
 * Loads and builds the configured broker and presence manager. Rejects with
 * {@link EngineNotImplementedError} for a type without an implementation, before importing
 * anything; when the presence manager fails to build, the broker already built is closed.
 * Neither part is started: the node calls `Broker.run` at its start.
 */
export async function createEngine(config: Readonly<Config>, log: Logger = silentLogger, observe: EngineObserver = {}): Promise<EngineParts> {
  const choice = engineChoice(config);
  const loadBroker = BROKERS[choice.broker.type];
  if (loadBroker === undefined) throw notImplemented(choice.broker.section, choice.broker.type, 'broker');
  const loadPresence = PRESENCE_MANAGERS[choice.presence.type];
  if (loadPresence === undefined) throw notImplemented(choice.presence.section, choice.presence.type, 'presence manager');
  const broker = await loadBroker(config, choice.broker.section, log, observe);
  try {
    return { broker, presence: await loadPresence(config, choice.presence.section, log, observe) };
  } catch (err) {
    // The build error is what the caller must see; a failing close of the unused broker adds nothing.
    await broker.close().catch(() => {});
    throw err;
  }
}

/** A channel state manager and, when it cannot be cluster-wide, why (to log at start). */
export interface ChannelStatesChoice {
  manager: ChannelStateManager;
  warning?: string;
}

/**
 * The channel state manager for channel state events: on the presence manager's engine, where
 * Centrifugo keeps who is subscribed where. Redis: shared by every node on that Redis (its
 * `presence_manager.redis` or `engine.redis` settings and prefix, with `nodeTtlMs` as the node
 * TTL). Memory: exact for one node; with a broker that spans nodes (Redis, NATS) but presence in
 * memory, each node sees only its own subscribers, which the warning says.
 */
export async function createChannelStates(config: Readonly<Config>, log: Logger, nodeTtlMs: number): Promise<ChannelStatesChoice> {
  const choice = engineChoice(config);
  if (choice.presence.type === 'redis') {
    const [{ RedisChannelStates }, { redisPresenceOptions }] = await Promise.all([import('../engine/redis/channel-state.js'), import('./redis-options.js')]);
    const o = redisPresenceOptions(config, choice.presence.section === 'presence_manager' ? 'presence_manager' : 'engine');
    return { manager: await RedisChannelStates.open({ shards: o.shards, prefix: o.prefix, nodeTtlMs }, log) };
  }
  const { MemoryChannelStates } = await import('../engine/memory/channel-state.js');
  const manager = new MemoryChannelStates();
  if (choice.broker.type === 'memory') return { manager };
  return {
    manager,
    warning: `channel state events: ${choice.broker.section}.type is "${choice.broker.type}" but presence is kept in memory, so occupied/vacated are per node, not cluster-wide; use a Redis presence manager (presence_manager.type "redis") for cluster-wide channel state`,
  };
}
