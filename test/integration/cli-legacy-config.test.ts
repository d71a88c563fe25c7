/**
 * The `rotor` process facing a Centrifugo v5 or v1 config, a mistyped subcommand, and the
 * one-line success reports of genconfig/checkconfig. A v5 file used to pass checkconfig and
 * start a server without a token key (every client refused with 3500); now both refuse it with
 * the same message naming every key's v6 place. A v1 file is read through its v6 form
 * (config/migrate.ts), which `rotor config migrate` writes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rotor } from '../helpers/cli.js';
import { CliProcess, freePort } from '../helpers/server-process.js';
import { connToken } from '../helpers/server.js';
import { sdkClient } from '../helpers/embedding.js';

const tempDir = (): string => mkdtempSync(join(tmpdir(), 'rotor-cli-legacy-'));

function writeConfig(dir: string, name: string, content: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(content));
  return file;
}

/**
 * A Centrifugo v5 config as its docs wrote them. `http_server` (a v6 key) keeps a server that
 * does start (the old behaviour) on a free loopback port instead of 8000.
 */
const V5_CONFIG = {
  http_server: { address: '127.0.0.1', port: 0 },
  token_hmac_secret_key: 'secret',
  admin: true,
  admin_password: 'password',
  admin_secret: 'secret',
  api_key: 'api-key',
  allowed_origins: ['http://localhost:3000'],
  presence: true,
  namespaces: [{ name: 'chat', presence: true }],
};

const V5_LINES = [
  'token_hmac_secret_key is a Centrifugo v5 key; in v6 it is client.token.hmac_secret_key',
  'admin is a Centrifugo v1 and v5 key; in v6 it is admin.enabled',
  'admin_password is a Centrifugo v1 and v5 key; in v6 it is admin.password',
  'admin_secret is a Centrifugo v1 and v5 key; in v6 it is admin.secret',
  'api_key is a Centrifugo v5 key; in v6 it is http_api.key',
  'allowed_origins is a Centrifugo v5 key; in v6 it is client.allowed_origins',
  'presence is a Centrifugo v1 and v5 key; in v6 it is channel.without_namespace.presence',
  'namespaces is a Centrifugo v1 and v5 key; in v6 it is channel.namespaces',
];

/** Asserts the refusal: exit 1, a summary line, then exactly `lines` (indented), nothing on stdout. */
function assertRefused(r: { code: number | null; stdout: string; stderr: string }, lines: readonly string[]): void {
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, '');
  const [summary, ...rest] = r.stderr.trimEnd().split('\n');
  assert.match(summary ?? '', /^error: invalid config: Centrifugo v1\/v5 keys; Rotor reads the Centrifugo v6 layout/);
  assert.deepEqual(rest, lines.map((l) => `  ${l}`));
}

describe('cli legacy config', { concurrency: true }, () => {
  test('cli legacy - checkconfig and the server refuse a v5 config with the same message', async () => {
    const dir = tempDir();
    const file = writeConfig(dir, 'config.json', V5_CONFIG);
    const check = await rotor(dir, ['checkconfig', '-c', file]);
    assertRefused(check, V5_LINES);
    const serve = await rotor(dir, ['-c', file]);
    assertRefused(serve, V5_LINES);
    assert.equal(serve.stderr, check.stderr);
  });

  test('cli legacy - the server refuses a v5 config that the schema alone would accept', async () => {
    // Without `"admin": true` nothing fails the schema: the old server ran on defaults here.
    const dir = tempDir();
    const { admin: _admin, ...rest } = V5_CONFIG;
    const file = writeConfig(dir, 'config.json', rest);
    assertRefused(await rotor(dir, ['-c', file]), V5_LINES.filter((l) => !l.startsWith('admin is')));
  });

  test('cli legacy - a v1 config serves: checkconfig --strict accepts it, the server starts from it, and config migrate writes a v6 file checkconfig --strict accepts', async () => {
    const dir = tempDir();
    const port = await freePort();
    const file = writeConfig(dir, 'v1.json', {
      secret: 'v1-secret',
      address: '127.0.0.1',
      port: String(port),
      namespaces: [{ name: 'public', publish: true, watch: true, history_size: 10, history_lifetime: 30 }],
      log_level: 'info',
    });
    const check = await rotor(dir, ['checkconfig', '--strict', '-c', file]);
    assert.equal(check.code, 0, check.stderr);
    assert.equal(check.stdout, `${file} is valid\n`);

    // The server starts from the v1 file: v1's secret checks the SDK's token and keys the API,
    // and v1's permissions let the client subscribe.
    const proc = CliProcess.start(['-c', file], { engineEnv: false });
    const client = sdkClient(`ws://127.0.0.1:${port}/connection/websocket`, await connToken('alice', {}, undefined, 'v1-secret'));
    try {
      await proc.waitForLine((l) => typeof l.json?.message === 'string' && l.json.message.startsWith('HTTP API:'), 'the server listening');
      assert.ok(proc.output.includes('is a Centrifugo v1 config'), proc.output);
      await client.connect();
      const { events } = await client.subscribe('public:news');
      const got = events.next('publication');
      const r = await fetch(`http://127.0.0.1:${port}/api/publish`, { method: 'POST', headers: { Authorization: 'apikey v1-secret' }, body: JSON.stringify({ channel: 'public:news', data: { v: 1 } }) });
      assert.equal(r.status, 200);
      assert.deepEqual((await got).data, { v: 1 });
    } finally {
      client.c.disconnect();
      await proc.kill();
    }

    const out = join(dir, 'v6.yaml');
    const migrated = await rotor(dir, ['config', 'migrate', '-c', file, '-o', out]);
    assert.equal(migrated.code, 0, migrated.stderr);
    assert.doesNotMatch(migrated.stderr, /^dropped:/m);
    const v6 = await rotor(dir, ['checkconfig', '--strict', '-c', out]);
    assert.equal(v6.code, 0, v6.stderr);
    const printed = await rotor(dir, ['config', 'migrate', '-c', file]);
    const ns = (JSON.parse(printed.stdout) as { channel: { namespaces: { history_ttl: string; watch: boolean }[] } }).channel.namespaces[0]!;
    assert.deepEqual([ns.history_ttl, ns.watch], ['30s', true]);
  });

  test('cli legacy - Centrifugo v1 flags: the server takes them (port, address, insecure_api, name); one that cannot work here is refused naming its option', async () => {
    const dir = tempDir();
    const port = await freePort();
    const file = writeConfig(dir, 'v1.json', { secret: 's' });
    const refused = await rotor(dir, ['-c', file, '--redis_api']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /redis_api_queue\.enabled: needs the Redis engine/);
    const proc = CliProcess.start(['-c', file, '--port', String(port), '--address', '127.0.0.1', '--insecure_api', '-n', 'v1node', '--redis_pool', '10', '--web', '--insecure_admin'], { engineEnv: false });
    try {
      await proc.waitForLine((l) => typeof l.json?.message === 'string' && l.json.message.startsWith('HTTP API:'), 'the server listening');
      assert.ok(proc.output.includes('--redis_pool is a Centrifugo v1 flag Rotor ignores'), proc.output);
      const r = await fetch(`http://127.0.0.1:${port}/api/info`, { method: 'POST', body: '{}' });
      assert.equal(r.status, 200, 'insecure_api: no key asked');
      assert.equal(((await r.json()) as { result: { nodes: { name: string }[] } }).result.nodes[0]!.name, 'v1node');
      // --web serves v1's admin socket too (--insecure_admin: any token).
      const ws = new WebSocket(`ws://127.0.0.1:${port}/socket`);
      const reply = new Promise<string>((resolve) => ws.once('message', (d: Buffer) => resolve(d.toString())));
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      ws.send(JSON.stringify({ uid: '1', method: 'connect', params: { token: '' } }));
      assert.equal(await reply, '[{"uid":"1","method":"connect","error":null,"body":true}]');
      ws.close();
    } finally {
      await proc.kill();
    }
  });

  test('cli legacy - a mistyped subcommand is named, with the nearest command', async () => {
    const dir = tempDir();
    const typo = await rotor(dir, ['genconf']);
    assert.equal(typo.code, 1);
    assert.equal(typo.stderr, "error: unknown command 'genconf', did you mean 'genconfig'?\n");
    const afterFlags = await rotor(dir, ['-p', '9000', 'chekconfig']);
    assert.equal(afterFlags.code, 1);
    assert.equal(afterFlags.stderr, "error: unknown command 'chekconfig', did you mean 'checkconfig'?\n");
    const far = await rotor(dir, ['frobnicate']);
    assert.equal(far.code, 1);
    assert.equal(far.stderr, "error: unknown command 'frobnicate' (see rotor --help)\n");
    // Subcommands still refuse extra words.
    assert.equal((await rotor(dir, ['version', 'extra'])).code, 1);
  });

  test('cli legacy - genconfig and checkconfig report success in one line', async () => {
    const dir = tempDir();
    const gen = await rotor(dir, ['genconfig']);
    assert.equal(gen.code, 0, gen.stderr);
    assert.equal(gen.stdout, 'config.json written\n');
    assert.equal(gen.stderr, '');
    const check = await rotor(dir, ['checkconfig']);
    assert.equal(check.code, 0, check.stderr);
    assert.equal(check.stdout, 'config.json is valid\n');
    assert.equal(check.stderr, '');
    const yaml = await rotor(dir, ['genconfig', '-c', 'other.yaml']);
    assert.equal(yaml.stdout, 'other.yaml written\n');
    assert.equal((await rotor(dir, ['checkconfig', '-c', 'other.yaml'])).stdout, 'other.yaml is valid\n');
  });
});
