/**
 * Engine, standalone broker and presence manager (Centrifugo reference §9), with their Redis and
 * NATS sub-objects, plus the experimental map broker / controller sections.
 */
import { bool, dur, int, obj, oneOf, str, strList, strMap } from './define.js';
import { tls } from './proxy.js';

/** Connection settings shared by every Redis client (engine, broker, presence manager). */
function redisFields() {
  return {
    address: strList(
      'Redis addresses (`redis://` or `tcp://`, `rediss://`, `redis+sentinel://`, `redis+cluster://`, `unix:///path`; query options such as `tls_enabled`, `force_resp2`, `sentinel_master_name`). Several addresses shard channels between independent Redis setups; none means `redis://127.0.0.1:6379`.',
      ['redis://127.0.0.1:6379'],
    ),
    prefix: str('Prefix of every Redis key and PUB/SUB channel, so several installations can share one Redis.', 'centrifugo'),
    connect_timeout: dur('Timeout for establishing a Redis connection.', '1s'),
    io_timeout: dur('Timeout for one Redis request (read plus write).', '4s'),
    db: int('Redis database number. PUB/SUB ignores databases, so prefer a distinct prefix over a distinct DB.'),
    user: str('Redis ACL user name.'),
    password: str('Redis password.'),
    client_name: str('Client name reported to Redis (CLIENT SETNAME).'),
    force_resp2: bool('Talks RESP2 even when the server supports RESP3.'),
    cluster_address: strList('Redis Cluster seed addresses; setting them turns cluster mode on. Several entries shard across clusters.'),
    sentinel_address: strList('Redis Sentinel addresses; setting them turns Sentinel mode on.'),
    sentinel_user: str('User for authenticating with Sentinel.'),
    sentinel_password: str('Password for authenticating with Sentinel.'),
    sentinel_master_name: str('Master name to ask Sentinel for. Required in Sentinel mode.'),
    sentinel_client_name: str('Client name reported to Sentinel.'),
    tls: tls('TLS for Redis connections.'),
    sentinel_tls: tls('TLS for Sentinel connections.'),
    replica_client: obj('Read offloading to replicas.', {
      enabled: bool('Sends some read requests to replicas.'),
    }),
  };
}

function redisBrokerFields() {
  return {
    history_use_lists: bool(
      'Keeps history in Redis lists instead of streams (legacy): no history pagination, no reverse order, no idempotent publish.',
    ),
    wait_replicas: int(
      'After each publication kept in history, waits (WAIT) until this many replicas have it, for at most io_timeout; the publish fails with error 100 otherwise, and subscribers get the publication only once it is replicated. Redis replication is asynchronous: without it, a Sentinel failover can lose publications the API acknowledged or subscribers already received. History reads stop at the last replicated publication too. Give every node the same value. 0 (default) does not wait. Rotor extension.',
    ),
    sharded_pub_sub: bool(
      'On a Redis Cluster, uses sharded PUB/SUB (SSUBSCRIBE/SPUBLISH, Redis 7+): each channel\'s messages travel only through the shard that owns its slot instead of being broadcast to every node of the cluster. Rotor extension.',
    ),
  };
}

function redisPresenceFields() {
  return {
    presence_ttl: dur('How long a presence entry lives without being refreshed by its connection.', '60s'),
    presence_hash_field_ttl: bool('Expires presence entries with per-field hash TTLs (needs Redis 7.4 or later).'),
    presence_user_mapping: bool('Keeps a per-channel user count hash so presence_stats is cheap for big channels.'),
  };
}

function natsBroker() {
  return obj('NATS broker: at-most-once PUB/SUB between nodes, no history.', {
    url: str('NATS server URL.', 'nats://localhost:4222'),
    prefix: str('Prefix of every NATS subject used.', 'centrifugo'),
    dial_timeout: dur('Timeout for connecting to NATS.', '1s'),
    write_timeout: dur('Timeout for flushing writes to NATS.', '1s'),
    tls: tls('TLS for the NATS connection.'),
    allow_wildcards: bool('Allows `*` and `>` in channel names to subscribe to many subjects (no join/leave for such channels).'),
    raw_mode: obj('Raw mode: channels map to plain NATS subjects carrying raw payloads (for integrating other publishers).', {
      enabled: bool('Enables raw mode.'),
      channel_replacements: strMap('Substrings replaced in channel names to build subject names, for example {":": "."}.'),
      prefix: str('Subject prefix used in raw mode.'),
    }),
  });
}

export const engineSections = {
  engine: obj('Engine: broker plus presence manager in one.', {
    type: oneOf('Engine type: `memory` (single node) or `redis` (many nodes, persistent history).', ['memory', 'redis'], 'memory', {
      flag: true,
    }),
    redis: obj('Redis engine settings (used when type is `redis`).', {
      ...redisFields(),
      ...redisBrokerFields(),
      ...redisPresenceFields(),
    }),
  }),
  broker: obj('Standalone broker, configured apart from the engine (for example NATS PUB/SUB with Redis presence).', {
    enabled: bool('Uses this broker instead of the engine broker.', false, { flag: true }),
    type: oneOf('Broker type: `memory`, `redis` or `nats` (`postgres` and `redisnats` load, so Centrifugo configs do, but are refused when enabled: not implemented).', ['memory', 'redis', 'nats', 'postgres', 'redisnats'], 'memory', { flag: true }),
    redis: obj('Redis broker settings.', { ...redisFields(), ...redisBrokerFields() }),
    nats: natsBroker(),
  }),
  presence_manager: obj('Standalone presence manager, configured apart from the engine.', {
    enabled: bool('Uses this presence manager instead of the engine one.', false, { flag: true }),
    type: oneOf('Presence manager type: `memory` or `redis`.', ['memory', 'redis'], 'memory', { flag: true }),
    redis: obj('Redis presence manager settings.', { ...redisFields(), ...redisPresenceFields() }),
  }),
  redis_api_queue: obj(
    'Centrifugo v1\'s Redis API queue: every node takes server API commands (v1\'s format) pushed with RPUSH to the list `<engine.redis.prefix>.api`, and to `<prefix>.api.<i>` for i below num_shards, and runs them; none is lost when a node stops or dies (docs/api-v1.md). Needs the Redis engine; uses its first address; not on a Redis Cluster. Rotor extension (v1\'s `redis_api`).',
    {
      enabled: bool('Takes commands from the queue.'),
      num_shards: int('Extra queue lists `<prefix>.api.0` … `<prefix>.api.<n-1>`, for producers that spread commands (keep one channel\'s commands in one list to keep their order).', 0, { min: 0, max: 128 }),
    },
  ),
  map_broker: obj('Broker for experimental map subscriptions (not implemented by Rotor).', {
    type: oneOf('Map broker type.', ['memory', 'redis', 'postgres'], 'memory'),
  }),
  controller: obj('Cluster controller for node coordination (Centrifugo: experimental PostgreSQL; not implemented by Rotor).', {
    enabled: bool('Enables a separate controller.'),
    type: str('Controller type.'),
  }),
};
