/**
 * The embedding API (src/index.ts) from the sources, over real sockets with the official SDK:
 * starting from a config object, publishing and calling server API methods from code, hooks that
 * authenticate, refuse and change operations, attaching to the embedder's own HTTP server, and
 * config errors. test/integration/embedding-package.test.ts runs the packed package.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { startRotor, ReplyError, DisconnectError, ConfigError, type Rotor, type RotorConfig, type RotorHooks } from '../../src/index.js';
import { connToken, SECRET } from '../helpers/server.js';
import { rejectsWithCode, type TestClient } from '../helpers/sdk.js';
import { recordingLog, sdkClient, wsUrl } from '../helpers/embedding.js';

const CONFIG: RotorConfig = {
  http_server: { port: 0, address: '127.0.0.1' },
  client: { token: { hmac_secret_key: SECRET } },
  http_api: { disabled: true },
  channel: {
    namespaces: [{ name: 'chat', allow_subscribe_for_client: true, allow_publish_for_client: true, history_size: 10, history_ttl: '60s' }],
  },
};

async function withRotor(hooks: RotorHooks | undefined, fn: (rotor: Rotor, clients: TestClient[]) => Promise<void>): Promise<void> {
  const rotor = await startRotor({ config: CONFIG, log: recordingLog(), ...(hooks !== undefined ? { hooks } : {}) });
  const clients: TestClient[] = [];
  try {
    await fn(rotor, clients);
  } finally {
    for (const c of clients) c.c.disconnect();
    await rotor.stop(2000);
  }
}

test('startRotor listens; publish and api from code reach an SDK client and answer as the HTTP API does', async () => {
  await withRotor(undefined, async (rotor, clients) => {
    assert.ok(rotor.port > 0);
    assert.equal(rotor.internalPort, rotor.port);
    const a = sdkClient(wsUrl(rotor.port), await connToken('alice'));
    clients.push(a);
    await a.connect();
    const { events } = await a.subscribe('chat:index');

    const r = await rotor.publish('chat:index', { text: 'hi' });
    assert.equal(r.offset, 1);
    assert.equal(typeof r.epoch, 'string');
    assert.deepEqual((await events.next('publication')).data, { text: 'hi' });
    // Bytes are published as they are (through b64data).
    await rotor.publish('chat:index', new TextEncoder().encode('{"raw":true}'), { tags: { k: 'v' } });
    const raw = await events.next('publication');
    assert.deepEqual([raw.data, raw.tags], [{ raw: true }, { k: 'v' }]);
    // skipHistory keeps the publication out of the stream.
    assert.deepEqual(await rotor.publish('chat:index', { n: 3 }, { skipHistory: true }), {});

    assert.deepEqual(await rotor.api('channels'), { channels: { 'chat:index': { num_clients: 1 } } });
    const info = (await rotor.api('info')) as { nodes: { num_clients: number }[] };
    assert.equal(info.nodes.length, 1);
    assert.equal(info.nodes[0]!.num_clients, 1);
    const history = (await rotor.api('history', { channel: 'chat:index', limit: -1 })) as { publications: { data: unknown }[] };
    assert.deepEqual(history.publications.map((p) => p.data), [{ text: 'hi' }, { raw: true }]);
    // Batch answers as the HTTP API's body: replies, errors inside.
    // uptime, process.rss and the metrics snapshot are read live at each call, so they are compared by type only.
    const live = (nodes: Record<string, unknown>[]) =>
      nodes.map(({ uptime, process, metrics, ...rest }) => ({ ...rest, uptime: typeof uptime, process: typeof process, metrics: typeof metrics }));
    const batch = (await rotor.api('batch', { commands: [{ info: {} }, { publish: { channel: 'nope:x', data: {} } }] })) as {
      replies: [{ info: { nodes: Record<string, unknown>[] } }, unknown];
    };
    assert.deepEqual(live(batch.replies[0].info.nodes), live(info.nodes as unknown as Record<string, unknown>[]));
    assert.deepEqual(batch.replies[1], { error: { code: 102, message: 'unknown channel' } });

    await assert.rejects(rotor.api('no_such_method'), (e: unknown) => e instanceof ReplyError && e.code === 104);
    await assert.rejects(rotor.publish('nope:x', {}), (e: unknown) => e instanceof ReplyError && e.code === 102);
    await assert.rejects(rotor.api('publish', { channel: 'chat:index', data: {}, tags: 'not a map' }), (e: unknown) => e instanceof ReplyError && e.code === 107);

    await rotor.stop(2000);
    await assert.rejects(rotor.api('info'), /shutting down/);
  });
});

test('hooks: connecting authenticates by header or refuses, subscribing and publishing refuse or change, rpc answers', async () => {
  const seen: { user: string; transport: string }[] = [];
  const hooks: RotorHooks = {
    async connecting(e) {
      const cookie = e.headers.cookie ?? '';
      if (cookie === 'session=banned') throw new DisconnectError({ code: 4501, reason: 'banned' });
      if (cookie === 'session=bob') return { user: 'bob', info: { name: 'Bob' }, data: { welcome: true }, channels: ['chat:bob-feed'] };
      return undefined; // the token decides
    },
    async subscribing(e) {
      seen.push({ user: e.client.user, transport: e.client.transport });
      if (e.channel === 'chat:secret') throw new ReplyError(4003, 'members only');
      if (e.channel === 'chat:vip') return { data: { vip: true } };
      return undefined;
    },
    async publishing(e) {
      if (e.channel === 'chat:readonly') throw new ReplyError(103, 'permission denied');
      return { tags: { by: e.client.user } };
    },
    async rpc(e) {
      if (e.method !== 'sum') return undefined;
      const { a, b } = JSON.parse(new TextDecoder().decode(e.data)) as { a: number; b: number };
      return { data: { sum: a + b } };
    },
  };
  await withRotor(hooks, async (rotor, clients) => {
    // Authenticated by the hook: no token at all.
    const bob = sdkClient(wsUrl(rotor.port), '', { cookie: 'session=bob' });
    clients.push(bob);
    assert.deepEqual((await bob.connect()).data, { welcome: true });
    assert.equal((await bob.events.next('subscribed')).channel, 'chat:bob-feed');
    await rotor.publish('chat:bob-feed', { x: 1 });
    assert.deepEqual((await bob.events.next('publication')).data, { x: 1 });

    // The subscribing hook refuses; its code and message reach the client.
    const secret = bob.newSub('chat:secret');
    secret.sub.subscribe();
    const refused = await secret.events.next('unsubscribed');
    assert.deepEqual([refused.code, refused.reason], [4003, 'members only']);
    const vip = await bob.subscribe('chat:vip');
    assert.deepEqual(vip.subscribed.data, { vip: true });
    assert.deepEqual(seen.at(-1), { user: 'bob', transport: 'websocket' });

    // The publishing hook refuses one channel and tags publications in others.
    await rejectsWithCode(bob.c.publish('chat:readonly', { no: 1 }), 103, 'publish refused by the hook');
    await vip.sub.publish({ m: 'hello' });
    const pub = await vip.events.next('publication');
    assert.deepEqual([pub.data, pub.tags, pub.info?.user], [{ m: 'hello' }, { by: 'bob' }, 'bob']);

    assert.deepEqual((await bob.c.rpc('sum', { a: 2, b: 3 })).data, { sum: 5 });
    await rejectsWithCode(bob.c.rpc('other', {}), 104, 'a method the hook leaves to Rotor');

    // No cookie: the hook leaves the connect to Rotor's token check.
    const carol = sdkClient(wsUrl(rotor.port), await connToken('carol'));
    clients.push(carol);
    await carol.connect();
    await carol.subscribe('chat:index');
    assert.deepEqual(seen.at(-1), { user: 'carol', transport: 'websocket' });

    // Refused by the connecting hook: closed with its code, and the SDK does not retry.
    const banned = sdkClient(wsUrl(rotor.port), '', { cookie: 'session=banned' });
    clients.push(banned);
    banned.c.connect();
    const gone = await banned.events.next('disconnected');
    assert.deepEqual([gone.code, gone.reason], [4501, 'banned']);
  });
});

test('attached to the embedder server: Rotor serves its paths, the server keeps the others, stop gives them back', async () => {
  const server: Server = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(`app:${req.url}`);
  });
  // The embedder's own WebSocket endpoint on another path: it must never see Rotor's upgrades.
  const appWs = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (req.url === '/app-ws') appWs.handleUpgrade(req, socket, head, (ws) => ws.send('app-ws'));
    else socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const rotor = await startRotor({
    config: { ...CONFIG, health: { enabled: true }, http_server: { port: 1 } },
    server,
    log: recordingLog(),
  });
  const client = sdkClient(wsUrl(port), await connToken('dora'));
  try {
    assert.equal(rotor.port, port, 'the port is the embedder server’s');
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/hello`)).text(), 'app:/hello');
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/health`)).text(), '{}');
    const appMessage = await new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/app-ws`);
      ws.once('message', (d: Buffer) => {
        resolve(d.toString());
        ws.close();
      });
      ws.once('error', reject);
    });
    assert.equal(appMessage, 'app-ws');

    await client.connect();
    const { events } = await client.subscribe('chat:index');
    await rotor.publish('chat:index', { attached: true });
    assert.deepEqual((await events.next('publication')).data, { attached: true });
  } finally {
    client.c.disconnect();
    await rotor.stop(2000);
  }
  try {
    assert.ok(server.listening, 'stop leaves the embedder server running');
    assert.equal(await (await fetch(`http://127.0.0.1:${port}/health`)).text(), 'app:/health', 'Rotor’s paths are the server’s again');
  } finally {
    appWs.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('the config object is validated as a config file: errors name the key, unknown keys are warned about', async () => {
  await assert.rejects(
    startRotor({ config: { http_server: { port: 0 }, client: { channel_limit: -3 } } as RotorConfig }),
    (e: unknown) => e instanceof ConfigError && e.issues.some((i) => i.path === 'client.channel_limit'),
  );
  // Tarantool was Centrifugo's engine up to v5; v6 and Rotor have none.
  await assert.rejects(startRotor({ config: { engine: { type: 'tarantool' } } as unknown as RotorConfig }), (e: unknown) => e instanceof ConfigError && /engine\.type/.test(e.message));
  const log = recordingLog();
  const rotor = await startRotor({ config: { ...CONFIG, client: { ...CONFIG.client, alowed_origins: [] } } as RotorConfig, log });
  await rotor.stop(2000);
  assert.ok(
    log.lines.some((l) => l.includes('unknown config key "client.alowed_origins" (did you mean "client.allowed_origins"?)')),
    log.lines.join('\n'),
  );
});
