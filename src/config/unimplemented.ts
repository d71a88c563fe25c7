/**
 * Options Rotor reads, so that a Centrifugo configuration loads unchanged, but does not act on
 * yet. Setting one is reported at startup and by `checkconfig`, never silently ignored:
 *
 * - `error` where ignoring it would quietly change what the deployment does: plain HTTP where an
 *   ACME certificate was asked for, or a single node where a shared broker was asked for. Rotor
 *   refuses to start.
 * - `warning` where the feature is simply absent (metrics, admin UI, ...).
 */
import type { ConfigIssue } from './errors.js';
import type { ChannelOptions, Config } from './schema.js';

interface Unimplemented {
  severity: 'error' | 'warning';
  /** Paths of the options that are set, in `config`. */
  setIn: (c: Config) => string[];
  note: string;
}

const when = (path: string, set: boolean): string[] => (set ? [path] : []);

type RedisSectionPath = 'engine.redis' | 'broker.redis' | 'presence_manager.redis';

/** The Redis sections in use: the engine's, or the standalone broker's / presence manager's. */
function redisSections(c: Config): RedisSectionPath[] {
  const out: RedisSectionPath[] = [];
  if ((!c.broker.enabled || !c.presence_manager.enabled) && c.engine.type === 'redis') out.push('engine.redis');
  if (c.broker.enabled && c.broker.type === 'redis') out.push('broker.redis');
  if (c.presence_manager.enabled && c.presence_manager.type === 'redis') out.push('presence_manager.redis');
  return out;
}

function redisOf(c: Config, p: RedisSectionPath): { history_use_lists?: boolean; presence_hash_field_ttl?: boolean; replica_client: { enabled: boolean } } {
  return p === 'engine.redis' ? c.engine.redis : p === 'broker.redis' ? c.broker.redis : c.presence_manager.redis;
}

/** Every channel options object with its path: `without_namespace` and each namespace. */
function channelOptions(c: Config): { path: string; opts: ChannelOptions }[] {
  return [
    { path: 'channel.without_namespace', opts: c.channel.without_namespace },
    ...c.channel.namespaces.map((opts, i) => ({ path: `channel.namespaces[${i}]`, opts })),
  ];
}

/**
 * `websocket.write_timeout` / `uni_websocket.write_timeout` default, ms. The schema's default is
 * the source; a test ("the defaults set nothing unimplemented") fails if the two drift apart.
 */
const WS_WRITE_TIMEOUT_DEFAULT_MS = 1000;
/** Subscription types that behave as ordinary (stream) subscriptions. */
const STREAM_SUBSCRIPTION_TYPES: readonly string[] = ['', 'stream'];

const AUTOCERT_NOTE = 'ACME certificates are not implemented yet: give http_server.tls.cert_pem and key_pem, or terminate TLS in front of Rotor';

export const UNIMPLEMENTED: readonly Unimplemented[] = [
  { severity: 'error', setIn: (c) => when('http_server.tls_autocert.enabled', c.http_server.tls_autocert.enabled), note: AUTOCERT_NOTE },
  {
    severity: 'error',
    setIn: (c) => when('broker.type', c.broker.enabled && (c.broker.type === 'postgres' || c.broker.type === 'redisnats')),
    note: 'the PostgreSQL and Redis+NATS brokers are not implemented: use "redis" or "nats"',
  },
  {
    severity: 'error',
    setIn: (c) => redisSections(c).flatMap((p) => when(`${p}.history_use_lists`, redisOf(c, p).history_use_lists === true)),
    note: 'history in Redis lists (the legacy layout) is not implemented: Rotor keeps history in Redis Streams, as Centrifugo does by default',
  },
  {
    severity: 'warning',
    setIn: (c) => redisSections(c).flatMap((p) => when(`${p}.replica_client.enabled`, redisOf(c, p).replica_client.enabled)),
    note: 'not implemented yet: every read goes to the master',
  },
  {
    severity: 'warning',
    setIn: (c) => redisSections(c).flatMap((p) => when(`${p}.presence_hash_field_ttl`, redisOf(c, p).presence_hash_field_ttl === true)),
    note: 'not implemented: presence entries expire through the presence.expire sorted set, with the same results',
  },
  {
    severity: 'error',
    setIn: (c) => channelOptions(c).flatMap(({ path, opts }) => when(`${path}.subscription_type`, !STREAM_SUBSCRIPTION_TYPES.includes(opts.subscription_type))),
    note: 'map and shared_poll subscriptions are not implemented yet: clients would get ordinary stream subscriptions instead; use "" or "stream"',
  },
  {
    severity: 'warning',
    setIn: (c) => [
      ...when('websocket.write_timeout', c.websocket.write_timeout !== WS_WRITE_TIMEOUT_DEFAULT_MS),
      ...when('uni_websocket.write_timeout', c.uni_websocket.write_timeout !== WS_WRITE_TIMEOUT_DEFAULT_MS),
    ],
    note: 'not implemented yet: writes have no deadline; slow clients are disconnected by client.queue_max_size only',
  },
  {
    severity: 'warning',
    setIn: (c) => channelOptions(c).flatMap(({ path, opts }) => when(`${path}.auto_cache_recover`, opts.auto_cache_recover)),
    note: 'not implemented yet: clients recover only when they ask to',
  },
  {
    severity: 'warning',
    setIn: (c) => when('client.concurrency', c.client.concurrency > 0),
    note: 'not implemented yet: the commands of one connection are processed one at a time',
  },
  {
    severity: 'warning',
    setIn: (c) => when('client.channel_position_max_time_lag', c.client.channel_position_max_time_lag > 0),
    note: 'not implemented yet: positioned subscriptions are checked every channel_position_check_delay only',
  },
  {
    severity: 'warning',
    setIn: (c) => [
      ...when('http_server.http3.enabled', c.http_server.http3.enabled),
      ...when('admin.web_proxy_address', c.admin.web_proxy_address !== ''),
      ...when('http_server.h2c_external', c.http_server.h2c_external),
      ...c.consumers.flatMap((k, i) => when(`consumers[${i}].enabled`, k.enabled)),
      ...when('init.enabled', c.init.enabled),
      ...when('opentelemetry.enabled', c.opentelemetry.enabled),
      ...when('graphite.enabled', c.graphite.enabled),
      ...when('webtransport.enabled', c.webtransport.enabled),
      ...when('controller.enabled', c.controller.enabled),
    ],
    note: 'not implemented yet; the option has no effect',
  },
];

/** What `crossChecks` adds for options that are set but not implemented. */
export function unimplementedIssues(config: Config): { errors: ConfigIssue[]; warnings: string[] } {
  const errors: ConfigIssue[] = [];
  const warnings: string[] = [];
  for (const u of UNIMPLEMENTED) {
    for (const path of u.setIn(config)) {
      if (u.severity === 'error') errors.push({ path, message: u.note });
      else warnings.push(`${path}: ${u.note}`);
    }
  }
  return { errors, warnings };
}
