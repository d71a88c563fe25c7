/**
 * Server API (§7) driven by the `cent.js` client (and the raw HTTP API where cent.js has no
 * method or parameter), with the effects observed by `centrifuge` SDK connections.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CentClient, CentException } from 'cent.js';
import { connToken } from '../helpers/server.js';
import { apiOk, centOptions, eventually, withServer } from '../helpers/sdk.js';

const CONFIG = {
  client: { expired_close_delay: '1s' },
  channel: {
    namespaces: [
      {
        name: 'chat',
        allow_subscribe_for_client: true,
        history_size: 100,
        history_ttl: '300s',
        presence: true,
        allow_presence_for_subscriber: true,
      },
      { name: 'live', allow_subscribe_for_client: true },
    ],
  },
};

test('cent.js publish: the SDK subscriber receives the data, the result carries offset and epoch', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const cent = new CentClient(centOptions(srv));
    const a = sdk.client({ token: await connToken('alice') });
    await a.connect();
    const { events } = await a.subscribe('chat:room');
    const data = { text: 'from cent.js', list: [1, 'two', { three: 3 }] };
    const res = await cent.publish({ channel: 'chat:room', data });
    const top = await cent.getHistory({ channel: 'chat:room' });
    assert.deepEqual(res, { offset: 1, epoch: top.epoch });
    assert.match(top.epoch, /^[a-zA-Z]{8}$/);
    const pub = await events.next('publication');
    assert.deepEqual(pub.data, data);
    assert.equal(pub.offset, 1);

    // Tags travel with the publication.
    await cent.publish({ channel: 'chat:room', data: { t: 1 }, tags: { kind: 'test' } });
    const tagged = await events.next('publication');
    assert.deepEqual(tagged.tags, { kind: 'test' });
    assert.equal(tagged.offset, 2);

    // No history: an empty result, no offset on the publication.
    const live = await a.subscribe('live:x');
    assert.deepEqual(await cent.publish({ channel: 'live:x', data: { n: 1 } }), {});
    assert.equal((await live.events.next('publication')).offset, undefined);
  });
});

test('cent.js errors: publishing into an unknown namespace is rejected', async () => {
  await withServer(CONFIG, async (srv) => {
    const cent = new CentClient(centOptions(srv));
    await assert.rejects(cent.publish({ channel: 'nosuchns:x', data: { n: 1 } }), CentException);
    const r = await srv.api('publish', { channel: 'nosuchns:x', data: { n: 1 } });
    assert.deepEqual(r, { status: 200, body: { error: { code: 102, message: 'unknown channel' } } });
  });
});

test('broadcast to two channels: both subscriptions receive it; one response per channel', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const cent = new CentClient(centOptions(srv));
    const a = sdk.client({ token: await connToken('alice') });
    await a.connect();
    const s1 = await a.subscribe('chat:b1');
    const s2 = await a.subscribe('live:b2');
    const res: any = await cent.broadcast({ channels: ['chat:b1', 'live:b2'], data: { all: true } });
    assert.equal(res.responses.length, 2);
    const top = await cent.getHistory({ channel: 'chat:b1' });
    assert.deepEqual(res.responses[0], { result: { offset: 1, epoch: top.epoch } });
    assert.deepEqual(res.responses[1], { result: {} });
    assert.deepEqual((await s1.events.next('publication')).data, { all: true });
    assert.deepEqual((await s2.events.next('publication')).data, { all: true });

    // A bad channel fails only its own item.
    const mixed = await apiOk(srv, 'broadcast', { channels: ['nosuchns:x', 'live:b2'], data: { n: 2 } });
    assert.equal(mixed.responses[0].error.code, 102);
    assert.deepEqual(mixed.responses[1], { result: {} });
    assert.deepEqual((await s2.events.next('publication')).data, { n: 2 });
  });
});

test('disconnect: default code 3503, the SDK ends up disconnected without reconnecting', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const cent = new CentClient(centOptions(srv));
    const a = sdk.client({ token: await connToken('alice') });
    const b = sdk.client({ token: await connToken('bob') });
    await a.connect();
    await b.connect();
    assert.deepEqual(await cent.disconnect({ user: 'alice' }), {});
    const d = await a.events.next('disconnected');
    assert.equal(d.code, 3503);
    assert.equal(d.reason, 'force disconnect');
    assert.equal(a.c.state, 'disconnected');
    assert.equal(a.events.count('connecting'), 1, 'no reconnect attempt after the initial connect');
    await eventually(async () => (await cent.getInfo()).nodes[0]!.num_clients === 1, 'alice gone');
    assert.equal(b.c.state, 'connected', 'other users are not affected');
    assert.equal(b.events.count('disconnected'), 0);
  });
});

test('disconnect targets: client id and whitelist', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const a1 = sdk.client({ token: await connToken('alice') });
    const a2 = sdk.client({ token: await connToken('alice') });
    const a3 = sdk.client({ token: await connToken('alice') });
    const id1 = (await a1.connect()).client;
    const id2 = (await a2.connect()).client;
    await a3.connect();
    const { sub } = await a1.subscribe('chat:w');
    await apiOk(srv, 'disconnect', { user: 'alice', client: id2 });
    assert.equal((await a2.events.next('disconnected')).code, 3503);
    await apiOk(srv, 'disconnect', { user: 'alice', whitelist: [id1], disconnect: { code: 4501, reason: 'go away' } });
    const d3 = await a3.events.next('disconnected');
    assert.deepEqual([d3.code, d3.reason], [4501, 'go away'], 'custom code 4501 is terminal');
    // A round trip on the whitelisted connection: still there, still subscribed.
    assert.deepEqual(await sub.presenceStats(), { numClients: 1, numUsers: 1 });
    assert.deepEqual(Object.keys((await apiOk(srv, 'presence', { channel: 'chat:w' })).presence), [id1]);
    assert.equal(a1.c.state, 'connected');
    assert.equal(a1.events.count('disconnected'), 0);
    assert.equal(a1.events.count('connecting'), 1, 'only the initial connect');
  });
});

test('unsubscribe: the subscription gets server unsubscribe 2000 and stays unsubscribed', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const cent = new CentClient(centOptions(srv));
    const a = sdk.client({ token: await connToken('alice') });
    await a.connect();
    const { sub, events } = await a.subscribe('chat:u');
    const other = await a.subscribe('chat:keep');
    assert.deepEqual(await cent.unsubscribe({ user: 'alice', channel: 'chat:u' }), {});
    const u = await events.next('unsubscribed');
    assert.equal(u.code, 2000);
    assert.equal(u.reason, 'server unsubscribe');
    assert.equal(sub.state, 'unsubscribed');
    assert.equal(events.count('subscribing'), 1, 'no resubscribe');
    assert.deepEqual((await cent.getPresence({ channel: 'chat:u' })).presence, {});
    // The connection and the other subscription are untouched.
    assert.equal(a.c.state, 'connected');
    await cent.publish({ channel: 'chat:keep', data: { ok: 1 } });
    assert.deepEqual((await other.events.next('publication')).data, { ok: 1 });
  });
});

test('subscribe: a server-side subscription appears as a client-level subscribed event', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const cent = new CentClient(centOptions(srv));
    const a = sdk.client({ token: await connToken('alice') });
    const ctx = await a.connect();
    assert.deepEqual(await cent.subscribe({ user: 'alice', channel: 'chat:srv' }), {});
    const s = await a.events.next('subscribed');
    assert.equal(s.channel, 'chat:srv');
    await cent.publish({ channel: 'chat:srv', data: { via: 'server sub' } });
    const pub = await a.events.next('publication');
    assert.equal(pub.channel, 'chat:srv');
    assert.deepEqual(pub.data, { via: 'server sub' });
    assert.deepEqual(Object.keys((await cent.getPresence({ channel: 'chat:srv' })).presence), [ctx.client]);

    // Server API unsubscribe of a server-side subscription: client-level unsubscribed.
    await cent.unsubscribe({ user: 'alice', channel: 'chat:srv' });
    assert.equal((await a.events.next('unsubscribed')).channel, 'chat:srv');

    // Subscribe with data: delivered in the subscribe push.
    await apiOk(srv, 'subscribe', { user: 'alice', channel: 'live:d', data: { greeting: 'hi' } });
    const withData = await a.events.next('subscribed');
    assert.equal(withData.channel, 'live:d');
    assert.deepEqual(withData.data, { greeting: 'hi' });
  });
});

test('refresh with expired: true closes the connection with 3005 (reconnect)', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const a = sdk.client({ token: await connToken('alice') });
    const first = await a.connect();
    await apiOk(srv, 'refresh', { user: 'alice', expired: true });
    const c = await a.events.next('connecting', (x) => x.code !== 0);
    assert.equal(c.code, 3005);
    assert.equal(c.reason, 'connection expired');
    // The token has no exp, so the SDK reconnects with it.
    const again = await a.events.next('connected');
    assert.notEqual(again.client, first.client);
  });
});

test('refresh with expire_at: an unexpiring connection gets an expiry the server enforces', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const a = sdk.client({ token: await connToken('alice') });
    const first = await a.connect();
    const expireAt = Math.floor(Date.now() / 1000) + 1;
    await apiOk(srv, 'refresh', { user: 'alice', expire_at: expireAt });
    // The SDK does not refresh on a refresh push: at expire_at + expired_close_delay the server
    // closes the connection as expired.
    const c = await a.events.next('connecting', (x) => x.code !== 0, 10_000);
    assert.equal(c.code, 3005);
    assert.ok(Date.now() / 1000 >= expireAt, 'not closed before expire_at');
    const again = await a.events.next('connected');
    assert.notEqual(again.client, first.client);
  });
});

test('info: node counts match the SDK connections', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const cent = new CentClient(centOptions(srv));
    const before = await cent.getInfo();
    assert.equal(before.nodes.length, 1);
    assert.equal(before.nodes[0]!.num_clients ?? 0, 0);
    const a = sdk.client({ token: await connToken('alice') });
    const a2 = sdk.client({ token: await connToken('alice') });
    const b = sdk.client({ token: await connToken('bob') });
    await a.connect();
    await a2.connect();
    await b.connect();
    await a.subscribe('chat:i');
    await b.subscribe('chat:i');
    await b.subscribe('live:i');
    const n: any = (await cent.getInfo()).nodes[0];
    assert.equal(typeof n.uid, 'string');
    assert.equal(typeof n.name, 'string');
    assert.equal(typeof n.version, 'string');
    assert.equal(n.num_clients, 3);
    assert.equal(n.num_users, 2);
    assert.equal(n.num_channels, 2);
    assert.equal(n.num_subs, 3);
  });
});

test('channels: lists active channels with their client counts, filtered by pattern', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const cent = new CentClient(centOptions(srv));
    const a = sdk.client({ token: await connToken('alice') });
    const b = sdk.client({ token: await connToken('bob') });
    await a.connect();
    await b.connect();
    await a.subscribe('chat:one');
    await b.subscribe('chat:one');
    await b.subscribe('live:two');
    assert.deepEqual((await apiOk(srv, 'channels', {})).channels, { 'chat:one': { num_clients: 2 }, 'live:two': { num_clients: 1 } });
    assert.deepEqual((await cent.getChannels({ pattern: 'chat:*' })).channels, { 'chat:one': { num_clients: 2 } });
  });
});

test('presence, presence_stats, history and history_remove through cent.js', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const cent = new CentClient(centOptions(srv));
    const a = sdk.client({ token: await connToken('alice', { info: { name: 'Alice' } }) });
    const id = (await a.connect()).client;
    await a.subscribe('chat:p');
    const p = await cent.getPresence({ channel: 'chat:p' });
    assert.deepEqual(p.presence, { [id]: { user: 'alice', client: id, conn_info: { name: 'Alice' } } });
    assert.deepEqual(await cent.getPresenceStats({ channel: 'chat:p' }), { num_clients: 1, num_users: 1 });

    for (let i = 1; i <= 3; i++) await cent.publish({ channel: 'chat:p', data: { i } });
    const h = await cent.getHistory({ channel: 'chat:p', limit: 2, reverse: true });
    assert.deepEqual(
      h.publications.map((x: any) => [x.offset, x.data]),
      [
        [3, { i: 3 }],
        [2, { i: 2 }],
      ],
    );
    assert.equal(h.offset, 3);
    assert.deepEqual(await cent.removeHistory({ channel: 'chat:p' }), {});
    const after = await cent.getHistory({ channel: 'chat:p', limit: -1 });
    assert.deepEqual(after.publications ?? [], []);
    assert.equal(after.offset, 3, 'history_remove keeps the stream position');
    assert.equal(after.epoch, h.epoch);

    // Presence where it is off: error 108.
    await assert.rejects(cent.getPresence({ channel: 'live:x' }), CentException);
    assert.equal((await srv.api('presence', { channel: 'live:x' })).body.error.code, 108);
  });
});

test('batch: commands run in order, replies per command, the SDK sees the publications', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const a = sdk.client({ token: await connToken('alice') });
    await a.connect();
    const s1 = await a.subscribe('chat:x1');
    const s2 = await a.subscribe('live:x2');
    // cent.js has no batch method: raw HTTP. The batch response is `{"replies":[…]}` itself, not
    // wrapped in `result` as the other methods' are (Centrifugo encodes BatchResponse directly).
    const res = await srv.api('batch', {
      commands: [
        { publish: { channel: 'chat:x1', data: { n: 1 } } },
        { publish: { channel: 'live:x2', data: { n: 2 } } },
        { publish: { channel: 'nosuchns:x', data: { n: 3 } } },
        { presence_stats: { channel: 'chat:x1' } },
      ],
    });
    assert.equal(res.status, 200);
    const r = res.body;
    assert.equal(r.result, undefined, JSON.stringify(r));
    assert.equal(r.replies.length, 4);
    assert.equal(r.replies[0].publish.offset, 1);
    assert.deepEqual(r.replies[1], { publish: {} });
    assert.equal(r.replies[2].error.code, 102);
    assert.deepEqual(r.replies[3], { presence_stats: { num_clients: 1, num_users: 1 } });
    assert.deepEqual((await s1.events.next('publication')).data, { n: 1 });
    assert.deepEqual((await s2.events.next('publication')).data, { n: 2 });
  });
});

test(
  'cent.js pipeline (legacy /api endpoint): results in command order',
  async () => {
    await withServer(CONFIG, async (srv, sdk) => {
      const cent = new CentClient(centOptions(srv));
      const a = sdk.client({ token: await connToken('alice') });
      await a.connect();
      const { events } = await a.subscribe('chat:pipe');
      const results: any[] = await cent.pipeline([
        { method: 'publish' as any, params: { channel: 'chat:pipe', data: { k: 1 } } },
        { method: 'publish' as any, params: { channel: 'chat:pipe', data: { k: 2 } } },
        { method: 'presence_stats' as any, params: { channel: 'chat:pipe' } },
      ]);
      assert.equal(results.length, 3);
      assert.equal(results[0].offset, 1);
      assert.equal(results[1].offset, 2);
      assert.deepEqual(results[2], { num_clients: 1, num_users: 1 });
      assert.deepEqual((await events.next('publication')).data, { k: 1 });
      assert.deepEqual((await events.next('publication')).data, { k: 2 });
    });
  },
);
