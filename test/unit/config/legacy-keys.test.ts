import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, validateConfig } from '../../../src/config/index.js';
import { findOption } from '../../../src/config/describe.js';
import { describeLegacyKey, findLegacyKeys } from '../../../src/config/legacy-check.js';
import { LEGACY_KEYS } from '../../../src/config/legacy-keys.js';
import { configSchema } from '../../../src/config/schema.js';
import { metaOf } from '../../../src/config/schema/define.js';
import { unknownKeyWarnings } from '../../../src/config/suggest.js';
import { generatedConfig } from '../../../src/cli/commands/genconfig.js';

/** Every finding of `raw` as its message line. */
const messages = (raw: Record<string, unknown>): string[] => findLegacyKeys(raw).map(describeLegacyKey);

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

/** The v5 config of issue #15: flat keys only, so a v6 reader would run on defaults. */
const V5_CONFIG = {
  admin: true,
  admin_password: 'p',
  admin_secret: 's',
  token_hmac_secret_key: 'secret',
  api_key: 'key',
  allowed_origins: ['http://localhost:3000'],
  history_size: 10,
  history_ttl: '300s',
  presence: true,
  namespaces: [{ name: 'chat', presence: true, proxy_subscribe: true }],
};

test('legacy keys - every v6 place in the table is a Rotor option', () => {
  for (const [key, entry] of Object.entries(LEGACY_KEYS)) {
    assert.ok(entry.from.length > 0, key);
    if (entry.v6 !== null) assert.ok(findOption(entry.v6) !== undefined, `${key}: ${entry.v6} is not an option`);
    if (entry.proxyField !== undefined) {
      assert.equal(entry.v6, null, key);
      for (const proxy of ['client.proxy.connect', 'channel.proxy.subscribe', 'rpc.proxy']) {
        assert.ok(findOption(`${proxy}.${entry.proxyField}`) !== undefined, `${key}: ${proxy}.${entry.proxyField}`);
      }
    }
    if (entry.v6 === null) assert.ok(entry.proxyField !== undefined || entry.note !== undefined, `${key}: say why v6 has no place`);
  }
});

test('legacy keys - a flat key that is also a v6 top-level key is one only where v6 has a section', () => {
  const sections = metaOf(configSchema)?.fields ?? {};
  for (const key of Object.keys(LEGACY_KEYS)) {
    const section = sections[key];
    if (section !== undefined) assert.equal(metaOf(section)?.kind, 'object', `${key} is a v6 key of the same kind, not a legacy one`);
  }
  // v6 keys that kept their v5 name and shape are not reported.
  assert.deepEqual(messages({ pid_file: 'rotor.pid', proxies: [], consumers: [] }), []);
});

test('legacy keys - the v5 config names every key and its v6 place', () => {
  assert.deepEqual(messages(V5_CONFIG), [
    'admin is a Centrifugo v1 and v5 key; in v6 it is admin.enabled',
    'admin_password is a Centrifugo v1 and v5 key; in v6 it is admin.password',
    'admin_secret is a Centrifugo v1 and v5 key; in v6 it is admin.secret',
    'token_hmac_secret_key is a Centrifugo v5 key; in v6 it is client.token.hmac_secret_key',
    'api_key is a Centrifugo v5 key; in v6 it is http_api.key',
    'allowed_origins is a Centrifugo v5 key; in v6 it is client.allowed_origins',
    'history_size is a Centrifugo v1 and v5 key; in v6 it is channel.without_namespace.history_size',
    'history_ttl is a Centrifugo v5 key; in v6 it is channel.without_namespace.history_ttl',
    'presence is a Centrifugo v1 and v5 key; in v6 it is channel.without_namespace.presence',
    'namespaces is a Centrifugo v1 and v5 key; in v6 it is channel.namespaces',
    'namespaces[0].proxy_subscribe is a Centrifugo v5 key; in v6 it is channel.namespaces[0].subscribe_proxy_enabled',
  ]);
});

test('legacy keys - the v1 config: secret, seconds, dropped options and v1 names inside namespaces', () => {
  const v1 = {
    secret: 'very-long-secret-key',
    connection_lifetime: 0,
    anonymous: true,
    watch: true,
    history_lifetime: 30,
    namespaces: [{ name: 'public', publish: true, watch: true, presence: true, history_size: 10, history_lifetime: 30, recover: true }],
    redis_host: '127.0.0.1',
    sockjs_url: 'x',
  };
  assert.deepEqual(messages(v1), [
    'secret is a Centrifugo v1 key; in v6 it is client.token.hmac_secret_key (v1 also signed API requests with it; v6 checks http_api.key)',
    'connection_lifetime is a Centrifugo v1 key; in v6 it is client.v1.connection_lifetime (v1 takes a number of seconds, v6 a duration such as "25s")',
    'anonymous is a Centrifugo v1 key; in v6 it is channel.without_namespace.allow_subscribe_for_anonymous (v6 also has allow_presence_for_anonymous and allow_history_for_anonymous)',
    'watch is a Centrifugo v1 key; in v6 it is channel.without_namespace.watch',
    'history_lifetime is a Centrifugo v1 key; in v6 it is channel.without_namespace.history_ttl (v1 takes a number of seconds, v6 a duration such as "25s")',
    'namespaces is a Centrifugo v1 and v5 key; in v6 it is channel.namespaces',
    'namespaces[0].publish is a Centrifugo v1 key; in v6 it is channel.namespaces[0].allow_publish_for_subscriber (v1 let subscribed clients publish)',
    'namespaces[0].history_lifetime is a Centrifugo v1 key; in v6 it is channel.namespaces[0].history_ttl (v1 takes a number of seconds, v6 a duration such as "25s")',
    'namespaces[0].recover is a Centrifugo v1 key; in v6 it is channel.namespaces[0].force_recovery',
    'redis_host is a Centrifugo v1 key; in v6 it is engine.redis.address (v6 takes host and port together: "host:port" or a redis:// URL)',
    'sockjs_url is a Centrifugo v1 and v5 key; in v6 it is sockjs.url',
  ]);
});

test('legacy keys - scalars where v6 has a section, shared proxy options and v6 namespaces', () => {
  assert.deepEqual(messages({ engine: 'redis', prometheus: true, uni_sse: true, proxy_http_headers: ['Cookie'] }), [
    'engine is a Centrifugo v1 and v5 key; in v6 it is engine.type',
    'prometheus is a Centrifugo v5 key; in v6 it is prometheus.enabled',
    'uni_sse is a Centrifugo v5 key; in v6 it is uni_sse.enabled',
    'proxy_http_headers is a Centrifugo v5 key; in v6 it is http_headers of each proxy (client.proxy.connect, client.proxy.refresh, channel.proxy.<type>, rpc.proxy, proxies[])',
  ]);
  // The v6 forms of the same keys, and null (unset), are fine.
  assert.deepEqual(messages({ engine: { type: 'memory' }, prometheus: { enabled: true }, admin: null }), []);
  assert.deepEqual(
    messages({ channel: { without_namespace: { history_lifetime: 30, presence: true }, namespaces: [{ name: 'a' }, { name: 'b', proxy_publish: true }] } }),
    [
      'channel.without_namespace.history_lifetime is a Centrifugo v1 key; in v6 it is channel.without_namespace.history_ttl (v1 takes a number of seconds, v6 a duration such as "25s")',
      'channel.namespaces[1].proxy_publish is a Centrifugo v5 key; in v6 it is channel.namespaces[1].publish_proxy_enabled',
    ],
  );
  assert.deepEqual(messages(generatedConfig()), [], 'what genconfig writes is v6');
});

test('legacy keys - loading a v5 file fails with every key in the message and as issues', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-legacy-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(V5_CONFIG));
  const err = configError(() => loadConfig({ file, env: {} }));
  const [summary, ...lines] = err.message.split('\n');
  assert.match(summary ?? '', /^invalid config: Centrifugo v1\/v5 keys; Rotor reads the Centrifugo v6 layout/);
  assert.deepEqual(lines, messages(V5_CONFIG).map((m) => `  ${m}`));
  assert.deepEqual(
    err.issues.map((i) => i.path),
    ['admin', 'admin_password', 'admin_secret', 'token_hmac_secret_key', 'api_key', 'allowed_origins', 'history_size', 'history_ttl', 'presence', 'namespaces', 'namespaces[0].proxy_subscribe'],
  );
  // An env var for the v6 key does not hide the file's v5 form.
  assert.equal(configError(() => loadConfig({ file, env: { CENTRIFUGO_ADMIN_ENABLED: 'true' } })).message, err.message);
  // validateConfig (defaultconfig --base, library users) refuses them too.
  assert.deepEqual(
    configError(() => validateConfig({ api_key: 'x' })).issues,
    [{ path: 'api_key', message: 'api_key is a Centrifugo v5 key; in v6 it is http_api.key' }],
  );
});

test('suggest - unknown keys named like v5 keys point at the right section', () => {
  assert.deepEqual(unknownKeyWarnings({ namespaces: [] }), ['unknown config key "namespaces" (did you mean "channel.namespaces"?)']);
  assert.deepEqual(unknownKeyWarnings({ client: { namespaces: [] } }), ['unknown config key "client.namespaces" (did you mean "channel.namespaces"?)']);
  assert.deepEqual(unknownKeyWarnings({ rpc_namespaces: [] }), ['unknown config key "rpc_namespaces" (did you mean "rpc.namespaces"?)']);
  assert.deepEqual(unknownKeyWarnings({ api_error_mode: 'transport' }), ['unknown config key "api_error_mode" (did you mean "http_api.error_mode"?)']);
  assert.deepEqual(unknownKeyWarnings({ channel: { namespaces: [{ name: 'a', proxy_subscribe: true }] } }), [
    'unknown config key "channel.namespaces[0].proxy_subscribe" (did you mean "channel.namespaces[0].subscribe_proxy_enabled"?)',
  ]);
});
