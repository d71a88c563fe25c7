/**
 * Channel state across two Rotor processes on one Redis (ROTOR_TEST_REDIS_URL, a key prefix of
 * the test's own), SDK clients on each node and one HTTP backend in this process: a single
 * `occupied` for subscribers on both nodes, a single `vacated` after the last left anywhere, a
 * subscriber moving between nodes within the delay absorbed, and a node killed (SIGKILL, no
 * cleanup) while holding a channel's only subscriber: the surviving node vacates it once the dead
 * node's heartbeat expired (`lifecycle_events.node_ttl`), and the dead node's clients leave
 * presence, as seen through the surviving node, once their entries expired (`presence_ttl`).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connToken, type TestServer } from '../helpers/server.js';
import { SdkPool, type TestClient } from '../helpers/sdk.js';
import { startNodes, type RotorNodes } from '../helpers/rotor-nodes.js';
import { deletePrefix, redisUrl } from '../contract/redis-engines.js';
import { HttpBackend, type BackendEvent } from '../helpers/lifecycle-backends.js';
import { pollUntil } from '../helpers/service-process.js';

/** Spans a node's restart (a process start is about 1.5 s). */
const RESTART_WAIT_MS = 20_000;

describe('channel state across two Rotor processes on Redis', () => {
  const prefix = `rotor-test-lifecycle-${randomBytes(6).toString('hex')}`;
  let backend: HttpBackend;
  let cl: RotorNodes;
  const pools: SdkPool[] = [];

  before(async () => {
    backend = await HttpBackend.start();
    cl = await startNodes({
      label: 'lifecycle',
      count: 2,
      config: () => ({
        // Presence entries live 2 s unless refreshed (every 500 ms): a killed node's go soon.
        engine: { type: 'redis', redis: { address: [redisUrl()], prefix, presence_ttl: '2s' } },
        lifecycle_events: { endpoint: backend.url, batch_max_delay: '10ms', vacated_delay: '2500ms', node_ttl: '1s' },
        client: { disconnect_events_enabled: true, presence_update_interval: '500ms' },
        channel: { namespaces: [{ name: 'room', allow_subscribe_for_client: true, state_proxy_enabled: true, presence: true }] },
      }),
    });
  });

  after(async () => {
    for (const p of pools) p.closeAll();
    await cl?.stop();
    await backend?.close();
    await deletePrefix(redisUrl(), prefix);
  });

  async function client(node: number, user: string): Promise<TestClient & { id: string }> {
    const pool = new SdkPool({ wsUrl: cl.node(node).wsUrl } as TestServer);
    pools.push(pool);
    const c = pool.client({ token: await connToken(user) });
    const { client: id } = await c.connect();
    return Object.assign(c, { id });
  }

  const is =
    (type: string, channel: string) =>
    (e: BackendEvent): boolean =>
      e['type'] === type && e['channel'] === channel;
  const stateOf = (channel: string): string[] =>
    backend
      .events()
      .filter((e) => e['channel'] === channel && (e['type'] === 'occupied' || e['type'] === 'vacated'))
      .map((e) => e['type'] as string);

  it('one occupied for subscribers on both nodes, one vacated once both left', async () => {
    const a = await client(0, 'ann');
    const b = await client(1, 'ben');
    const sa = await a.subscribe('room:both');
    await b.subscribe('room:both');
    await backend.next(is('occupied', 'room:both'), 'occupied');
    sa.sub.unsubscribe();
    // A sentinel left on node A after A left room:both: its vacated first proves room:both (held
    // on node B) was not vacated meanwhile.
    const s = await a.subscribe('room:sentinel-1');
    s.sub.unsubscribe();
    await backend.next(is('vacated', 'room:sentinel-1'), 'the sentinel vacated');
    assert.deepEqual(stateOf('room:both'), ['occupied']);
    b.c.disconnect();
    await backend.next(is('vacated', 'room:both'), 'vacated');
    await backend.next((e) => e['type'] === 'disconnect' && e['client'] === b.id, "ben's disconnect");
    assert.deepEqual(stateOf('room:both'), ['occupied', 'vacated']);
  });

  it('a subscriber moving from node B to node A within the delay: nothing more', async () => {
    const b = await client(1, 'cy');
    await b.subscribe('room:move');
    await b.subscribe('room:sentinel-2');
    await backend.next(is('occupied', 'room:sentinel-2'), 'the sentinel occupied');
    b.c.disconnect();
    const a = await client(0, 'cy');
    await a.subscribe('room:move');
    await backend.next(is('vacated', 'room:sentinel-2'), 'the sentinel vacated');
    assert.deepEqual(stateOf('room:move'), ['occupied']);
    a.c.disconnect();
    await backend.next(is('vacated', 'room:move'), 'vacated once the mover left for good');
    assert.deepEqual(stateOf('room:move'), ['occupied', 'vacated']);
  });

  it("a node killed without cleanup: the other node vacates its channels once its heartbeat expired, and its clients leave presence once their entries expired", async () => {
    const b = await client(1, 'dee');
    await b.subscribe('room:crash');
    await backend.next(is('occupied', 'room:crash'), 'occupied');
    // Presence in another channel, with a client on the surviving node too.
    const a = await client(0, 'eve');
    await a.subscribe('room:crash-presence');
    await b.subscribe('room:crash-presence');
    const users = async (): Promise<string[]> => Object.values((await cl.api(0, 'presence', { channel: 'room:crash-presence' })).presence as Record<string, { user: string }>).map((i) => i.user).sort();
    assert.deepEqual(await users(), ['dee', 'eve'], "node A's presence shows both nodes' clients");
    await cl.restart(1, {
      signal: 'SIGKILL',
      between: async () => {
        await backend.next(is('vacated', 'room:crash'), 'vacated by the surviving node', RESTART_WAIT_MS);
        // Nobody removes dee's entry: it expires after presence_ttl, unrefreshed.
        await pollUntil(async () => (await users()).join() === 'eve', "dee's presence entry to expire", { timeoutMs: RESTART_WAIT_MS, intervalMs: 100 });
        assert.deepEqual(await cl.api(0, 'presence_stats', { channel: 'room:crash-presence' }), { num_clients: 1, num_users: 1 });
        a.c.disconnect();
        // Its SDK would reconnect to the restarted node and occupy the channel again.
        b.c.disconnect();
      },
    });
    assert.deepEqual(stateOf('room:crash'), ['occupied', 'vacated']);
  });
});
