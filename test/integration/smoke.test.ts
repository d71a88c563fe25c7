import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, connToken } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';

test('smoke: connect, subscribe, publish through the API, receive', async () => {
  const srv = await startServer({ channel: { namespaces: [{ name: 'chat', allow_subscribe_for_client: true }] } });
  try {
    const c = await RawClient.open(srv.wsUrl);
    const rep = await c.connect(await connToken('42'));
    assert.equal(typeof rep.connect.client, 'string');
    assert.equal(rep.connect.ping, 25);
    assert.equal(rep.connect.pong, true);
    c.send({ id: 2, subscribe: { channel: 'chat:a' } });
    assert.deepEqual(await c.next((m) => m.id === 2), { id: 2, subscribe: {} });
    const r = await srv.api('publish', '{"channel":"chat:a","data":{"n":12345678901234567890}}');
    assert.deepEqual(r, { status: 200, body: { result: {} } });
    await c.next((m) => m.push?.pub);
    assert.ok(c.frames.some((f) => f.includes('{"n":12345678901234567890}')), 'raw data bytes preserved');
    c.close();
  } finally {
    await srv.stop();
  }
});
