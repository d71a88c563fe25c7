/**
 * Centrifugo v1 clients and v1's admin socket across two Rotor processes on one Redis
 * (ROTOR_TEST_REDIS_URL, a key prefix of this test's own): a publication made through one node
 * reaches a v1 client and a watching admin socket on the other, and a v1 client's publication
 * reaches a current SDK on the other node.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { deletePrefix, redisUrl } from '../contract/redis-engines.js';
import { startNodes, type RotorNodes } from '../helpers/rotor-nodes.js';
import { SECRET, connToken } from '../helpers/server.js';
import { sdkClient } from '../helpers/embedding.js';
import { v1Client } from '../helpers/v1-client.js';
import { within } from '../helpers/sdk.js';

const prefix = `rotor-test-v1-nodes-${randomBytes(6).toString('hex')}`;
let cl: RotorNodes;

before(async () => {
  cl = await startNodes({
    label: 'v1-nodes',
    count: 2,
    config: () => ({
      engine: { type: 'redis', redis: { address: [redisUrl()], prefix } },
      admin: { enabled: true, v1_socket: true, password: 'pw', secret: 'admin-secret' },
      client: { v1: { enabled: true } },
      channel: { namespaces: [{ name: 'watched', watch: true, allow_subscribe_for_client: true, allow_publish_for_subscriber: true, allow_subscribe_for_anonymous: true }] },
    }),
  });
  await cl.waitJoined();
});

after(async () => {
  await cl.stop();
  await deletePrefix(redisUrl(), prefix);
});

test('a publication through node B reaches a v1 client and a watching v1 admin socket on node A; a v1 client on A and the current SDK on B exchange publications', async () => {
  const [a, b] = [cl.node(0), cl.node(1)];
  const login = await fetch(`${a.httpUrl}/auth/`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'password=pw' });
  const { token } = (await login.json()) as { token: string };

  const admin = new WebSocket(`ws://127.0.0.1:${a.port}/socket`);
  const adminFrames: unknown[] = [];
  const adminMessage = new Promise<{ body: { channel: string; data: unknown } }>((resolve) =>
    admin.on('message', (d: Buffer) => {
      const f = JSON.parse(d.toString()) as { method?: string; body: { channel: string; data: unknown } };
      adminFrames.push(f);
      if (!Array.isArray(f) && f.method === 'message') resolve(f);
    }),
  );
  await new Promise((resolve, reject) => admin.once('open', resolve).once('error', reject));
  const v1 = v1Client({ url: a.wsUrl, user: 'old', secret: SECRET });
  const v2 = sdkClient(b.wsUrl, await connToken('new'));
  try {
    admin.send(JSON.stringify({ uid: '1', method: 'connect', params: { token, watch: true } }));
    await within(
      new Promise<void>((resolve) => {
        const t = setInterval(() => adminFrames.length > 0 && (clearInterval(t), resolve()), 20);
      }),
      'the admin connect reply',
    );
    assert.deepEqual(adminFrames[0], [{ uid: '1', method: 'connect', error: null, body: true }]);
    const s1 = v1.subscribe('watched:room');
    v1.c.connect();
    await s1.events.next('subscribe');
    await v2.connect();
    const s2 = await v2.subscribe('watched:room');

    await cl.api(b, 'publish', { channel: 'watched:room', data: { via: 'B' } });
    assert.deepEqual((await s1.events.next('message'))['data'], { via: 'B' });
    const watched = await within(adminMessage, 'the watched publication on node A');
    assert.deepEqual([watched.body.channel, watched.body.data], ['watched:room', { via: 'B' }]);
    assert.deepEqual((await s2.events.next('publication')).data, { via: 'B' });

    await s1.sub.publish({ via: 'v1 on A' });
    assert.deepEqual((await s2.events.next('publication')).data, { via: 'v1 on A' });
    await s2.sub.publish({ via: 'v2 on B' });
    assert.deepEqual((await s1.events.next('message'))['data'], { via: 'v1 on A' });
    assert.deepEqual((await s1.events.next('message'))['data'], { via: 'v2 on B' });
  } finally {
    admin.close();
    v1.c.disconnect();
    v2.c.disconnect();
  }
});
