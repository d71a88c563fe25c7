/**
 * The NATS broker seen from outside (issue #17 items 4 and 5), with Rotor CLI processes: two nodes
 * on a private nats-server with the memory presence manager, official SDK clients on each. While
 * NATS is down `/health` answers 503 naming it on both nodes and API publishes fail with the
 * temporary error 100; once it is back `/health` is 200 and publications cross the nodes again,
 * to the subscriptions made before the outage. And a namespace that needs history is refused at
 * startup with a message naming the namespace, the option and the broker.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Centrifuge } from 'centrifuge';
import { connToken } from '../helpers/server.js';
import { wrapClient, type SdkClient } from '../helpers/sdk.js';
import { startNats, type NatsServer } from '../helpers/nats-server.js';
import { uniquePrefix } from '../helpers/redis-servers.js';
import { startNodes, type RotorNodes } from '../helpers/rotor-nodes.js';
import { CliProcess, tempDir } from '../helpers/server-process.js';
import { within } from '../helpers/error-paths.js';
import { pollUntil } from '../helpers/service-process.js';
import { RawClient } from '../helpers/raw-ws.js';

/** Bound for /health to turn, and for the SDK to come back after the outage, ms. */
const TURN_MS = 20_000;

let nats: NatsServer;
let cl: RotorNodes;
const sdks: SdkClient[] = [];

before(async () => {
  nats = await startNats();
  const prefix = uniquePrefix('nats-outage');
  try {
    cl = await startNodes({
      label: 'nats-outage',
      count: 2,
      config: () => ({
        broker: { enabled: true, type: 'nats', nats: { url: nats.url, prefix } },
        presence_manager: { enabled: true, type: 'memory' },
        health: { enabled: true },
        // No name length limit, so a channel too long for a NATS subject reaches the broker.
        channel: { max_length: 0, namespaces: [{ name: 'chat', allow_subscribe_for_client: true, presence: true }] },
      }),
    });
  } catch (err) {
    await nats.stop();
    throw err;
  }
});

after(async () => {
  for (const c of sdks) c.disconnect();
  await cl?.stop();
  await nats?.stop();
});

function client(node: number, user: string) {
  const c = new Centrifuge(cl.node(node).wsUrl, { websocket: WebSocket, minReconnectDelay: 50, maxReconnectDelay: 300, getToken: () => connToken(user) });
  sdks.push(c);
  return wrapClient(c);
}

async function health(node: number): Promise<{ status: number; text: string }> {
  const res = await fetch(`${cl.node(node).httpUrl}/health`);
  return { status: res.status, text: await res.text() };
}

async function waitHealth(node: number, status: number): Promise<string> {
  let last = { status: 0, text: '' };
  await pollUntil(async () => (last = await health(node)).status === status, `${cl.node(node).name}'s /health to answer ${status}`, { timeoutMs: TURN_MS, intervalMs: 50 });
  return last.text;
}

test('a channel NATS cannot carry (an empty subject token, a wildcard without allow_wildcards, over the subject size) is error 107 for the client and the API, not a temporary error to retry', async () => {
  const raw = await RawClient.open(cl.node(0).wsUrl);
  try {
    await raw.connect(await connToken('carl'));
    const bad = ['chat:a..b', 'chat:tail.', 'chat:news.*', `chat:${'x'.repeat(4100)}`];
    for (const [i, channel] of bad.entries()) {
      raw.send({ id: 10 + i, subscribe: { channel } });
      const reply = await raw.next((m) => m.id === 10 + i);
      assert.deepEqual(reply.error, { code: 107, message: 'bad request' }, `subscribe ${channel.slice(0, 20)}`);
      const res = await cl.apiRaw(0, 'publish', { channel, data: {} });
      assert.equal(res.body?.error?.code, 107, `publish ${channel.slice(0, 20)}: ${JSON.stringify(res.body).slice(0, 200)}`);
    }
    // The node's NATS connection is fine: a good channel still works both ways.
    raw.send({ id: 20, subscribe: { channel: 'chat:a.b' } });
    assert.equal((await raw.next((m) => m.id === 20)).error, undefined);
    await cl.api(0, 'publish', { channel: 'chat:a.b', data: { ok: true } });
    assert.deepEqual((await raw.next((m) => m.push?.channel === 'chat:a.b')).push.pub.data, { ok: true });
  } finally {
    raw.close();
  }
});

test('NATS down: /health 503 naming it and API publishes fail with 100; back: /health 200 and publications cross the nodes again', async () => {
  const a = client(0, 'alice');
  const b = client(1, 'bob');
  await a.connect();
  await b.connect();
  const onB = await b.subscribe('chat:outage');
  await cl.api(0, 'publish', { channel: 'chat:outage', data: { n: 1 } });
  assert.deepEqual((await onB.events.next('publication')).data, { n: 1 });
  // Presence stays with each node's memory presence manager: the NATS broker carries none.
  const presence = await cl.api(1, 'presence', { channel: 'chat:outage' });
  assert.deepEqual(Object.values(presence.presence).map((i) => (i as { user: string }).user), ['bob']);

  await nats.kill();
  for (const n of [0, 1]) {
    const text = await waitHealth(n, 503);
    assert.match(text, new RegExp(`nats 127\\.0\\.0\\.1:${nats.port}`), `${cl.node(n).name}'s /health names the NATS server: ${text}`);
  }
  const failed = await cl.apiRaw(0, 'publish', { channel: 'chat:outage', data: { n: 'lost' } });
  assert.equal(failed.status, 200);
  assert.equal(failed.body?.error?.code, 100, `a publish while NATS is down: ${JSON.stringify(failed.body)}`);
  assert.equal(a.c.state, 'connected', 'clients stay connected through a broker outage');

  await nats.restart();
  for (const n of [0, 1]) await waitHealth(n, 200);
  // /health is 200 once the client has reconnected, and it reconnects by sending CONNECT, every
  // subscription and a PING, and waits for the PONG: NATS has B's subscription by then.
  await cl.api(0, 'publish', { channel: 'chat:outage', data: { n: 2 } });
  assert.deepEqual((await onB.events.next('publication', () => true, TURN_MS)).data, { n: 2 });
  assert.ok(!onB.events.all('publication').some((p) => p.data.n === 'lost'), 'the failed publish was not delivered');
});

test('startup: a history namespace with the NATS broker exits 1 naming the namespace, history_size and the broker', async () => {
  const tmp = tempDir();
  try {
    const config = {
      http_server: { address: '127.0.0.1', port: 0 },
      client: { token: { hmac_secret_key: 'secret' } },
      http_api: { key: 'api-key' },
      broker: { enabled: true, type: 'nats', nats: { url: nats.url } },
      channel: { namespaces: [{ name: 'kept', history_size: 10, history_ttl: '60s' }] },
    };
    const proc = CliProcess.start(['-c', tmp.file('config.json', config)], { engineEnv: false });
    try {
      const exit = await within(proc.exited, TURN_MS, 'the server to exit');
      assert.deepEqual(exit, { code: 1, signal: null }, proc.output);
      const err = proc.lines.filter((l) => l.stream === 'stderr').map((l) => l.text).join('\n');
      assert.match(err, /channel\.namespaces\[0\]\.history_size: namespace "kept" keeps history \(history_size, history_ttl\), but broker\.type "nats" keeps none/, err);
    } finally {
      await proc.kill();
    }
  } finally {
    tmp.cleanup();
  }
});
