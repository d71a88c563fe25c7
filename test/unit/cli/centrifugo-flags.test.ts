/**
 * Command flags as Centrifugo v6 spells them: `checkconfig -s/--strict`, `defaultconfig
 * -b/--base -d/--dry-run`, `defaultenv -b/--base`, and the `serve` static file server.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIN, TSX, cleanEnv, rotor } from '../../helpers/cli.js';




const tempDir = (): string => mkdtempSync(join(tmpdir(), 'rotor-cli-flags-'));

function writeJson(dir: string, name: string, content: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(content));
  return file;
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('cli flags (Centrifugo v6 spelling)', { concurrency: true }, () => {
  test('cli flags - checkconfig -s/--strict fails on unknown keys; without it they are warnings', async () => {
    const dir = tempDir();
    const typo = writeJson(dir, 'typo.json', { client: { alowed_origins: ['*'] } });
    const lax = await rotor(dir, ['checkconfig', '-c', typo]);
    assert.equal(lax.code, 0, lax.stderr);
    for (const flag of ['--strict', '-s']) {
      const strict = await rotor(dir, ['checkconfig', '-c', typo, flag]);
      assert.equal(strict.code, 1, flag);
      assert.match(strict.stderr, /^error: unknown keys in config \(--strict\): unknown config key "client\.alowed_origins"/m, flag);
    }
    const good = writeJson(dir, 'good.json', { client: { allowed_origins: ['*'] } });
    const ok = await rotor(dir, ['checkconfig', '-s', '-c', good]);
    assert.equal(ok.code, 0, ok.stderr);
  });

  test('cli flags - defaultconfig -b BASE -d prints the merged config without writing', async () => {
    const dir = tempDir();
    const base = writeJson(dir, 'base.json', { http_server: { port: 9101 } });
    const r = await rotor(dir, ['defaultconfig', '-b', base, '-d']);
    assert.equal(r.code, 0, r.stderr);
    const parsed = JSON.parse(r.stdout) as { http_server: { port: number } };
    assert.equal(parsed.http_server.port, 9101);
    const again = await rotor(dir, ['defaultconfig', '-d']);
    assert.equal(again.code, 0, 'still no config.json written by the first run');
  });

  test('cli flags - defaultenv -b BASE', async () => {
    const dir = tempDir();
    const base = writeJson(dir, 'base.json', { http_server: { port: 9102 } });
    const r = await rotor(dir, ['defaultenv', '-b', base]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes('CENTRIFUGO_HTTP_SERVER_PORT=9102\n'), r.stdout.slice(0, 200));
  });

  test('cli flags - serve -d DIR -p 0 -a 127.0.0.1 serves the directory and nothing outside it', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'www'));
    writeFileSync(join(dir, 'www', 'hello.txt'), 'hello\n');
    writeFileSync(join(dir, 'secret.txt'), 'secret\n');
    const child = spawn(process.execPath, ['--import', TSX, MAIN, 'serve', '-d', join(dir, 'www'), '-p', '0', '-a', '127.0.0.1'], {
      cwd: dir,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          const m = /^start serving .* on 127\.0\.0\.1:(\d+)$/m.exec(out);
          if (m !== null) resolve(Number(m[1]));
        });
        child.once('exit', (code) => reject(new Error(`serve exited with ${String(code)} before listening: ${out}`)));
      });
      assert.deepEqual(await get(port, '/hello.txt'), { status: 200, body: 'hello\n' });
      assert.equal((await get(port, '/../secret.txt')).status, 404);
      assert.equal((await get(port, '/%2e%2e/secret.txt')).status, 404);
    } finally {
      child.kill();
    }
  });

  test('cli flags - serve fails with exit code 1 on a missing directory', async () => {
    const dir = tempDir();
    const r = await rotor(dir, ['serve', '-d', join(dir, 'nope'), '-p', '0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: .*nope/);
  });
});
