/**
 * Centrifugo v1 and v5 flat configs moved to the v6 layout (config/migrate.ts): the v1 docs'
 * example configs (test/fixtures/v1-configs, in JSON, TOML and YAML) migrate to configs that load
 * with no unknown key, with each value in its v6 place and unit; loading a v1 file starts from that
 * form and names what it cannot honour; v5 files are converted by `rotor config migrate` and still
 * refused at load, naming the command.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { migrateConfig, legacyLayoutOf, v1RedisAddresses } from '../../../src/config/migrate.js';
import { loadConfig, readConfigFile, validateConfig } from '../../../src/config/load.js';
import { unknownKeyWarnings } from '../../../src/config/suggest.js';
import { ConfigError } from '../../../src/config/errors.js';

const DIR = new URL('../../fixtures/v1-configs/', import.meta.url).pathname;
const fixtures = readdirSync(DIR).sort();

test('every v1 example config migrates to a v6 config that loads with no unknown key', () => {
  assert.ok(fixtures.length >= 8);
  for (const f of fixtures) {
    const raw = readConfigFile(join(DIR, f));
    assert.equal(legacyLayoutOf(raw), 'v1', f);
    const m = migrateConfig(raw);
    assert.equal(m.from, 'v1');
    assert.deepEqual(unknownKeyWarnings(m.config), [], f);
    assert.doesNotThrow(() => validateConfig(structuredClone(m.config)), f);
  }
});

test('the v1 docs\' development config: same v6 form from JSON, TOML and YAML, with units, names and v1\'s permissions', () => {
  const forms = ['dev.json', 'dev.toml', 'dev.yaml'].map((f) => migrateConfig(readConfigFile(join(DIR, f))));
  assert.deepEqual(forms[1]!.config, forms[0]!.config);
  assert.deepEqual(forms[2]!.config, forms[0]!.config);
  const m = forms[0]!;
  assert.deepEqual(m.config, {
    // v1 served SockJS and had client-limited channels without being asked.
    client: { token: { hmac_secret_key: 'secret' }, v1: { enabled: true, client_channel_boundary: '&' } },
    sockjs: { enabled: true },
    http_api: { v1_format: true, key: 'secret' },
    log: { level: 'debug' },
    channel: {
      namespaces: [
        {
          name: 'public',
          allow_publish_for_subscriber: true,
          presence: true,
          join_leave: true,
          history_size: 10,
          history_ttl: '30s',
          allow_subscribe_for_client: true,
          allow_user_limited_channels: true,
          allow_presence_for_subscriber: true,
          allow_history_for_subscriber: true,
          force_push_join_leave: true,
          watch: true,
        },
      ],
      without_namespace: { allow_subscribe_for_client: true, allow_user_limited_channels: true },
    },
  });
  assert.deepEqual(m.dropped, []);
  assert.ok(m.notes.some((n) => n.startsWith('http_api.key set to the v1 secret')));
});

test('v1 project-level options go to without_namespace; anonymous gets presence and history too; recover forces recovery', () => {
  const m = migrateConfig(readConfigFile(join(DIR, 'project-options.json')));
  assert.deepEqual(m.config['channel'], {
    without_namespace: {
      allow_subscribe_for_anonymous: true,
      allow_publish_for_subscriber: true,
      presence: true,
      join_leave: true,
      history_size: 10,
      history_ttl: '30s',
      force_recovery: true,
      allow_subscribe_for_client: true,
      allow_user_limited_channels: true,
      allow_presence_for_subscriber: true,
      allow_history_for_subscriber: true,
      force_push_join_leave: true,
      allow_presence_for_anonymous: true,
      allow_history_for_anonymous: true,
      allow_publish_for_anonymous: true,
      watch: true,
    },
  });
  assert.deepEqual(m.dropped.map((d) => d.path).sort(), []);
  assert.deepEqual((m.config['client'] as Record<string, unknown>)['v1'], { connection_lifetime: '0s', enabled: true, client_channel_boundary: '&' });
});

test('v1 endpoints, Redis and tuning keys: strings to numbers, host and port to one address, seconds to durations', () => {
  const e = migrateConfig(readConfigFile(join(DIR, 'endpoints.json'))).config;
  assert.deepEqual(e['http_server'], { port: 9000, internal_port: '10000' });
  assert.deepEqual([e['admin'], e['debug'], e['http_api']], [{ enabled: true, password: 'password', secret: 'secret', v1_socket: true }, { enabled: true }, { insecure: true, v1_format: true, key: 'secret' }]);
  const r = migrateConfig(readConfigFile(join(DIR, 'redis.json')));
  assert.deepEqual(r.config['engine'], { type: 'redis', redis: { db: 0, password: '', address: ['127.0.0.1:6379'], presence_ttl: '60s' } });
  assert.equal((r.config['node'] as Record<string, unknown>)['info_metrics_aggregate_interval'], '60s');
  assert.deepEqual(r.config['client'], {
    token: { hmac_secret_key: 'secret' },
    presence_update_interval: '25s',
    ping_interval: '25s',
    expired_close_delay: '25s',
    stale_close_delay: '25s',
    channel_limit: 128,
    queue_max_size: 10485760,
    user_connection_limit: 0,
    v1: { enabled: true, client_channel_boundary: '&' },
  });
  assert.deepEqual(r.config['sockjs'], { enabled: true, heartbeat_delay: '25s' });
  assert.deepEqual(r.dropped.map((d) => d.path).sort(), ['gomaxprocs', 'redis_pool']);
});

test('v5 flat keys: renamed, proxy endpoints switched on, shared proxy settings copied into each proxy', () => {
  const raw = {
    token_hmac_secret_key: 'k',
    api_key: 'a',
    proxy_connect_endpoint: 'http://backend/connect',
    proxy_rpc_endpoint: 'http://backend/rpc',
    proxy_http_headers: ['Cookie'],
    history_ttl: '60s',
    tarantool_address: 'x',
  };
  assert.equal(legacyLayoutOf(raw), 'v5');
  const m = migrateConfig(raw);
  assert.deepEqual(m.config, {
    client: { token: { hmac_secret_key: 'k' }, proxy: { connect: { endpoint: 'http://backend/connect', enabled: true, http_headers: ['Cookie'] } } },
    http_api: { key: 'a' },
    rpc: { proxy: { endpoint: 'http://backend/rpc', http_headers: ['Cookie'] }, without_namespace: { proxy_enabled: true } },
    channel: { without_namespace: { history_ttl: '60s' } },
  });
  assert.deepEqual(m.dropped, [{ path: 'tarantool_address', why: 'the Tarantool engine was removed in v6' }]);
  assert.throws(() => migrateConfig({ secret: 'a', token_hmac_secret_key: 'b' }), /not in one layout/);
});

test('loading: a v1 file starts from its v6 form with warnings; redis_api needs the Redis engine; a v5 file is refused naming `rotor config migrate`', async () => {
  const loaded = loadConfig({ file: join(DIR, 'dev.yaml') });
  assert.equal(loaded.config.client.token.hmac_secret_key, 'secret');
  assert.equal(loaded.config.channel.namespaces[0]!.history_ttl, 30_000);
  assert.ok(loaded.warnings.some((w) => w.includes('is a Centrifugo v1 config')));
  assert.deepEqual(loaded.unknownKeys, []);

  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'rotor-migrate-'));
  const queue = join(dir, 'queue.json');
  writeFileSync(queue, JSON.stringify({ secret: 's', engine: 'redis', redis_api: true, redis_api_num_shards: 2 }));
  assert.deepEqual(loadConfig({ file: queue }).config.redis_api_queue, { enabled: true, num_shards: 2 });
  writeFileSync(queue, JSON.stringify({ secret: 's', redis_api: true }));
  assert.throws(() => loadConfig({ file: queue }), (e: unknown) => e instanceof ConfigError && /redis_api_queue\.enabled: needs the Redis engine/.test(e.message));
  const v5 = join(dir, 'v5.json');
  writeFileSync(v5, JSON.stringify({ token_hmac_secret_key: 'k' }));
  assert.throws(() => loadConfig({ file: v5 }), (e: unknown) => e instanceof ConfigError && /rotor config migrate -c FILE/.test(e.message));
});

test('v1 Redis sharding and Sentinel: comma lists of hosts or ports are shards; ":26379" is this host', () => {
  assert.deepEqual(v1RedisAddresses(undefined, '6379,6380'), ['127.0.0.1:6379', '127.0.0.1:6380']);
  assert.deepEqual(v1RedisAddresses('192.168.1.34,192.168.1.35', undefined), ['192.168.1.34:6379', '192.168.1.35:6379']);
  assert.deepEqual(v1RedisAddresses('a,b', '1,2'), ['a:1', 'b:2']);
  assert.throws(() => v1RedisAddresses('a,b,c', '1,2'), /3 hosts and redis_port 2 ports/);
  // URLs split before the next URL only: a password may hold a comma.
  const urls = migrateConfig({ secret: 's', redis_url: 'redis://:pa,ss@h1:6379/0,redis://h2:6380' }).config['engine'] as { redis: { address: string[] } };
  assert.deepEqual(urls.redis.address, ['redis://:pa,ss@h1:6379/0', 'redis://h2:6380']);
  const m = migrateConfig({ secret: 's', engine: 'redis', redis_master_name: 'mymaster', redis_sentinels: ':26379,10.0.0.2:26379' });
  // The Sentinels watch one master: one entry, not two shards.
  assert.deepEqual(m.config['engine'], { type: 'redis', redis: { sentinel_master_name: 'mymaster', sentinel_address: ['127.0.0.1:26379,10.0.0.2:26379'] } });
});

test('v1 permissions keep user channels to their user; a v6 file with a stray v1 name is refused, not read as v1', async () => {
  const loaded = loadConfig({ file: join(DIR, 'dev.json') });
  const { ChannelRules } = await import('../../../src/rules/channels.js');
  const rules = new ChannelRules(loaded.config.channel);
  assert.equal(rules.isUserLimited(rules.resolve('news#42'), 'news#42'), true, 'news#42 stays user 42\'s');
  assert.equal(rules.userAllowed('news#42', '42'), true);
  assert.equal(rules.userAllowed('news#42', '43'), false);
  assert.ok(loaded.warnings.some((w) => w.startsWith('v1 config: http_api.key set to the v1 secret')), 'what the v6 form adds is said');

  const stray = { client: { token: { hmac_secret_key: 'k' } }, channel: { namespaces: [{ name: 'chat', publish: true }] } };
  assert.equal(legacyLayoutOf(stray), 'mixed');
  assert.throws(() => validateConfig(structuredClone(stray)), (e: unknown) => e instanceof ConfigError && /namespaces\[0\]\.publish is a Centrifugo v1 key/.test(e.message));
});

test('v1 files v6 would refuse as written: history without lifetime, log level critical, ping_interval 0, separate admin and API ports', () => {
  const m = migrateConfig({ secret: 's', history_size: 10, log_level: 'critical', ping_interval: 0, namespaces: [{ name: 'ab', history_size: 5, history_lifetime: 0 }], admin_port: '9001', web: true, admin: false, admin_password: 'p', admin_secret: 's' });
  assert.doesNotThrow(() => validateConfig(structuredClone(m.config)));
  const ch = m.config['channel'] as { without_namespace: Record<string, unknown>; namespaces: Record<string, unknown>[] };
  assert.equal(ch.without_namespace['history_size'], undefined);
  assert.equal(ch.namespaces[0]!['history_size'], undefined);
  assert.equal((m.config['log'] as Record<string, unknown>)['level'], 'fatal');
  assert.equal((m.config['client'] as Record<string, unknown>)['ping_interval'], undefined);
  // Only the admin endpoints moved: the API stays on the main port; web switched admin on.
  assert.deepEqual([getIn(m.config, 'http_server', 'internal_port'), getIn(m.config, 'http_api', 'external'), getIn(m.config, 'admin', 'enabled')], ['9001', true, true]);
  const both = migrateConfig({ secret: 's', admin_port: '9001', api_port: '9002' });
  assert.deepEqual([getIn(both.config, 'http_server', 'internal_port'), getIn(both.config, 'http_api', 'external')], ['9001', true]);
  assert.ok(both.notes.some((n) => n.startsWith('api_port 9002 and admin_port 9001 differ')));
});

function getIn(o: Record<string, unknown>, section: string, key: string): unknown {
  return (o[section] as Record<string, unknown> | undefined)?.[key];
}
