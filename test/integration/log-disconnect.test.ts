/**
 * Every disconnect is logged at `debug` with the client, user, code and reason (what an operator
 * needs to tell a kick from a crash): one the server decides, and a client closing its own
 * connection (code 3000, 'connection closed'). A real server process at
 * `debug` level: one client closes its socket, another is disconnected through the server API
 * with code 4501; the process is then stopped, so every line it wrote is read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CliProcess, freePort, tempDir, type OutputLine } from '../helpers/server-process.js';
import { RawClient } from '../helpers/raw-ws.js';
import { API_KEY, SECRET, connToken } from '../helpers/server.js';

const isDisconnectLine = (l: OutputLine): boolean => l.json?.['message'] === 'client disconnected';

test('a server disconnect and a client closing its socket are each logged at debug with code and reason', async () => {
  const tmp = tempDir();
  const port = await freePort();
  const config = {
    http_server: { address: '127.0.0.1', port },
    log: { level: 'debug' },
    client: { token: { hmac_secret_key: SECRET } },
    http_api: { key: API_KEY },
  };
  const proc = CliProcess.start(['-c', tmp.file('config.json', config)]);
  const wsUrl = `ws://127.0.0.1:${port}/connection/websocket`;
  let bobId = '';
  let aliceId = '';
  let line: OutputLine;
  let bobLine: OutputLine;
  try {
    await proc.waitForLine((l) => l.text.includes(String(port)), `the server to listen on ${port}`);
    const bob = await RawClient.open(wsUrl);
    bobId = (await bob.connect(await connToken('bob'))).connect.client;
    bob.close();
    await bob.closed;
    bobLine = await proc.waitForLine((l) => isDisconnectLine(l) && l.json?.['client'] === bobId, 'bob\'s disconnect line');

    const alice = await RawClient.open(wsUrl);
    aliceId = (await alice.connect(await connToken('alice'))).connect.client;
    const res = await fetch(`http://127.0.0.1:${port}/api/disconnect`, {
      method: 'POST',
      headers: { 'X-API-Key': API_KEY },
      body: JSON.stringify({ user: 'alice', disconnect: { code: 4501, reason: 'kicked by test' } }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await alice.closed, { code: 4501, reason: 'kicked by test' });
    line = await proc.waitForLine((l) => isDisconnectLine(l) && l.json?.['client'] === aliceId, 'alice\'s disconnect line');
  } finally {
    proc.signal('SIGTERM');
    await proc.exited;
    tmp.cleanup();
  }
  const { time: _time, ...fields } = line.json!;
  assert.deepEqual(fields, { level: 'debug', client: aliceId, user: 'alice', code: 4501, reason: 'kicked by test', message: 'client disconnected' });
  const { time: _bobTime, ...bobFields } = bobLine.json!;
  assert.deepEqual(bobFields, { level: 'debug', client: bobId, user: 'bob', code: 3000, reason: 'connection closed', message: 'client disconnected' });
  // One line per connection: the shutdown disconnects nobody (both are gone).
  assert.equal(proc.lines.filter(isDisconnectLine).length, 2, proc.output);
});
