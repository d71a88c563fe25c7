import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { loadConfig, parseConfigText, type ConfigFormat } from '../../../src/config/index.js';
import { rotor } from '../../helpers/cli.js';

const PKG = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };



const tempDir = (): string => mkdtempSync(join(tmpdir(), 'rotor-cli-'));

function writeConfig(dir: string, content: unknown, name = 'config.json'): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(content));
  return file;
}

// Each test spawns processes; running them concurrently keeps the file fast.
describe('cli', { concurrency: true }, () => {
  test('cli - version prints Rotor and Node versions', async () => {
    const r = await rotor(tempDir(), ['version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `Rotor v${PKG.version} (Node ${process.version})\n`);
  });

  test('cli - genconfig writes json, yaml and toml with random secrets and refuses to overwrite', async () => {
    const dir = tempDir();
    const secrets = new Set<string>();
    for (const [name, format] of [['config.json', 'json'], ['c.yaml', 'yaml'], ['c.yml', 'yaml'], ['c.toml', 'toml']] as [string, ConfigFormat][]) {
      const args = name === 'config.json' ? ['genconfig'] : ['genconfig', '-c', name];
      const r = await rotor(dir, args);
      assert.equal(r.code, 0, r.stderr);
      const file = join(dir, name);
      const raw = parseConfigText(readFileSync(file, 'utf8'), format, file);
      const { config, warnings } = loadConfig({ file });
      assert.deepEqual(warnings, []);
      assert.match(config.client.token.hmac_secret_key, /^[0-9a-f]{64}$/);
      assert.match(config.http_api.key, /^[0-9a-f]{64}$/);
      assert.match(config.admin.password, /^[0-9a-f]{32}$/);
      assert.match(config.admin.secret, /^[0-9a-f]{64}$/);
      assert.equal(config.admin.enabled, false);
      assert.deepEqual((raw['client'] as Record<string, unknown>)['allowed_origins'], []);
      secrets.add(config.client.token.hmac_secret_key);

      const before = readFileSync(file, 'utf8');
      const again = await rotor(dir, args);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /already exists, refusing to overwrite/);
      assert.equal(readFileSync(file, 'utf8'), before);
    }
    assert.equal(secrets.size, 4, 'every run generates new secrets');
  });

  test('cli - checkconfig exit codes and messages', async () => {
    const dir = tempDir();
    const good = writeConfig(dir, { client: { token: { hmac_secret_key: 's' } } }, 'good.json');
    const ok = await rotor(dir, ['checkconfig', '-c', good]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stderr, '');

    const bad = writeConfig(dir, { client: { channel_limit: 'abc' } }, 'bad.json');
    const failed = await rotor(dir, ['checkconfig', '-c', bad]);
    assert.equal(failed.code, 1);
    assert.equal(failed.stderr, 'error: invalid config: client.channel_limit: expected number, got "abc"\n');

    const typo = writeConfig(dir, { client: { alowed_origins: [] } }, 'typo.json');
    const warned = await rotor(dir, ['checkconfig', '-c', typo]);
    assert.equal(warned.code, 0);
    assert.match(warned.stderr, /warning: unknown config key "client\.alowed_origins" \(did you mean "client\.allowed_origins"\?\)/);

    const envBad = await rotor(dir, ['checkconfig', '-c', good], { CENTRIFUGO_LOG_LEVEL: 'loud' });
    assert.equal(envBad.code, 1);
    assert.match(envBad.stderr, /log\.level/);

    const missing = await rotor(dir, ['checkconfig', '-c', join(dir, 'nope.json')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /file not found/);
  });

  test('cli - defaultconfig --dry-run prints every default; without it writes a new file', async () => {
    const dir = tempDir();
    const json = await rotor(dir, ['defaultconfig', '--dry-run']);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { client: Record<string, unknown>; http_server: Record<string, unknown> };
    assert.equal(parsed.client['ping_interval'], '25s');
    assert.equal(parsed.http_server['port'], 8000);
    assert.ok(!existsSync(join(dir, 'config.json')), '--dry-run writes nothing');

    const yaml = await rotor(dir, ['defaultconfig', '-c', 'out.yaml', '--dry-run']);
    assert.match(yaml.stdout, /^ {2}ping_interval: 25s$/m);

    const base = writeConfig(dir, { http_server: { port: 9001 } }, 'base.json');
    const written = await rotor(dir, ['defaultconfig', '-c', 'full.toml', '--base', base]);
    assert.equal(written.code, 0, written.stderr);
    const full = loadConfig({ file: join(dir, 'full.toml') });
    assert.equal(full.config.http_server.port, 9001);
    assert.deepEqual(full.warnings, []);
    assert.equal((await rotor(dir, ['defaultconfig', '-c', 'full.toml'])).code, 1, 'refuses to overwrite');
  });

  test('cli - defaultenv prints env lines, optionally only what a base file sets', async () => {
    const dir = tempDir();
    const all = await rotor(dir, ['defaultenv']);
    assert.equal(all.code, 0, all.stderr);
    const lines = all.stdout.trimEnd().split('\n');
    assert.ok(lines.includes('CENTRIFUGO_HTTP_SERVER_PORT=8000'));
    assert.ok(lines.includes('CENTRIFUGO_CLIENT_PING_INTERVAL=25s'));
    assert.ok(lines.every((l) => /^CENTRIFUGO_[A-Z0-9_]+=/.test(l)));

    const base = writeConfig(dir, { http_server: { port: 9001, address: '' }, client: { allowed_origins: ['a', 'b'] } }, 'base.json');
    const withBase = await rotor(dir, ['defaultenv', '--base', base]);
    assert.ok(withBase.stdout.includes('CENTRIFUGO_HTTP_SERVER_PORT=9001\n'));
    const nonZero = await rotor(dir, ['defaultenv', '--base', base, '--base-non-zero-only']);
    assert.equal(nonZero.stdout, 'CENTRIFUGO_HTTP_SERVER_PORT=9001\nCENTRIFUGO_CLIENT_ALLOWED_ORIGINS=a b\n');
    assert.equal((await rotor(dir, ['defaultenv', '--base-non-zero-only'])).code, 1);
  });

  test('cli - configdoc --markdown prints docs/config.md', async () => {
    const r = await rotor(tempDir(), ['configdoc', '--markdown']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, readFileSync(new URL('../../../docs/config.md', import.meta.url), 'utf8'));
  });

  test('cli - gentoken and gensubtoken sign HS256 tokens with the configured key', async () => {
    const dir = tempDir();
    const secret = 'cli-test-secret';
    writeConfig(dir, { client: { token: { hmac_secret_key: secret } } });
    const key = new TextEncoder().encode(secret);
    const seconds = (): number => Math.floor(Date.now() / 1000);
    /** exp must be `ttl` after some moment between `from` and now (spawns are slow under load). */
    const assertExp = (exp: number | undefined, from: number, ttl: number): void => {
      assert.ok(exp !== undefined && exp >= from + ttl && exp <= seconds() + ttl, `exp ${String(exp)} not ${ttl}s after the run`);
    };

    let from = seconds();
    const r = await rotor(dir, ['gentoken', '-u', '42']);
    assert.equal(r.code, 0, r.stderr);
    const [line, token = ''] = r.stdout.trimEnd().split('\n');
    assert.equal(line, 'HMACSHA256 token for user "42" with expiration TTL 168h0m0s:');
    assert.equal(decodeProtectedHeader(token).alg, 'HS256');
    const { payload } = await jwtVerify(token, key);
    assert.equal(payload.sub, '42');
    assertExp(payload.exp, from, 604_800);

    const quiet = await rotor(dir, ['gentoken', '-u', '7', '-t', '-1', '-q']);
    assert.equal(quiet.code, 0, quiet.stderr);
    const noExp = await jwtVerify(quiet.stdout.trim(), key);
    assert.deepEqual(noExp.payload, { sub: '7' });

    from = seconds();
    const sub = await rotor(dir, ['gensubtoken', '-u', '42', '-s', 'news', '-t', '60', '-q']);
    assert.equal(sub.code, 0, sub.stderr);
    const subPayload = (await jwtVerify(sub.stdout.trim(), key)).payload;
    assert.equal(subPayload.sub, '42');
    assert.equal(subPayload['channel'], 'news');
    assertExp(subPayload.exp, from, 60);

    assert.equal((await rotor(dir, ['gensubtoken', '-u', '42'])).code, 1, 'channel is required');
    const other = tempDir();
    const noKey = await rotor(other, ['gentoken', '-u', '1']);
    assert.equal(noKey.code, 1);
    assert.match(noKey.stderr, /client\.token\.hmac_secret_key/);
  });

  test('cli - checktoken / checksubtoken verify with the configured keys', async () => {
    const dir = tempDir();
    writeConfig(dir, { client: { token: { hmac_secret_key: 'check-secret' } } });
    const token = (await rotor(dir, ['gentoken', '-u', '42', '-q'])).stdout.trim();
    const ok = await rotor(dir, ['checktoken', token]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^valid token for user "42" expires at \S+ \(in \S+\)\npayload: \{"sub":"42","exp":\d+\}\n$/);
    const bad = await rotor(dir, ['checktoken', `${token}x`]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: /);
    const subToken = (await rotor(dir, ['gensubtoken', '-u', '42', '-s', 'news', '-t', '0', '-q'])).stdout.trim();
    const sub = await rotor(dir, ['checksubtoken', subToken]);
    assert.equal(sub.code, 0, sub.stderr);
    assert.match(sub.stdout, /^valid subscription token for user "42" and channel "news" without expiration\n/);
  });

  test('cli - root command fails before starting on bad flags or a missing explicit config', async () => {
    const dir = tempDir();
    const badPort = await rotor(dir, ['-p', 'abc']);
    assert.equal(badPort.code, 1);
    assert.equal(badPort.stderr, 'error: invalid config: http_server.port: expected number, got "abc"\n');
    const badLevel = await rotor(dir, ['--log.level', 'loud']);
    assert.equal(badLevel.code, 1);
    assert.match(badLevel.stderr, /log\.level: expected one of/);
    const missing = await rotor(dir, ['-c', 'missing.yaml']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read config file "missing\.yaml": file not found/);
    const unknown = await rotor(dir, ['--no-such-flag']);
    assert.equal(unknown.code, 1);
  });
});
