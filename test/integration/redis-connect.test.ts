/**
 * Reaching Redis (issue #17 item 3): TLS (`rediss://` with the server's CA), a password and a
 * database from the URL, and the refusals: an address that cannot be used names its config key,
 * a Redis that refuses the password stops the start naming the address, and the password never
 * appears in what Rotor prints.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedis, uniquePrefix, type RedisServer } from '../helpers/redis-servers.js';
import { freePort } from '../helpers/service-process.js';
import { startServer } from '../helpers/server.js';
import { rotor } from '../helpers/cli.js';
import { Redis } from 'ioredis';

const TLS_DIR = fileURLToPath(new URL('../fixtures/tls/', import.meta.url));
const PASSWORD = 'correct-horse-battery-staple';
let tlsRedis: RedisServer;
let tlsPort: number;
let authRedis: RedisServer;
let unixRedis: RedisServer;
let dir: string;
/** unixRedis's socket. */
let socketPath: string;

before(async () => {
  tlsPort = await freePort();
  tlsRedis = await startRedis({
    label: 'tls',
    config: [
      `tls-port ${tlsPort}`,
      `tls-cert-file ${join(TLS_DIR, 'server.crt')}`,
      `tls-key-file ${join(TLS_DIR, 'server.key')}`,
      `tls-ca-cert-file ${join(TLS_DIR, 'server.crt')}`,
      'tls-auth-clients no',
    ],
  });
  // The password is set once the server runs: the helper waits for a PING without one.
  authRedis = await startRedis({ label: 'auth' });
  await authRedis.cli('CONFIG', 'SET', 'requirepass', PASSWORD);
  dir = mkdtempSync(join(tmpdir(), 'rotor-redis-connect-'));
  socketPath = join(dir, 'redis.sock');
  unixRedis = await startRedis({ label: 'unix', config: [`unixsocket ${socketPath}`, 'unixsocketperm 700'] });
});

after(async () => {
  await tlsRedis?.stop();
  await authRedis?.stop();
  await unixRedis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const historyNs = { namespaces: [{ name: 'h', history_size: 10, history_ttl: '60s' }] };

test('rediss:// with the server CA: publications and history go through TLS', async () => {
  const prefix = uniquePrefix('tls');
  const srv = await startServer({
    engine: { type: 'redis', redis: { address: [`rediss://localhost:${tlsPort}`], prefix, tls: { enabled: true, server_ca_pem: join(TLS_DIR, 'server.crt') } } },
    channel: historyNs,
  });
  try {
    const res = await srv.api('publish', { channel: 'h:tls', data: { over: 'tls' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.result.offset, 1);
    // Written to the server behind the TLS port (its plain port shows the same data).
    assert.equal(await tlsRedis.cli('HGET', `${prefix}.stream.meta.h:tls`, 's'), '1');
  } finally {
    await srv.stop();
  }
});

test('redis:// with tls_enabled=true in the query goes through TLS as rediss:// does', async () => {
  const prefix = uniquePrefix('tls-query');
  const srv = await startServer({
    engine: { type: 'redis', redis: { address: [`redis://localhost:${tlsPort}?tls_enabled=true`], prefix, tls: { server_ca_pem: join(TLS_DIR, 'server.crt') } } },
    channel: historyNs,
  });
  try {
    const res = await srv.api('publish', { channel: 'h:tls', data: {} });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(await tlsRedis.cli('HGET', `${prefix}.stream.meta.h:tls`, 's'), '1');
  } finally {
    await srv.stop();
  }
});

test('unix:// with force_resp2: every connection is on the socket and speaks RESP2; publications, history and PUB/SUB work', async () => {
  const prefix = uniquePrefix('unix');
  const name = `rotor-${prefix.replace(/[^a-z0-9]/gi, '')}`.slice(0, 40);
  const srv = await startServer({
    engine: { type: 'redis', redis: { address: [`unix://${socketPath}?db=2`], prefix, force_resp2: true, client_name: name } },
    channel: historyNs,
  });
  try {
    const res = await srv.api('publish', { channel: 'h:unix', data: { n: 1 } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const hist = await srv.api('history', { channel: 'h:unix', limit: -1 });
    assert.deepEqual(hist.body.result.publications.map((p: { data: unknown }) => p.data), [{ n: 1 }]);
    const raw = new Redis({ path: socketPath, db: 2, lazyConnect: true });
    try {
      await raw.connect();
      assert.equal(await raw.hget(`${prefix}.stream.meta.h:unix`, 's'), '1', 'written to db 2');
    } finally {
      raw.disconnect();
    }
    const mine = (await unixRedis.cli('CLIENT', 'LIST')).split('\n').filter((l) => l.includes(` name=${name} `));
    assert.ok(mine.length >= 2, `the node's connections: ${mine.join(' | ')}`);
    for (const l of mine) {
      assert.match(l, / resp=2( |$)/, l);
      assert.match(l, / addr=\/|laddr=\//, `over the socket: ${l}`);
    }
  } finally {
    await srv.stop();
  }
});

test('rediss:// without the server CA is refused: the certificate is self-signed', async () => {
  await assert.rejects(
    startServer({ engine: { type: 'redis', redis: { address: [`rediss://localhost:${tlsPort}`], prefix: uniquePrefix('tls'), connect_timeout: '500ms' } } }),
    /redis localhost:\d+/,
  );
});

test('password and database from the URL: keys land in that database', async () => {
  const prefix = uniquePrefix('auth');
  const srv = await startServer({
    engine: { type: 'redis', redis: { address: [`redis://:${PASSWORD}@127.0.0.1:${authRedis.port}/3`], prefix } },
    channel: historyNs,
  });
  try {
    const res = await srv.api('publish', { channel: 'h:db', data: {} });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const raw = new Redis({ port: authRedis.port, host: '127.0.0.1', password: PASSWORD, db: 3, lazyConnect: true });
    try {
      await raw.connect();
      assert.equal(await raw.exists(`${prefix}.stream.meta.h:db`), 1);
      await raw.select(0);
      assert.equal(await raw.exists(`${prefix}.stream.meta.h:db`), 0);
    } finally {
      raw.disconnect();
    }
  } finally {
    await srv.stop();
  }
});

test('a wrong password stops the start naming the address, and the password is never printed', async () => {
  const wrong = 'not-the-password-42';
  const file = join(dir, 'wrong-password.json');
  writeFileSync(file, JSON.stringify({ http_server: { port: 0 }, engine: { type: 'redis', redis: { address: [`redis://:${wrong}@127.0.0.1:${authRedis.port}`], connect_timeout: '500ms' } } }));
  const run = await rotor(dir, ['-c', file]);
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.match(run.stdout + run.stderr, new RegExp(`redis 127\\.0\\.0\\.1:${authRedis.port}`));
  assert.ok(!(run.stdout + run.stderr).includes(wrong), run.stdout + run.stderr);
});

test('an address that cannot be used is refused naming its key; the password in it is masked', async () => {
  const file = join(dir, 'bad-scheme.json');
  writeFileSync(file, JSON.stringify({ http_server: { port: 0 }, engine: { type: 'redis', redis: { address: ['redis://127.0.0.1:6379', 'http://user:hunter2@example:1'] } } }));
  for (const args of [['-c', file], ['checkconfig', '-c', file]]) {
    const run = await rotor(dir, args);
    assert.equal(run.code, 1, `${args.join(' ')}: ${run.stdout + run.stderr}`);
    assert.match(run.stdout + run.stderr, /engine\.redis\.address\[1\]: "http:" is not a Redis scheme/, args.join(' '));
    assert.ok(!(run.stdout + run.stderr).includes('hunter2'));
  }
});
