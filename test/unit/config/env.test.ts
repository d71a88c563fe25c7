import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, envName, loadConfig } from '../../../src/config/index.js';
import { readEnv } from '../../../src/config/env.js';

function fileWith(content: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'rotor-env-')), 'c.json');
  writeFileSync(file, JSON.stringify(content));
  return file;
}

test('env - names derive from the dotted path', () => {
  assert.equal(envName('http_server.port'), 'CENTRIFUGO_HTTP_SERVER_PORT');
  assert.equal(envName('client.token.hmac_secret_key'), 'CENTRIFUGO_CLIENT_TOKEN_HMAC_SECRET_KEY');
  assert.equal(envName('engine.redis.address'), 'CENTRIFUGO_ENGINE_REDIS_ADDRESS');
});

test('env - booleans use Go ParseBool spellings', () => {
  for (const [raw, want] of [['true', true], ['1', true], ['T', true], ['false', false], ['0', false], ['FALSE', false]] as const) {
    assert.equal(loadConfig({ env: { CENTRIFUGO_CLIENT_INSECURE: raw } }).config.client.insecure, want, raw);
  }
  assert.throws(() => loadConfig({ env: { CENTRIFUGO_CLIENT_INSECURE: 'yes' } }), {
    name: 'ConfigError',
    message: 'invalid config: client.insecure: expected boolean, got "yes"',
  });
});

test('env - string lists are space-separated (or a JSON array)', () => {
  const c = loadConfig({ env: { CENTRIFUGO_CLIENT_ALLOWED_ORIGINS: ' http://a.com  https://*.b.com ' } }).config;
  assert.deepEqual(c.client.allowed_origins, ['http://a.com', 'https://*.b.com']);
  const j = loadConfig({ env: { CENTRIFUGO_ENGINE_REDIS_ADDRESS: '["redis://r1:6379","redis://r2:6379"]' } }).config;
  assert.deepEqual(j.engine.redis.address, ['redis://r1:6379', 'redis://r2:6379']);
});

test('env - lists of objects and maps are JSON', () => {
  const c = loadConfig({
    env: {
      CENTRIFUGO_CHANNEL_NAMESPACES: '[{"name":"ns1","presence":true},{"name":"ns2","history_size":5,"history_ttl":"60s"}]',
      CENTRIFUGO_CLIENT_PROXY_CONNECT_HTTP_STATIC_HEADERS: '{"Authorization":"Bearer x"}',
    },
  }).config;
  assert.deepEqual(
    c.channel.namespaces.map((n) => [n.name, n.presence, n.history_size, n.history_ttl]),
    [
      ['ns1', true, 0, 0],
      ['ns2', false, 5, 60_000],
    ],
  );
  assert.deepEqual(c.client.proxy.connect.http.static_headers, { authorization: 'Bearer x' });
  assert.throws(
    () => loadConfig({ env: { CENTRIFUGO_CHANNEL_NAMESPACES: '[{"name":' } }),
    (err: unknown) => err instanceof ConfigError && /^invalid config: channel\.namespaces: CENTRIFUGO_CHANNEL_NAMESPACES: invalid JSON/.test(err.message),
  );
});

test('env - per-item namespace overrides patch items by name', () => {
  const file = fileWith({ channel: { namespaces: [{ name: 'chat.room' }, { name: 'chat' }, { name: 'news-feed' }] }, proxies: [{ name: 'p1', endpoint: 'http://x' }] });
  const { config, warnings } = loadConfig({
    file,
    env: {
      CENTRIFUGO_CHANNEL_NAMESPACES_CHAT_ROOM_PRESENCE: 'true',
      CENTRIFUGO_CHANNEL_NAMESPACES_CHAT_JOIN_LEAVE: '1',
      CENTRIFUGO_CHANNEL_NAMESPACES_NEWS_FEED_HISTORY_SIZE: '10',
      CENTRIFUGO_CHANNEL_NAMESPACES_NEWS_FEED_HISTORY_TTL: '5m',
      CENTRIFUGO_PROXIES_P1_TIMEOUT: '3s',
      CENTRIFUGO_PROXIES_P1_HTTP_STATIC_HEADERS: '{"X-A":"b"}',
      CENTRIFUGO_CHANNEL_NAMESPACES_MISSING_PRESENCE: 'true',
    },
  });
  const [room, chat, news] = config.channel.namespaces;
  assert.equal(room?.presence, true);
  assert.equal(room?.join_leave, false);
  assert.equal(chat?.join_leave, true);
  assert.equal(chat?.presence, false);
  assert.equal(news?.history_size, 10);
  assert.equal(news?.history_ttl, 300_000);
  assert.equal(config.proxies[0]?.timeout, 3000);
  assert.deepEqual(config.proxies[0]?.http.static_headers, { 'x-a': 'b' });
  assert.deepEqual(warnings, [
    'env var "CENTRIFUGO_CHANNEL_NAMESPACES_MISSING_PRESENCE" matches no channel.namespaces item option (items are matched by name)',
  ]);
});

test('env - unknown vars warn with a suggestion; VAR_ and Kubernetes vars are ignored', () => {
  const r = readEnv({
    CENTRIFUGO_CLIENT_ALOWED_ORIGINS: '*',
    ROTOR_HTTP_SERVER_PROT: '1',
    CENTRIFUGO_VAR_SECRET: 'x',
    CENTRIFUGO_PORT: 'tcp://10.0.0.1:8000',
    CENTRIFUGO_PORT_8000_TCP_ADDR: '10.0.0.1',
    CENTRIFUGO_SERVICE_HOST: '10.0.0.1',
    CENTRIFUGO_SERVICE_PORT_HTTP: '8000',
    CENTRIFUGO_QQQQQQQQQQQQQQQQQQ: 'x',
    OTHER: 'x',
  });
  assert.deepEqual(r.warnings, [
    'unknown env var "CENTRIFUGO_CLIENT_ALOWED_ORIGINS" (did you mean "CENTRIFUGO_CLIENT_ALLOWED_ORIGINS"?)',
    'unknown env var "CENTRIFUGO_QQQQQQQQQQQQQQQQQQ"',
    'unknown env var "ROTOR_HTTP_SERVER_PROT" (did you mean "ROTOR_HTTP_SERVER_PORT"?)',
  ]);
  assert.deepEqual(r.values, []);
});

test('env - empty values are unset', () => {
  const file = fileWith({ http_server: { port: 9000 } });
  assert.equal(loadConfig({ file, env: { CENTRIFUGO_HTTP_SERVER_PORT: '' } }).config.http_server.port, 9000);
});

test('env - named lists take space-separated item names, then per-item options', () => {
  const c = loadConfig({
    env: {
      CENTRIFUGO_CHANNEL_NAMESPACES: 'chat  news',
      CENTRIFUGO_CHANNEL_NAMESPACES_CHAT_PRESENCE: 'true',
      CENTRIFUGO_CHANNEL_NAMESPACES_NEWS_HISTORY_SIZE: '10',
      CENTRIFUGO_CHANNEL_NAMESPACES_NEWS_HISTORY_TTL: '300s',
      CENTRIFUGO_RPC_NAMESPACES: 'rpc1',
      CENTRIFUGO_PROXIES: 'p1',
      CENTRIFUGO_PROXIES_P1_ENDPOINT: 'http://backend/p1',
      CENTRIFUGO_CONSUMERS: 'kafka1',
      CENTRIFUGO_CONSUMERS_KAFKA1_TYPE: 'kafka',
    },
  }).config;
  assert.deepEqual(
    c.channel.namespaces.map((n) => [n.name, n.presence, n.history_size, n.history_ttl]),
    [
      ['chat', true, 0, 0],
      ['news', false, 10, 300_000],
    ],
  );
  assert.deepEqual(c.rpc.namespaces.map((n) => n.name), ['rpc1']);
  assert.deepEqual(c.proxies.map((p) => [p.name, p.endpoint]), [['p1', 'http://backend/p1']]);
  assert.deepEqual(c.consumers.map((k) => [k.name, k.type]), [['kafka1', 'kafka']]);
  // The env list replaces the file's list, as a JSON value does.
  const file = fileWith({ channel: { namespaces: [{ name: 'old', presence: true }] } });
  assert.deepEqual(loadConfig({ file, env: { CENTRIFUGO_CHANNEL_NAMESPACES: 'fresh' } }).config.channel.namespaces.map((n) => n.name), ['fresh']);
});

test('env - integers are read as Go ParseInt(s, 0, 64): base prefixes, leading 0 is octal, nothing else', () => {
  const key = 'CENTRIFUGO_CLIENT_HISTORY_MAX_PUBLICATION_LIMIT';
  const limit = (v: string) => loadConfig({ env: { [key]: v } }).config.client.history_max_publication_limit;
  assert.equal(limit('300'), 300);
  assert.equal(limit('010'), 8);
  assert.equal(limit('0x10'), 16);
  for (const bad of ['08', '1.0', ' 10', '1e3']) {
    assert.throws(() => limit(bad), (e: unknown) => e instanceof ConfigError && e.issues.some((i) => i.path === 'client.history_max_publication_limit'), bad);
  }
});

test('env - a Centrifugo v5 variable is warned about with its v6 option and variable', () => {
  const r = readEnv({ CENTRIFUGO_TOKEN_HMAC_SECRET_KEY: 'x', ROTOR_API_KEY: 'y' });
  assert.deepEqual(r.values, []);
  assert.deepEqual(r.warnings.sort(), [
    'unknown env var "CENTRIFUGO_TOKEN_HMAC_SECRET_KEY": token_hmac_secret_key is a Centrifugo v5 key; in v6 it is client.token.hmac_secret_key (env CENTRIFUGO_CLIENT_TOKEN_HMAC_SECRET_KEY)',
    'unknown env var "ROTOR_API_KEY": api_key is a Centrifugo v5 key; in v6 it is http_api.key (env ROTOR_HTTP_API_KEY)',
  ]);
});
