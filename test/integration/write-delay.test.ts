/**
 * `client.write_delay`, `client.max_messages_in_frame` and `client.reply_without_queue` over a
 * real WebSocket: what a client sees in its frames.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connToken, withServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';
import { frameWhere } from '../helpers/error-paths.js';
import type { ConfigInput } from '../../src/config/schema.js';

const CHAT = { channel: { namespaces: [{ name: 'chat', allow_subscribe_for_client: true }] } } satisfies ConfigInput;

async function subscribed(url: string): Promise<RawClient> {
  const c = await RawClient.open(url);
  const rep = await c.connect(await connToken('u1'));
  assert.equal(typeof rep.connect?.client, 'string');
  c.send({ id: 2, subscribe: { channel: 'chat:wd' } });
  await c.next((m) => m.id === 2 && m.subscribe !== undefined);
  return c;
}

test('with a write delay, publications wait and leave in one frame; a reply without queue takes them along at once', async () => {
  // A delay far longer than the test: only reply_without_queue can get anything out.
  await withServer({ ...CHAT, client: { write_delay: '60s', reply_without_queue: true } }, async (srv) => {
    const c = await subscribed(srv.wsUrl);
    const before = c.frames.length;
    for (let i = 1; i <= 3; i++) assert.equal((await srv.api('publish', { channel: 'chat:wd', data: { i } })).status, 200);
    // An RPC without a handler is answered 108, as a reply: written now, after the queued pushes.
    c.send({ id: 3, rpc: { method: 'none' } });
    const frame = await frameWhere(c, () => c.frames.slice(before).find((f) => f.includes('"id":3')), 5000, 'the rpc reply');
    const lines = frame.split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((m) => (m.push ? m.push.pub.data.i : m.error?.code)),
      [1, 2, 3, 108],
      'queued publications first, then the reply, all in one frame',
    );
    assert.equal(c.frames.length, before + 1, 'nothing was written before the reply');
    c.close();
  });
});

test('a short write delay still delivers everything, in frames of at most max_messages_in_frame', async () => {
  await withServer({ ...CHAT, client: { write_delay: '100ms', max_messages_in_frame: 2 } }, async (srv) => {
    const c = await subscribed(srv.wsUrl);
    const before = c.frames.length;
    assert.equal((await srv.api('batch', { commands: [1, 2, 3, 4, 5].map((i) => ({ publish: { channel: 'chat:wd', data: { i } } })) })).status, 200);
    const pubs = () => c.frames.slice(before).flatMap((f) => f.split('\n')).map((l) => JSON.parse(l)).filter((m) => m.push?.pub);
    const got = await frameWhere(c, () => (pubs().length >= 5 ? pubs() : undefined), 5000, 'five publications');
    assert.deepEqual(got.map((m) => m.push.pub.data.i), [1, 2, 3, 4, 5]);
    assert.deepEqual(c.frames.slice(before).map((f) => f.split('\n').length), [2, 2, 1]);
    c.close();
  });
});
