import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  configMarkdown,
  configOptions,
  defaultConfig,
  defaultEnv,
  loadConfig,
  parseConfigText,
  REGENERATE_COMMAND,
  stringifyConfig,
  validateConfig,
} from '../../../src/config/index.js';
import { documentedEnvName } from '../../../src/config/describe.js';

const docsFile = new URL('../../../docs/config.md', import.meta.url);

test('docs - docs/config.md is up to date with the schema', () => {
  const onDisk = readFileSync(docsFile, 'utf8');
  assert.ok(onDisk === configMarkdown(), `docs/config.md is out of date with src/config/schema; regenerate it with:\n  ${REGENERATE_COMMAND}`);
});

test('docs - every option is documented with its env var', () => {
  const md = configMarkdown();
  for (const o of configOptions()) {
    const isSection = !o.path.includes('.') && o.meta.kind === 'object';
    if (isSection) assert.ok(md.includes(`## ${o.path}\n\n${o.meta.doc}\n`), `missing section ${o.path}`);
    else assert.ok(md.includes(`| \`${o.path}\` |`), `missing row for ${o.path}`);
    assert.ok(o.meta.doc.length > 10, `doc string too short for ${o.path}`);
    const env = documentedEnvName(o);
    if (env !== undefined) assert.ok(md.includes(`\`${env}\``), `missing env name ${env}`);
  }
  assert.ok(md.includes('`CENTRIFUGO_CHANNEL_NAMESPACES_<NAME>_PRESENCE`'));
});

test('defaultconfig - full file form with durations as strings, validating to the defaults', () => {
  const file = defaultConfig();
  const client = file['client'] as Record<string, unknown>;
  assert.equal(client['ping_interval'], '25s');
  assert.equal(client['pong_timeout'], '8s');
  assert.equal((file['channel'] as Record<string, unknown>)['history_meta_ttl'], '720h');
  assert.equal((file['websocket'] as Record<string, unknown>)['write_timeout'], '1s');
  assert.deepEqual(validateConfig(file).config, validateConfig({}).config);
});

test('defaultconfig - survives a JSON, YAML and TOML round trip', () => {
  const defaults = validateConfig({}).config;
  for (const format of ['json', 'yaml', 'toml'] as const) {
    const text = stringifyConfig(defaultConfig(), format);
    const back = parseConfigText(text, format, `defaults.${format}`);
    assert.deepEqual(validateConfig(back).config, defaults, format);
  }
});

test('defaultenv - one line per option, and loading the lines gives the defaults', () => {
  const lines = defaultEnv();
  assert.ok(lines.includes('CENTRIFUGO_HTTP_SERVER_PORT=8000'));
  assert.ok(lines.includes('CENTRIFUGO_CLIENT_PING_INTERVAL=25s'));
  assert.ok(lines.includes('CENTRIFUGO_ENGINE_REDIS_ADDRESS=redis://127.0.0.1:6379'));
  assert.ok(lines.includes('CENTRIFUGO_CHANNEL_NAMESPACES=[]'));
  assert.ok(lines.includes('CENTRIFUGO_CLIENT_INSECURE=false'));
  const env = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  const loaded = loadConfig({ env });
  assert.deepEqual(loaded.warnings, []);
  assert.deepEqual(loaded.config, loadConfig({}).config);
});
