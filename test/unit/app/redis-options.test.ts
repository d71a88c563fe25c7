/**
 * How a Redis section of the config becomes shard options: address URLs and their query options,
 * Sentinel and Cluster addresses, the section's fields as defaults, and errors that name the key
 * without the password.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../../src/config/index.js';
import { redisBrokerOptions, redisPresenceOptions, redisShards } from '../../../src/app/redis-options.js';
import { parseRedisAddress, redact } from '../../../src/engine/redis/options.js';

const configWith = (redis: Record<string, unknown>, section = 'engine') =>
  validateConfig({ [section]: { type: 'redis', redis } }).config;

const shardsOf = (redis: Record<string, unknown>) => redisShards(configWith(redis).engine.redis, 'engine.redis');

test('redis options - defaults: one shard on 127.0.0.1:6379, connect_timeout 1 s, io_timeout 4 s, prefix centrifugo', () => {
  const config = configWith({});
  const broker = redisBrokerOptions(config, 'engine');
  assert.equal(broker.prefix, 'centrifugo');
  assert.equal(broker.shardedPubSub, false);
  assert.deepEqual(broker.shards, [{ db: 0, connectTimeoutMs: 1000, ioTimeoutMs: 4000, topology: { kind: 'standalone', address: { host: '127.0.0.1', port: 6379 } } }]);
  const presence = redisPresenceOptions(config, 'engine');
  assert.equal(presence.presenceTtlMs, 60_000);
  assert.equal(presence.userMapping, false);
});

test('redis options - a URL carries user, password, db, TLS and its own timeouts, over the section fields', () => {
  const [shard] = shardsOf({
    address: ['rediss://app:s3cret@redis.internal:6380/3?connect_timeout=250ms&io_timeout=2s&client_name=rotor-a'],
    user: 'section-user',
    password: 'section-password',
    db: 1,
    io_timeout: '10s',
  });
  assert.deepEqual(shard, {
    db: 3,
    user: 'app',
    password: 's3cret',
    clientName: 'rotor-a',
    tls: {},
    connectTimeoutMs: 250,
    ioTimeoutMs: 2000,
    topology: { kind: 'standalone', address: { host: 'redis.internal', port: 6380 } },
  });
});

test('redis options - the section fields apply where the URL says nothing', () => {
  const [shard] = shardsOf({ address: ['redis://10.0.0.5'], user: 'u', password: 'p', db: 2, client_name: 'n', connect_timeout: '3s', io_timeout: '7s' });
  assert.deepEqual(shard, {
    db: 2,
    user: 'u',
    password: 'p',
    clientName: 'n',
    connectTimeoutMs: 3000,
    ioTimeoutMs: 7000,
    topology: { kind: 'standalone', address: { host: '10.0.0.5', port: 6379 } },
  });
});

test('redis options - several addresses are several shards, in order; a bare host:port and an IPv6 literal are addresses', () => {
  const shards = shardsOf({ address: ['127.0.0.1:7001', 'redis://[::1]:7002', 'localhost'] });
  assert.deepEqual(
    shards.map((s) => s.topology),
    [
      { kind: 'standalone', address: { host: '127.0.0.1', port: 7001 } },
      { kind: 'standalone', address: { host: '::1', port: 7002 } },
      { kind: 'standalone', address: { host: 'localhost', port: 6379 } },
    ],
  );
});

test('redis options - redis+sentinel:// with extra sentinels, master name and sentinel credentials from the URL', () => {
  const [shard] = shardsOf({
    address: ['redis+sentinel://s1:26380?addr=s2&addr=s3:26381&sentinel_master_name=mymaster&sentinel_user=su&sentinel_password=sp'],
    sentinel_user: 'section-su',
  });
  assert.deepEqual(shard?.topology, {
    kind: 'sentinel',
    masterName: 'mymaster',
    sentinels: [
      { host: 's1', port: 26380 },
      { host: 's2', port: 26379 },
      { host: 's3', port: 26381 },
    ],
    sentinelUser: 'su',
    sentinelPassword: 'sp',
  });
});

test('redis options - rediss+sentinel:// reaches the master over TLS; sentinel_tls is the Sentinels\' own TLS', () => {
  const [shard] = shardsOf({
    address: ['rediss+sentinel://s1?sentinel_master_name=m'],
    sentinel_password: 'section-sp',
    sentinel_tls: { enabled: true, server_name: 'sentinel.internal' },
  });
  assert.deepEqual(shard?.tls, {});
  assert.equal(shard?.topology.kind, 'sentinel');
  if (shard?.topology.kind !== 'sentinel') return;
  assert.equal(shard.topology.sentinelPassword, 'section-sp');
  assert.equal(shard.topology.sentinelTls?.servername, 'sentinel.internal');
});

test('redis options - sentinel_address entries with sentinel_master_name, one shard each', () => {
  const shards = shardsOf({ sentinel_address: ['a:26379,b:26380', 'c'], sentinel_master_name: 'mm' });
  assert.deepEqual(
    shards.map((s) => s.topology),
    [
      { kind: 'sentinel', masterName: 'mm', sentinels: [{ host: 'a', port: 26379 }, { host: 'b', port: 26380 }] },
      { kind: 'sentinel', masterName: 'mm', sentinels: [{ host: 'c', port: 26379 }] },
    ],
  );
});

test('redis options - cluster addresses: seeds, database forced to 0 (a Cluster has only db 0)', () => {
  const [fromUrl] = shardsOf({ address: ['redis+cluster://n1:7000?addr=n2:7001'], db: 5 });
  assert.deepEqual(fromUrl?.topology, { kind: 'cluster', nodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }] });
  assert.equal(fromUrl?.db, 0);
  const [fromSection] = shardsOf({ cluster_address: ['n1:7000,redis://n2:7001'], db: 5 });
  assert.deepEqual(fromSection?.topology, { kind: 'cluster', nodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }] });
  assert.equal(fromSection?.db, 0);
  const [tls] = shardsOf({ address: ['rediss+cluster://n1:7000'] });
  assert.deepEqual(tls?.tls, {});
});

test('redis options - broker and presence_manager sections are read from their own keys', () => {
  const broker = redisBrokerOptions(validateConfig({ broker: { type: 'redis', redis: { address: ['redis://b:1'], prefix: 'bp', sharded_pub_sub: true } } }).config, 'broker');
  assert.equal(broker.prefix, 'bp');
  assert.equal(broker.shardedPubSub, true);
  assert.deepEqual(broker.shards[0]?.topology, { kind: 'standalone', address: { host: 'b', port: 1 } });
  const presence = redisPresenceOptions(
    validateConfig({ presence_manager: { type: 'redis', redis: { address: ['redis://p:2'], presence_ttl: '15s', presence_user_mapping: true } } }).config,
    'presence_manager',
  );
  assert.equal(presence.presenceTtlMs, 15_000);
  assert.equal(presence.userMapping, true);
  assert.deepEqual(presence.shards[0]?.topology, { kind: 'standalone', address: { host: 'p', port: 2 } });
});

test('redis options - bad addresses: the error names the key and never shows the password', () => {
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ address: ['http://x:6379'] }, /^engine\.redis\.address\[0\]: "http:" is not a Redis scheme/],
    [{ address: ['redis://u:topsecret@h/notadb'] }, /^engine\.redis\.address\[0\]: "redis:\/\/u:\*\*\*@h\/notadb": the database must be a number/],
    [{ address: ['redis://u:topsecret@h?tls_enabled=yes'] }, /^engine\.redis\.address\[0\]: option tls_enabled: "yes" is not a boolean/],
    [{ address: ['unix://'] }, /^engine\.redis\.address\[0\]: "unix:\/\/" has no socket path/],
    [{ address: ['unix://u:topsecret@relative.sock'] }, /^engine\.redis\.address\[0\]: "unix:\/\/u:\*\*\*@relative\.sock" has no socket path/],
    [{ address: ['redis://h:1', 'redis://h:99999'] }, /^engine\.redis\.address\[1\]: /],
    [{ address: ['redis://a?addr=b'] }, /^engine\.redis\.address\[0\]: several hosts in one redis:\/\/ address/],
    [{ address: ['redis+sentinel://s1?sentinel_password=topsecret'] }, /^engine\.redis\.address\[0\]: needs sentinel_master_name/],
    [{ sentinel_address: ['s1'] }, /^engine\.redis\.sentinel_master_name: required with engine\.redis\.sentinel_address/],
    [{ cluster_address: ['n1:notaport'] }, /^engine\.redis\.cluster_address\[0\]: "n1:notaport" is not host:port/],
  ];
  for (const [redis, expected] of bad) {
    assert.throws(() => shardsOf(redis), (err: Error) => {
      assert.match(err.message, expected);
      assert.doesNotMatch(err.message, /topsecret/);
      return true;
    });
  }
});

test("redis options - Centrifugo v6's other address forms: tcp://, unix://, and any address with sentinel_master_name is a Sentinel's", () => {
  assert.deepEqual(shardsOf({ address: ['tcp://h:6380/3'] }).map((x) => [x.topology, x.db]), [[{ kind: 'standalone', address: { host: 'h', port: 6380 } }, 3]]);
  assert.deepEqual(shardsOf({ address: ['unix:///run/redis/redis.sock?db=2'] }).map((x) => [x.topology, x.db]), [[{ kind: 'standalone', address: { path: '/run/redis/redis.sock' } }, 2]]);
  const [unixAuth] = shardsOf({ address: ['unix://app:s3cret@/run/redis/redis.sock?force_resp2=true'], password: 'section' });
  assert.deepEqual([unixAuth?.topology, unixAuth?.user, unixAuth?.password, unixAuth?.resp2], [{ kind: 'standalone', address: { path: '/run/redis/redis.sock' } }, 'app', 's3cret', true]);
  assert.equal(shardsOf({ address: ['unix://:only-a-password@/tmp/r.sock'] })[0]?.password, 'only-a-password');
  const [s] = shardsOf({ address: ['redis://s1?sentinel_master_name=mm&addr=s2:26380'] });
  assert.deepEqual(s?.topology, { kind: 'sentinel', masterName: 'mm', sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26380 }] });
  assert.equal(s?.tls, undefined);
  // No address at all: Centrifugo's default.
  assert.deepEqual(shardsOf({ address: [] }).map((x) => x.topology), [{ kind: 'standalone', address: { host: '127.0.0.1', port: 6379 } }]);
});

test('redis options - force_resp2 and TLS from the section or the address query; sentinel_client_name', () => {
  assert.deepEqual(shardsOf({ force_resp2: true }).map((x) => x.resp2), [true]);
  assert.deepEqual(shardsOf({ address: ['redis://h?force_resp2=true', 'redis://h2?force_resp2=0', 'redis://h3'] }).map((x) => x.resp2), [true, undefined, undefined]);
  assert.deepEqual(shardsOf({ address: ['redis://h?tls_enabled=true'] })[0]?.tls, {});
  assert.deepEqual(shardsOf({ address: ['redis://h?tls_enabled=1'], tls: { enabled: true, server_name: 'r.internal' } })[0]?.tls, { servername: 'r.internal' });
  const [named] = shardsOf({ sentinel_address: ['s1'], sentinel_master_name: 'mm', sentinel_client_name: 'rotor-sentinel' });
  assert.equal(named?.topology.kind === 'sentinel' && named.topology.sentinelClientName, 'rotor-sentinel');
});

test('redis options - TLS to the Sentinels: rediss+sentinel:// and sentinel_tls_enabled turn it on; sentinel_tls without certificates of its own takes the tls object\'s, as Centrifugo does', () => {
  const sentinelTls = (redis: Record<string, unknown>) => {
    const [x] = shardsOf(redis);
    return x?.topology.kind === 'sentinel' ? x.topology.sentinelTls : 'not a sentinel';
  };
  assert.deepEqual(sentinelTls({ address: ['rediss+sentinel://s1?sentinel_master_name=m'] }), {});
  assert.deepEqual(sentinelTls({ address: ['redis+sentinel://s1?sentinel_master_name=m&sentinel_tls_enabled=true'], tls: { enabled: false, server_name: 'from-the-tls-object' } }), { servername: 'from-the-tls-object' });
  assert.equal(sentinelTls({ address: ['redis+sentinel://s1?sentinel_master_name=m'] }), undefined);
  assert.deepEqual(sentinelTls({ sentinel_address: ['s1'], sentinel_master_name: 'm', tls: { enabled: true, server_name: 'shared.internal' }, sentinel_tls: { enabled: true } }), { servername: 'shared.internal' });
  assert.deepEqual(sentinelTls({ sentinel_address: ['s1'], sentinel_master_name: 'm', tls: { enabled: true, server_name: 'shared.internal' }, sentinel_tls: { enabled: true, server_name: 'own.internal' } }), { servername: 'own.internal' });
});

test('redis options - redact hides URL and query passwords, keeps the user', () => {
  assert.equal(redact('redis://app:pw@h:1/0'), 'redis://app:***@h:1/0');
  assert.equal(redact('redis+sentinel://h?sentinel_password=pw&password=pw2'), 'redis+sentinel://h?sentinel_password=***&password=***');
  assert.equal(parseRedisAddress('h:7').topology.kind, 'standalone');
});
