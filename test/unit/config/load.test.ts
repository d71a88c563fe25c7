import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, type Config } from '../../../src/config/index.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../../fixtures/config/${name}`, import.meta.url));

function tempFile(name: string, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-config-'));
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

test('load - defaults when there are no sources', () => {
  const { config, warnings } = loadConfig({});
  assert.deepEqual(warnings, []);
  assert.equal(config.http_server.port, 8000);
  assert.equal(config.http_server.internal_port, '');
  assert.equal(config.engine.type, 'memory');
  assert.deepEqual(config.engine.redis.address, ['redis://127.0.0.1:6379']);
  assert.equal(config.engine.redis.prefix, 'centrifugo');
  assert.equal(config.broker.nats.url, 'nats://localhost:4222');
  assert.equal(config.broker.nats.dial_timeout, 1000);
  assert.equal(config.client.ping_interval, 25_000);
  assert.equal(config.client.pong_timeout, 8000);
  assert.equal(config.client.channel_limit, 128);
  assert.equal(config.client.queue_max_size, 1_048_576);
  assert.equal(config.channel.history_meta_ttl, 720 * 3600 * 1000);
  assert.equal(config.channel.without_namespace.force_recovery_mode, 'stream');
  assert.equal(config.channel.without_namespace.subscribe_proxy_name, 'default');
  assert.equal(config.websocket.write_timeout, 1000);
  assert.equal(config.websocket.handler_prefix, '/connection/websocket');
  assert.equal(config.uni_websocket.join_push_messages, false);
  assert.equal(config.shutdown.timeout, 30_000);
  assert.equal(config.rpc.ping.method, 'ping');
  assert.equal(config.log.level, 'info');
  assert.deepEqual(config.channel.namespaces, []);
});

test('load - JSON, YAML and TOML fixtures give the same config', () => {
  const env = { CENTRIFUGO_VAR_TOKEN: 't0k' };
  const results = ['basic.json', 'basic.yaml', 'basic.toml'].map((f) => loadConfig({ file: fixture(f), env }));
  for (const r of results) assert.deepEqual(r.warnings, []);
  const [json, yaml, toml] = results.map((r) => r.config);
  assert.deepEqual(yaml, json);
  assert.deepEqual(toml, json);
  const c = json as Config;
  assert.equal(c.http_server.port, 9000);
  assert.equal(c.log.level, 'debug');
  assert.equal(c.client.ping_interval, 10_000);
  assert.equal(c.client.pong_timeout, 4000, 'a plain number is seconds');
  assert.equal(c.channel.namespaces[0]?.history_ttl, 300_000);
  assert.equal(c.channel.namespaces[1]?.allow_subscribe_for_client, true);
  assert.equal(c.proxies[0]?.timeout, 90_000);
  assert.deepEqual(c.proxies[0]?.http.static_headers, { 'x-token': 't0k' }, 'map keys lower-cased, vars expanded');
});

test('load - precedence defaults < file < env < flags', () => {
  const file = tempFile('c.json', JSON.stringify({ http_server: { port: 9000, address: 'file' }, log: { level: 'warn' } }));
  const env = { CENTRIFUGO_HTTP_SERVER_PORT: '9100', CENTRIFUGO_LOG_LEVEL: 'error' };
  const only = loadConfig({ file }).config;
  assert.equal(only.http_server.port, 9000);
  assert.equal(only.http_server.internal_address, '');
  const withEnv = loadConfig({ file, env }).config;
  assert.equal(withEnv.http_server.port, 9100);
  assert.equal(withEnv.log.level, 'error');
  assert.equal(withEnv.http_server.address, 'file');
  const withFlags = loadConfig({ file, env, flags: { 'http_server.port': 9200 } }).config;
  assert.equal(withFlags.http_server.port, 9200);
  assert.equal(withFlags.log.level, 'error', 'flags only override what they set');
});

test('load - ROTOR_ prefix is an alias that wins over CENTRIFUGO_', () => {
  assert.equal(loadConfig({ env: { ROTOR_CLIENT_CHANNEL_LIMIT: '5' } }).config.client.channel_limit, 5);
  const both = loadConfig({ env: { CENTRIFUGO_CLIENT_CHANNEL_LIMIT: '6', ROTOR_CLIENT_CHANNEL_LIMIT: '7' } });
  assert.equal(both.config.client.channel_limit, 7);
  const emptyAlias = loadConfig({ env: { CENTRIFUGO_CLIENT_CHANNEL_LIMIT: '6', ROTOR_CLIENT_CHANNEL_LIMIT: '' } });
  assert.equal(emptyAlias.config.client.channel_limit, 6, 'empty value = unset');
  const token = loadConfig({ env: { CENTRIFUGO_CLIENT_TOKEN_HMAC_SECRET_KEY: 'k' } }).config;
  assert.equal(token.client.token.hmac_secret_key, 'k');
});

test('load - unknown file keys are warnings with the nearest valid key; v5 keys are errors', () => {
  const { warnings } = loadConfig({ file: fixture('unknown-keys.yaml') });
  assert.deepEqual(warnings, [
    'unknown config key "client.alowed_origins" (did you mean "client.allowed_origins"?)',
    'unknown config key "channel.namespaces[0].presense" (did you mean "channel.namespaces[0].presence"?)',
  ]);
  // Centrifugo v5 flat keys are not warnings but errors (test/unit/config/legacy-keys.test.ts).
  const legacy = configError(() => loadConfig({ file: tempFile('l.json', '{"token_hmac_secret_key":"x","allowed_origins":[],"port":1}') }));
  assert.deepEqual(
    legacy.issues.map((i) => i.message),
    [
      'token_hmac_secret_key is a Centrifugo v5 key; in v6 it is client.token.hmac_secret_key',
      'allowed_origins is a Centrifugo v5 key; in v6 it is client.allowed_origins',
      'port is a Centrifugo v1 and v5 key; in v6 it is http_server.port',
    ],
  );
  assert.deepEqual(loadConfig({ file: tempFile('z.json', '{"zzzzzzzzzz":1}') }).warnings, ['unknown config key "zzzzzzzzzz"']);
});

test('load - invalid values throw ConfigError naming the key path', () => {
  assert.equal(
    configError(() => loadConfig({ file: fixture('invalid-value.json') })).message,
    'invalid config: client.channel_limit: expected number, got "abc"',
  );
  assert.equal(
    configError(() => loadConfig({ env: { CENTRIFUGO_CLIENT_CHANNEL_LIMIT: 'abc' } })).message,
    'invalid config: client.channel_limit: expected number, got "abc"',
  );
  assert.match(configError(() => loadConfig({ env: { CENTRIFUGO_LOG_LEVEL: 'loud' } })).message, /^invalid config: log\.level: expected one of "none", .*got "loud"$/);
  assert.equal(configError(() => loadConfig({ flags: { 'http_server.port': 1.5 } })).message, 'invalid config: http_server.port: expected integer, got 1.5');
  assert.match(configError(() => loadConfig({ flags: { 'http_server.port': 70000 } })).message, /http_server\.port: must be <= 65535/);
  const nested = configError(() =>
    loadConfig({ file: tempFile('n.json', JSON.stringify({ channel: { namespaces: [{ name: 'ok', presence: 'yes' }] } })) }),
  );
  assert.equal(nested.message, 'invalid config: channel.namespaces[0].presence: expected boolean, got "yes"');
  assert.deepEqual(nested.issues, [{ path: 'channel.namespaces[0].presence', message: 'expected boolean, got "yes"' }]);
  assert.match(configError(() => loadConfig({ env: { CENTRIFUGO_ENGINE_TYPE: 'tarantool' } })).message, /engine\.type: expected one of "memory", "redis"/);
  assert.match(configError(() => loadConfig({ env: { CENTRIFUGO_BROKER_TYPE: 'kafka' } })).message, /broker\.type: expected one of "memory", "redis", "nats"/);
  assert.match(configError(() => loadConfig({ env: { CENTRIFUGO_HTTP_API_ERROR_MODE: 'x' } })).message, /http_api\.error_mode: expected one of "", "transport", "custom"/);
  assert.match(configError(() => loadConfig({ flags: { 'no.such': 1 } })).message, /unknown flag option "no\.such"/);
});

test('load - durations: strings, numbers of seconds, -1 for disabled pings', () => {
  const c = loadConfig({ env: { CENTRIFUGO_CLIENT_PING_INTERVAL: '-1', CENTRIFUGO_CLIENT_PONG_TIMEOUT: '-1', CENTRIFUGO_CLIENT_STALE_CLOSE_DELAY: '1m30s' } }).config;
  assert.equal(c.client.ping_interval, -1);
  assert.equal(c.client.pong_timeout, -1);
  assert.equal(c.client.stale_close_delay, 90_000);
  const file = tempFile('d.yaml', 'client:\n  expired_close_delay: 2.5\n  presence_update_interval: 500ms\n');
  const d = loadConfig({ file }).config;
  assert.equal(d.client.expired_close_delay, 2500);
  assert.equal(d.client.presence_update_interval, 500);
  assert.match(
    configError(() => loadConfig({ env: { CENTRIFUGO_CLIENT_STALE_CLOSE_DELAY: '5d' } })).message,
    /^invalid config: client\.stale_close_delay: invalid duration "5d"/,
  );
  assert.match(
    configError(() => loadConfig({ env: { CENTRIFUGO_CLIENT_STALE_CLOSE_DELAY: '-1s' } })).message,
    /client\.stale_close_delay: must not be negative/,
  );
  assert.match(
    configError(() => loadConfig({ file: tempFile('b.json', '{"client":{"stale_close_delay":true}}') })).message,
    /client\.stale_close_delay: expected duration, got true/,
  );
});

test('load - missing files: default one tolerated, explicit one is an error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-config-'));
  const missing = join(dir, 'config.json');
  const tolerated = loadConfig({ file: missing, fileOptional: true });
  assert.equal(tolerated.config.http_server.port, 8000);
  assert.match(tolerated.warnings[0] ?? '', /not found, using defaults/);
  assert.match(configError(() => loadConfig({ file: missing })).message, /cannot read config file ".*config\.json": file not found/);
  assert.match(configError(() => loadConfig({ file: join(dir, 'c.ini') })).message, /unsupported config file extension "\.ini"/);
});

test('load - malformed files name the file and position', () => {
  assert.match(configError(() => loadConfig({ file: fixture('malformed.json') })).message, /invalid config file ".*malformed\.json": .* at line 4, column 3$/);
  assert.match(configError(() => loadConfig({ file: fixture('malformed.yaml') })).message, /invalid config file ".*malformed\.yaml": .*line \d+, column \d+/);
  assert.match(configError(() => loadConfig({ file: fixture('malformed.toml') })).message, /invalid config file ".*malformed\.toml": .* at line 2, column \d+$/);
  assert.match(configError(() => loadConfig({ file: tempFile('a.json', '[1, 2]') })).message, /the top level must be an object/);
  assert.equal(loadConfig({ file: tempFile('e.yaml', '# only a comment\n') }).config.http_server.port, 8000);
});

test('load - the result is deeply frozen', () => {
  const { config } = loadConfig({ file: fixture('basic.json'), env: { CENTRIFUGO_VAR_TOKEN: 'x' } });
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.client.token));
  assert.ok(Object.isFrozen(config.channel.namespaces));
  assert.ok(Object.isFrozen(config.channel.namespaces[0]));
  assert.ok(Object.isFrozen(config.client.allowed_origins));
  assert.throws(() => {
    (config.http_server as { port: number }).port = 1;
  }, TypeError);
  assert.equal(loadConfig({}).config.client.allowed_origins.length, 0, 'frozen results share no defaults');
});

test('load - unset ${CENTRIFUGO_VAR_*} in a static header becomes empty with a warning', () => {
  const { config, warnings } = loadConfig({ file: fixture('basic.json') });
  assert.deepEqual(config.proxies[0]?.http.static_headers, { 'x-token': '' });
  assert.deepEqual(warnings, ['proxies[0].http.static_headers.x-token: env var CENTRIFUGO_VAR_TOKEN is not set, using an empty string']);
});

test('load - write batching keys: defaults, Centrifugo spellings from env, and a bad value names its key', () => {
  const { config } = loadConfig({});
  assert.equal(config.client.write_delay, 0);
  assert.equal(config.client.max_messages_in_frame, 16);
  assert.equal(config.client.reply_without_queue, false);
  const env = { CENTRIFUGO_CLIENT_WRITE_DELAY: '25ms', CENTRIFUGO_CLIENT_MAX_MESSAGES_IN_FRAME: '-1', CENTRIFUGO_CLIENT_REPLY_WITHOUT_QUEUE: 'true' };
  const fromEnv = loadConfig({ env }).config.client;
  assert.deepEqual([fromEnv.write_delay, fromEnv.max_messages_in_frame, fromEnv.reply_without_queue], [25, -1, true]);
  assert.match(configError(() => loadConfig({ env: { CENTRIFUGO_CLIENT_MAX_MESSAGES_IN_FRAME: '-2' } })).message, /client\.max_messages_in_frame/);
});
