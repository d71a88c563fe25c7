/**
 * Three nodes in one process on one memory bus (the shared memory engine), each with its own
 * listeners and real SDK clients: the control plane's cross-node behaviour end to end. API calls
 * go to one node and act on connections held by another; `channels` and `info` answer for the
 * cluster; an /emulation request sent to the wrong node reaches its session; a stopped node
 * leaves `info` at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBus } from '../../src/engine/memory/broker.js';
import { connToken, startServer, type TestServer } from '../helpers/server.js';
import { SdkPool, apiOk, eventually, type TestClient } from '../helpers/sdk.js';
import { Kit, emulate } from '../helpers/transport-kit.js';

const CONFIG = {
  http_stream: { enabled: true },
  channel: { namespaces: [{ name: 'chat', allow_subscribe_for_client: true }] },
};

interface Cluster {
  nodes: TestServer[];
  pools: SdkPool[];
  stop(): Promise<void>;
}

async function startCluster(n: number): Promise<Cluster> {
  const bus = new MemoryBus();
  const nodes: TestServer[] = [];
  for (let i = 0; i < n; i++) {
    const srv = await startServer(CONFIG, { engine: bus.engine() });
    // A node a test stops is not stopped again at the end.
    const stop = srv.stop;
    let stopped: Promise<void> | undefined;
    srv.stop = () => (stopped ??= stop());
    nodes.push(srv);
  }
  const pools = nodes.map((s) => new SdkPool(s));
  return {
    nodes,
    pools,
    async stop() {
      for (const p of pools) p.closeAll();
      for (const s of nodes) await s.stop();
    },
  };
}

async function nodeCount(srv: TestServer): Promise<number> {
  return (await apiOk(srv, 'info', {})).nodes.length;
}

async function connect(pool: SdkPool, user: string): Promise<TestClient & { id: string }> {
  const c = pool.client({ token: await connToken(user) });
  const { client } = await c.connect();
  return Object.assign(c, { id: client });
}

test('cluster of three: info lists every node, then two once one stops', async () => {
  const cl = await startCluster(3);
  try {
    const [a, b, c] = cl.nodes as [TestServer, TestServer, TestServer];
    for (const s of cl.nodes) await eventually(async () => (await nodeCount(s)) === 3, 'every node to know the three');
    const info = await apiOk(a, 'info', {});
    const uids = info.nodes.map((x: { uid: string }) => x.uid).sort();
    assert.deepEqual(uids, cl.nodes.map((s) => s.app.node.options.nodeId).sort(), 'the three node IDs');
    assert.equal(info.nodes[0].uid, a.app.node.options.nodeId, 'the answering node first');

    // Figures come from each node's heartbeat: a client on C shows up in A's view of C.
    await connect(cl.pools[2]!, 'carol');
    await eventually(async () => {
      const nodes = (await apiOk(a, 'info', {})).nodes as { uid: string; num_clients?: number }[];
      return nodes.find((x) => x.uid === c.app.node.options.nodeId)?.num_clients === 1;
    }, "C's client count in A's info");

    cl.pools[1]!.closeAll();
    await b.stop();
    // B announced its shutdown: the others drop it without waiting for its heartbeats to lapse.
    const after = await apiOk(a, 'info', {});
    assert.deepEqual(after.nodes.map((x: { uid: string }) => x.uid).sort(), [a, c].map((s) => s.app.node.options.nodeId).sort());
    assert.equal(await nodeCount(c), 2);
  } finally {
    await cl.stop();
  }
});

test('cluster of three: disconnect, subscribe, unsubscribe, refresh and channels act across nodes', async () => {
  const cl = await startCluster(3);
  try {
    const [a, b, c] = cl.nodes as [TestServer, TestServer, TestServer];
    for (const s of cl.nodes) await eventually(async () => (await nodeCount(s)) === 3, 'every node to know the three');

    // disconnect through A drops the client on C; the whitelisted one stays.
    const onC = await connect(cl.pools[2]!, 'carol');
    const kept = await connect(cl.pools[1]!, 'carol');
    const gone = onC.events.next('disconnected');
    await apiOk(a, 'disconnect', { user: 'carol', whitelist: [kept.id] });
    assert.equal((await gone).code, 3503, 'the API default: force disconnect, no reconnect');
    assert.equal(c.app.node.hub.userSessions('carol').length, 0, 'carol has no connection left on C');
    assert.equal(b.app.node.hub.userSessions('carol').length, 1, 'the whitelisted connection on B stays');

    // The client filter crosses nodes too: only the named connection on C goes.
    const [c1, c2] = [await connect(cl.pools[2]!, 'hank'), await connect(cl.pools[2]!, 'hank')];
    const c1Gone = c1.events.next('disconnected');
    await apiOk(a, 'disconnect', { user: 'hank', client: c1.id });
    await c1Gone;
    assert.deepEqual(c.app.node.hub.userSessions('hank').map((s) => s.clientId), [c2.id]);

    // A refresh through A that is not expired gives the connection on C its new expiry and info.
    const expireAt = Math.floor(Date.now() / 1000) + 3600;
    await apiOk(a, 'refresh', { user: 'hank', expire_at: expireAt, info: { role: 'admin' } });
    await eventually(async () => c.app.node.hub.userSessions('hank')[0]?.expireAt === expireAt, 'the new expiry on C');
    assert.equal(Buffer.from(c.app.node.hub.userSessions('hank')[0]!.connInfo ?? []).toString(), '{"role":"admin"}');

    // subscribe through B adds a server-side subscription on A, which then gets publications
    // published through C.
    const dave = await connect(cl.pools[0]!, 'dave');
    const subscribed = dave.events.next('subscribed', (e) => e.channel === 'chat:news');
    await apiOk(b, 'subscribe', { user: 'dave', channel: 'chat:news' });
    await subscribed;
    const pub = dave.events.next('publication', (e) => e.channel === 'chat:news');
    await apiOk(c, 'publish', { channel: 'chat:news', data: { n: 1 } });
    assert.deepEqual((await pub).data, { n: 1 });

    // channels through C lists the channels of all three nodes, counts summed over nodes.
    await (await connect(cl.pools[1]!, 'erin')).subscribe('chat:b');
    const frank = await connect(cl.pools[2]!, 'frank');
    await frank.subscribe('chat:c');
    await frank.subscribe('chat:news');
    const channels = (await apiOk(c, 'channels', {})).channels;
    assert.deepEqual(channels, { 'chat:news': { num_clients: 2 }, 'chat:b': { num_clients: 1 }, 'chat:c': { num_clients: 1 } });
    assert.deepEqual((await apiOk(a, 'channels', { pattern: 'chat:[bc]' })).channels, { 'chat:b': { num_clients: 1 }, 'chat:c': { num_clients: 1 } });

    // unsubscribe through C removes dave's server-side subscription on A.
    const unsubscribed = dave.events.next('unsubscribed', (e) => e.channel === 'chat:news');
    await apiOk(c, 'unsubscribe', { user: 'dave', channel: 'chat:news' });
    await unsubscribed;
    assert.equal(a.app.node.hub.channelSubscriberCount('chat:news'), 0);

    // refresh through B with `expired` closes dave's connection on A with 3005.
    const expired = dave.events.next('connecting', (e) => e.code === 3005);
    await apiOk(b, 'refresh', { user: 'dave', expired: true });
    await expired;
  } finally {
    await cl.stop();
  }
});

test('cluster of three: an /emulation request sent to the wrong node reaches the session', async () => {
  const cl = await startCluster(3);
  const kit = new Kit(cl.nodes[0]!);
  try {
    const [, , c] = cl.nodes as [TestServer, TestServer, TestServer];
    for (const s of cl.nodes) await eventually(async () => (await nodeCount(s)) === 3, 'every node to know the three');
    const { s, reply } = await kit.httpStreamSession({ token: await connToken('gina') });
    const { node, session } = reply.connect;
    assert.equal(node, cl.nodes[0]!.app.node.options.nodeId);
    // Sent to C, which does not hold the session: C forwards it to A.
    const r = await emulate(c, { node, session }, { id: 2, subscribe: { channel: 'chat:em' } });
    assert.equal(r.status, 204, `emulation through C: ${r.status} ${r.body}`);
    const sub = await s.nextLine((m) => m.id === 2, 'the subscribe reply on the session held by A');
    assert.ok(sub.subscribe, JSON.stringify(sub));
    assert.equal(cl.nodes[0]!.app.node.hub.channelSubscriberCount('chat:em'), 1);
    // A node that is not in the cluster: 404, as on one node.
    assert.equal((await emulate(c, { node: 'no-such-node', session }, { id: 3, subscribe: { channel: 'chat:x' } })).status, 404);
  } finally {
    await kit.closeAll();
    await cl.stop();
  }
});
