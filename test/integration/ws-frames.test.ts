/**
 * Frames built once and shared by subscribers (src/transport/shared/ws-frame.ts), over real
 * sockets: plain and permessage-deflate clients of the same server, JSON and Protobuf, a single
 * publication and a burst batched into one frame.
 */
import { test } from 'node:test';
import { TEST_ENGINE } from '../helpers/test-engine.js';
import assert from 'node:assert/strict';
import { connToken, withServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';
import { allPbReplies, frameWhere, nextPb, pbFrame } from '../helpers/error-paths.js';
import type { ConfigInput } from '../../src/config/schema.js';

const CONFIG: ConfigInput = {
  websocket: { compression: true, compression_min_size: 0 },
  channel: { namespaces: [{ name: 'chat', allow_subscribe_for_client: true }] },
};

async function jsonSubscriber(url: string, user: string, deflate: boolean): Promise<RawClient> {
  const c = await RawClient.open(url, { perMessageDeflate: deflate });
  assert.equal(c.ws.extensions.includes('permessage-deflate'), deflate);
  const rep = await c.connect(await connToken(user));
  assert.equal(typeof rep.connect?.client, 'string');
  c.send({ id: 2, subscribe: { channel: 'chat:frames' } });
  await c.next((m) => m.id === 2 && m.subscribe !== undefined);
  return c;
}

async function pbSubscriber(url: string, user: string, deflate: boolean): Promise<RawClient> {
  const c = await RawClient.open(url, { protocols: 'centrifuge-protobuf', perMessageDeflate: deflate });
  c.ws.send(pbFrame({ id: 1, connect: { token: await connToken(user) } }));
  await nextPb(c, (r) => r.id === 1 && r.connect !== undefined);
  c.ws.send(pbFrame({ id: 2, subscribe: { channel: 'chat:frames' } }));
  await nextPb(c, (r) => r.id === 2 && r.subscribe !== undefined);
  return c;
}

const pubsOf = (c: RawClient) => c.messages().filter((m) => m.push?.pub).map((m) => m.push.pub.data);
const pbPubsOf = (c: RawClient) => allPbReplies(c).filter((r) => r.push?.pub).map((r) => JSON.parse(Buffer.from(r.push.pub.data).toString()));

test('JSON and Protobuf subscribers, with and without compression, all get every publication in order', async () => {
  await withServer(CONFIG, async (srv) => {
    const clients = {
      jsonPlainA: await jsonSubscriber(srv.wsUrl, 'a', false),
      jsonPlainB: await jsonSubscriber(srv.wsUrl, 'b', false),
      jsonDeflate: await jsonSubscriber(srv.wsUrl, 'c', true),
    };
    const pb = { pbPlainA: await pbSubscriber(srv.wsUrl, 'd', false), pbPlainB: await pbSubscriber(srv.wsUrl, 'e', false), pbDeflate: await pbSubscriber(srv.wsUrl, 'f', true) };
    // One publication on its own, then a batch call: its publications leave in one turn and so
    // share frames across subscribers.
    assert.equal((await srv.api('publish', { channel: 'chat:frames', data: { n: 0 } })).status, 200);
    const batch = Array.from({ length: 5 }, (_, i) => ({ publish: { channel: 'chat:frames', data: { n: i + 1, text: 'x'.repeat(i * 40) } } }));
    assert.equal((await srv.api('batch', { commands: batch })).status, 200);
    const want = [0, 1, 2, 3, 4, 5];
    for (const [name, c] of Object.entries(clients)) {
      const got = await frameWhere(c, () => (pubsOf(c).length >= 6 ? pubsOf(c) : undefined), 5000, `${name}: 6 publications`);
      assert.deepEqual(got.map((d: { n: number }) => d.n), want, name);
    }
    for (const [name, c] of Object.entries(pb)) {
      const got = await frameWhere(c, () => (pbPubsOf(c).length >= 6 ? pbPubsOf(c) : undefined), 5000, `${name}: 6 publications`);
      assert.deepEqual(got.map((d: { n: number }) => d.n), want, name);
    }
    // The batch arrived batched: fewer frames than publications on a plain JSON connection. Only
    // where the broker delivers inside the publish call (memory): over Redis each publication of
    // the sequential batch comes back from PUB/SUB in its own turn, so each gets its own frame.
    const batchFrames = clients.jsonPlainA.frames.filter((f) => f.includes('"n":5'));
    assert.equal(batchFrames.length, 1);
    if (TEST_ENGINE.name === 'memory') assert.ok(batchFrames[0]!.split('\n').length > 1, 'several publications in the frame that carried n=5');
    for (const c of [...Object.values(clients), ...Object.values(pb)]) c.close();
  });
});
