/**
 * Weakly typed config values, as Centrifugo reads them (viper + mapstructure WeaklyTypedInput):
 * numeric strings for numbers, ParseBool strings for booleans, scalars for strings, null = unset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, validateConfig } from '../../../src/config/index.js';
import { weakBool, weakInt, weakString } from '../../../src/config/schema/weak.js';

function yamlFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'rotor-weak-')), 'config.yaml');
  writeFileSync(file, text);
  return file;
}

/** The ConfigError message for a raw config, or '' when it is valid. */
function errorOf(raw: Record<string, unknown>): string {
  try {
    validateConfig(raw);
    return '';
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message;
  }
}

test('weak - YAML strings for numbers and booleans, numbers for strings', () => {
  const file = yamlFile(['http_server:', '  port: "18000"', 'client:', '  token:', '    hmac_secret_key: 123456', 'health:', '  enabled: "true"', ''].join('\n'));
  const { config } = loadConfig({ file });
  assert.equal(config.http_server.port, 18000);
  assert.equal(config.client.token.hmac_secret_key, '123456');
  assert.equal(config.health.enabled, true);
});

test('weak - a key with no value (null) means unset, at any level', () => {
  const file = yamlFile(['client:', '  allowed_origins:', '  ping_interval:', '  token:', '    hmac_secret_key: s', 'http_api:', 'channel:', '  namespaces:', ''].join('\n'));
  const { config } = loadConfig({ file });
  assert.deepEqual(config.client.allowed_origins, []);
  assert.equal(config.client.ping_interval, 25_000);
  assert.equal(config.client.token.hmac_secret_key, 's');
  assert.equal(config.http_api.handler_prefix, '/api');
  assert.deepEqual(config.channel.namespaces, []);
  const json = validateConfig({ client: { allowed_origins: null, token: { hmac_secret_key: null } }, channel: { namespaces: null }, http_server: { internal_port: null } }).config;
  assert.deepEqual(json.client.allowed_origins, []);
  assert.equal(json.client.token.hmac_secret_key, '');
  assert.equal(json.http_server.internal_port, '');
});

test('weak - booleans take Go ParseBool strings and numbers; anything else names the key', () => {
  for (const [raw, want] of [['1', true], ['t', true], ['T', true], ['TRUE', true], ['True', true], ['0', false], ['f', false], ['F', false], ['FALSE', false], ['False', false], [1, true], [0, false]] as const) {
    assert.equal(validateConfig({ client: { insecure: raw } }).config.client.insecure, want, String(raw));
  }
  assert.equal(errorOf({ client: { insecure: 'yes' } }), 'invalid config: client.insecure: expected boolean, got "yes"');
  assert.equal(errorOf({ health: { enabled: [] } }), 'invalid config: health.enabled: expected boolean, got array');
});

test('weak - integers take decimal and Go base-prefixed strings; anything else names the key', () => {
  assert.equal(validateConfig({ client: { channel_limit: '64' } }).config.client.channel_limit, 64);
  assert.equal(validateConfig({ client: { channel_limit: '0x40' } }).config.client.channel_limit, 64);
  assert.equal(validateConfig({ client: { max_messages_in_frame: '-1' } }).config.client.max_messages_in_frame, -1);
  assert.equal(validateConfig({ client: { user_connection_limit: true } }).config.client.user_connection_limit, 1);
  assert.equal(errorOf({ client: { channel_limit: 'many' } }), 'invalid config: client.channel_limit: expected number, got "many"');
  assert.equal(errorOf({ client: { channel_limit: '1.5' } }), 'invalid config: client.channel_limit: expected number, got "1.5"');
  assert.equal(errorOf({ http_server: { port: '70000' } }), 'invalid config: http_server.port: must be <= 65535, got 70000');
});

test('weak - strings take numbers and booleans (as "1"/"0"); string lists take single values', () => {
  const c = validateConfig({
    http_api: { key: 42 },
    client: { token: { hmac_secret_key: true }, allowed_origins: 'https://a.example.com' },
    channel: { without_namespace: { allowed_delta_types: ['fossil'] } },
    engine: { redis: { address: ['redis://r1:6379', 6379] } },
  }).config;
  assert.equal(c.http_api.key, '42');
  assert.equal(c.client.token.hmac_secret_key, '1');
  assert.deepEqual(c.client.allowed_origins, ['https://a.example.com']);
  assert.deepEqual(c.engine.redis.address, ['redis://r1:6379', '6379']);
  assert.equal(errorOf({ http_api: { key: { nested: true } } }), 'invalid config: http_api.key: expected string, got object');
});

test('weak - log.level is case-insensitive and accepts fatal', () => {
  assert.equal(validateConfig({ log: { level: 'DEBUG' } }).config.log.level, 'debug');
  assert.equal(validateConfig({ log: { level: 'Warn' } }).config.log.level, 'warn');
  assert.equal(validateConfig({ log: { level: 'fatal' } }).config.log.level, 'fatal');
  assert.equal(loadConfig({ env: { CENTRIFUGO_LOG_LEVEL: 'ERROR' } }).config.log.level, 'error');
  assert.match(errorOf({ log: { level: 'verbose' } }), /^invalid config: log\.level: expected one of .*"fatal", got "verbose"$/);
  // Other enums stay case-sensitive, as in Centrifugo.
  assert.match(errorOf({ engine: { type: 'Memory' } }), /^invalid config: engine\.type: expected one of/);
});

test('weak - the conversion helpers leave what does not convert for the schema to report', () => {
  assert.equal(weakInt('010'), 8, 'a leading 0 is octal, as Go ParseInt with base 0');
  assert.equal(weakInt('0b101'), 5);
  assert.equal(weakInt(''), 0);
  assert.equal(weakInt('08'), '08');
  assert.equal(weakBool(''), false);
  assert.equal(weakBool('on'), 'on');
  assert.equal(weakString(false), '0');
  assert.equal(weakString(null), undefined);
  // Plain decimal, as Go's FormatFloat(f, 'f', -1, 64): no exponent either way.
  assert.equal(weakString(1e21), '1000000000000000000000');
  assert.equal(weakString(1e-7), '0.0000001');
  assert.equal(weakString(-1.5e-8), '-0.000000015');
  assert.deepEqual(weakString([1]), [1]);
});
