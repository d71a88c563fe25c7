/**
 * Lifecycle: graceful stop (clients get 3001 shutdown), SIGTERM/SIGHUP handling of the real CLI
 * process, and refusing invalid configs (spec §2.3, §10.1, §10.3, §10.4).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, connToken, subToken, SECRET, API_KEY } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';
import { closedWithin, within } from '../helpers/error-paths.js';
import { CliProcess, freePort, tempDir } from '../helpers/server-process.js';
import { DisconnectCode, ErrorCode } from '../../src/protocol/codes.js';

const closeOf = (d: { code: number; reason: string }) => ({ code: d.code, reason: d.reason });
const errorOf = (e: { code: number; message: string }) => ({ code: e.code, message: e.message });

let nextId = 100;
async function call(c: RawClient, cmd: Record<string, unknown>): Promise<any> {
  const id = nextId++;
  c.send({ id, ...cmd });
  const r = await c.next((m) => m.id === id);
  delete r.id;
  return r;
}

// ---------------------------------------------------------------- (a) in-process

test('app.stop() closes connected clients with 3001 shutdown', async () => {
  const srv = await startServer({ channel: { namespaces: [{ name: 'chat', allow_subscribe_for_client: true }] } });
  try {
    const a = await RawClient.open(srv.wsUrl);
    assert.equal(typeof (await a.connect(await connToken('1'))).connect?.client, 'string');
    assert.deepEqual(await call(a, { subscribe: { channel: 'chat:a' } }), { subscribe: {} });
    const b = await RawClient.open(srv.wsUrl);
    assert.equal(typeof (await b.connect(await connToken('2'))).connect?.client, 'string');
    // A connection that has not sent connect yet is closed too.
    const pending = await RawClient.open(srv.wsUrl);
    const stopping = srv.app.stop(5000);
    const closes = await Promise.all([closedWithin(a), closedWithin(b), closedWithin(pending)]);
    for (const cl of closes) assert.deepEqual(cl, closeOf(DisconnectCode.shutdown));
    await within(stopping, 6000, 'app.stop()');
  } finally {
    await srv.stop();
  }
});

// ---------------------------------------------------------------- (b)–(d) the CLI process

const NS_CHAT = { name: 'chat', allow_subscribe_for_client: true };
const NS_NEWS = { name: 'news', allow_subscribe_for_client: true };

function baseConfig(port: number, namespaces: object[] = [NS_CHAT]) {
  return {
    http_server: { port, address: '127.0.0.1' },
    client: { token: { hmac_secret_key: SECRET } },
    http_api: { key: API_KEY },
    channel: { namespaces },
    shutdown: { timeout: '5s' },
    log: { level: 'info' },
  };
}

async function startProcess(port: number, configFile: string): Promise<CliProcess> {
  const p = CliProcess.start(['-c', configFile]);
  // The start-up log names the listening port once the listener is up.
  await p.waitForLine((l) => l.text.includes(String(port)), `the server to listen on ${port}`);
  return p;
}

async function connectedClient(port: number, user = '42'): Promise<RawClient> {
  const c = await RawClient.open(`ws://127.0.0.1:${port}/connection/websocket`);
  const rep = await c.connect(await connToken(user));
  assert.equal(typeof rep.connect?.client, 'string', JSON.stringify(rep));
  return c;
}

test('process: SIGTERM closes clients with 3001 and exits 0 within shutdown.timeout', async () => {
  const tmp = tempDir();
  const port = await freePort();
  const proc = await startProcess(port, tmp.file('config.json', baseConfig(port)));
  try {
    const c = await connectedClient(port);
    assert.deepEqual(await call(c, { subscribe: { channel: 'chat:a' } }), { subscribe: {} });
    proc.signal('SIGTERM');
    assert.deepEqual(await closedWithin(c, 5000), closeOf(DisconnectCode.shutdown));
    const exit = await within(proc.exited, 5000, 'process exit within shutdown.timeout (5s)');
    assert.deepEqual(exit, { code: 0, signal: null }, proc.output);
  } finally {
    await proc.kill();
    tmp.cleanup();
  }
});

test('process: SIGHUP reloads channel options; a new namespace works without reconnecting', async () => {
  const tmp = tempDir();
  const port = await freePort();
  const file = tmp.file('config.json', baseConfig(port));
  const proc = await startProcess(port, file);
  try {
    const c = await connectedClient(port);
    assert.deepEqual(await call(c, { subscribe: { channel: 'news:a' } }), { error: errorOf(ErrorCode.unknownChannel) });
    tmp.file('config.json', baseConfig(port, [NS_CHAT, NS_NEWS]));
    const from = proc.lines.length;
    proc.signal('SIGHUP');
    await proc.waitForLine((l) => /reload/i.test(l.text), 'the reload log line', 15000, from);
    assert.equal(
      proc.lines.slice(from).some((l) => l.json?.level === 'error'),
      false,
      proc.output,
    );
    // Same connection, no reconnect.
    assert.deepEqual(await call(c, { subscribe: { channel: 'news:a' } }), { subscribe: {} });
    assert.deepEqual(await call(c, { subscribe: { channel: 'chat:a' } }), { subscribe: {} });
    assert.equal(c.ws.readyState, c.ws.OPEN);
  } finally {
    await proc.kill();
    tmp.cleanup();
  }
});

test('process: SIGHUP also reloads token keys (new secret verifies subscription tokens)', async () => {
  const tmp = tempDir();
  const port = await freePort();
  const file = tmp.file('config.json', baseConfig(port, [NS_CHAT, { name: 'priv' }]));
  const proc = await startProcess(port, file);
  try {
    const c = await connectedClient(port);
    const cfg = baseConfig(port, [NS_CHAT, { name: 'priv' }]);
    cfg.client.token.hmac_secret_key = 'rotated-secret';
    tmp.file('config.json', cfg);
    const from = proc.lines.length;
    proc.signal('SIGHUP');
    await proc.waitForLine((l) => /reload/i.test(l.text), 'the reload log line', 15000, from);
    // The old secret no longer verifies subscription tokens (invalid ⇒ 103) …
    assert.deepEqual(await call(c, { subscribe: { channel: 'priv:a', token: await subToken('42', 'priv:a') } }), {
      error: errorOf(ErrorCode.permissionDenied),
    });
    // … the new one does, and the existing connection was kept.
    const fresh = await connToken('42', { channel: 'priv:a' }, undefined, 'rotated-secret');
    assert.deepEqual(await call(c, { subscribe: { channel: 'priv:a', token: fresh } }), { subscribe: {} });
  } finally {
    await proc.kill();
    tmp.cleanup();
  }
});

test('process: SIGHUP with an invalid config keeps running with the old config and logs an error', async () => {
  const tmp = tempDir();
  const port = await freePort();
  const file = tmp.file('config.json', baseConfig(port));
  const proc = await startProcess(port, file);
  try {
    const c = await connectedClient(port);
    const bad = baseConfig(port, [NS_CHAT, NS_NEWS]) as any;
    bad.client.channel_limit = 'many';
    tmp.file('config.json', bad);
    const from = proc.lines.length;
    proc.signal('SIGHUP');
    const errLine = await proc.waitForLine((l) => l.json?.level === 'error', 'an error log line', 15000, from);
    assert.ok(errLine.text.includes('client.channel_limit'), `the error names the key: ${errLine.text}`);
    // Old config still in force: chat works, news (only in the rejected file) does not.
    assert.deepEqual(await call(c, { subscribe: { channel: 'chat:a' } }), { subscribe: {} });
    assert.deepEqual(await call(c, { subscribe: { channel: 'news:a' } }), { error: errorOf(ErrorCode.unknownChannel) });
    // New connections are accepted too.
    const d = await connectedClient(port, '43');
    assert.deepEqual(await call(d, { subscribe: { channel: 'chat:b' } }), { subscribe: {} });
    d.close();
    assert.equal(proc.child.exitCode, null, 'still running');
  } finally {
    await proc.kill();
    tmp.cleanup();
  }
});

const INVALID_CONFIGS: { name: string; config: object; key: string }[] = [
  { name: 'wrong type', config: { client: { channel_limit: 'many' } }, key: 'client.channel_limit' },
  {
    name: 'cross-field check',
    config: { channel: { namespaces: [{ name: 'hist', history_size: 10 }] } },
    key: 'channel.namespaces[0].history_size',
  },
];

for (const inv of INVALID_CONFIGS) {
  test(`invalid config (${inv.name}): checkconfig exits 1 naming ${inv.key}`, async () => {
    const tmp = tempDir();
    const proc = CliProcess.start(['checkconfig', '-c', tmp.file('bad.json', inv.config)]);
    try {
      const exit = await within(proc.exited, 15000, 'checkconfig to exit');
      assert.equal(exit.code, 1, proc.output);
      assert.ok(proc.output.includes(inv.key), `output names ${inv.key}:\n${proc.output}`);
    } finally {
      await proc.kill();
      tmp.cleanup();
    }
  });

  test(`invalid config (${inv.name}): the server exits 1 naming ${inv.key}`, async () => {
    const tmp = tempDir();
    const port = await freePort();
    const cfg = { ...baseConfig(port), ...inv.config };
    const proc = CliProcess.start(['-c', tmp.file('bad.json', cfg)]);
    try {
      const exit = await within(proc.exited, 15000, 'the server to exit');
      assert.equal(exit.code, 1, proc.output);
      assert.ok(proc.output.includes(inv.key), `output names ${inv.key}:\n${proc.output}`);
    } finally {
      await proc.kill();
      tmp.cleanup();
    }
  });
}

test('valid config: checkconfig exits 0', async () => {
  const tmp = tempDir();
  const proc = CliProcess.start(['checkconfig', '-c', tmp.file('ok.json', baseConfig(8000))]);
  try {
    const exit = await within(proc.exited, 15000, 'checkconfig to exit');
    assert.equal(exit.code, 0, proc.output);
  } finally {
    await proc.kill();
    tmp.cleanup();
  }
});
