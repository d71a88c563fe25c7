/**
 * Conformance with the official `centrifuge` JavaScript SDK, JSON build, over real WebSocket
 * connections: connect, subscribe, API publications, permission errors (§2.1, §4.3),
 * history/presence (§5.3, §6) and recovery after a reconnect (§5.4).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connToken } from '../helpers/server.js';
import { apiOk, deferred, eventually, rejectsWithCode, withServer } from '../helpers/sdk.js';
import { CHAT_NAMESPACE as CHAT } from '../fixtures/namespaces.js';
import { UUID } from '../helpers/transport-kit.js';

const CONFIG = {
  channel: {
    namespaces: [
      CHAT,
      // No history: publications have no offset.
      { name: 'live', allow_subscribe_for_client: true },
      // History and presence on, but no client permission for anything.
      { name: 'closed', history_size: 10, history_ttl: '300s', presence: true },
      // Subscribable, history and presence on, but no history/presence/publish permission.
      { name: 'ro', allow_subscribe_for_client: true, history_size: 10, history_ttl: '300s', presence: true },
      // Every permission, but history and presence off.
      {
        name: 'bare',
        allow_subscribe_for_client: true,
        allow_history_for_client: true,
        allow_presence_for_client: true,
        allow_publish_for_client: true,
      },
      // Subscribers may publish.
      { name: 'talk', allow_subscribe_for_client: true, allow_publish_for_subscriber: true, history_size: 10, history_ttl: '300s' },
    ],
  },
};

test('connect with a JWT: the connected event carries the server-assigned client id', async () => {
  await withServer(CONFIG, async (_srv, sdk) => {
    const a = sdk.client({ token: await connToken('alice') });
    const ctx = await a.connect();
    assert.match(ctx.client, UUID);
    assert.equal(ctx.transport, 'websocket');
    assert.equal(a.c.state, 'connected');
    const b = sdk.client({ token: await connToken('alice') });
    const ctx2 = await b.connect();
    assert.notEqual(ctx2.client, ctx.client, 'every connection gets its own client id');
  });
});

test('subscribe to a namespace channel and receive an API publication with its offset', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const a = sdk.client({ token: await connToken('alice') });
    await a.connect();
    const { events, subscribed } = await a.subscribe('chat:room');
    assert.equal(subscribed.channel, 'chat:room');
    // force_recovery: the subscription is recoverable and positioned at the (empty) stream top.
    assert.equal(subscribed.recoverable, true);
    assert.equal(subscribed.positioned, true);
    assert.equal(typeof subscribed.streamPosition?.epoch, 'string');
    assert.equal(subscribed.streamPosition?.offset, 0);

    const data = { text: 'hello', n: [1, 2.5, { deep: null }], t: true, s: 'ünïcødé ✓' };
    const res = await apiOk(srv, 'publish', { channel: 'chat:room', data });
    assert.equal(res.offset, 1);
    assert.equal(res.epoch, subscribed.streamPosition.epoch);
    const pub = await events.next('publication');
    assert.equal(pub.channel, 'chat:room');
    assert.deepEqual(pub.data, data);
    assert.equal(pub.offset, 1);
    assert.equal(pub.info, undefined, 'API publications carry no publisher info');

    await apiOk(srv, 'publish', { channel: 'chat:room', data: { second: true } });
    const pub2 = await events.next('publication');
    assert.deepEqual(pub2.data, { second: true });
    assert.equal(pub2.offset, 2);
  });
});

test('publications in a namespace without history have no offset', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const a = sdk.client({ token: await connToken('alice') });
    await a.connect();
    const { events, subscribed } = await a.subscribe('live:x');
    assert.equal(subscribed.recoverable, false);
    assert.equal(subscribed.positioned, false);
    const res = await apiOk(srv, 'publish', { channel: 'live:x', data: { a: 1 } });
    assert.deepEqual(res, {});
    const pub = await events.next('publication');
    assert.deepEqual(pub.data, { a: 1 });
    assert.equal(pub.offset, undefined);
  });
});

test('subscribe without permission: subscription unsubscribed with code 103', async () => {
  await withServer(CONFIG, async (_srv, sdk) => {
    const a = sdk.client({ token: await connToken('alice') });
    await a.connect();
    const s = a.newSub('closed:x');
    const ready = s.sub.ready().then(
      () => 'resolved',
      (e: unknown) => e,
    );
    s.sub.subscribe();
    const u = await s.events.next('unsubscribed');
    assert.equal(u.code, 103);
    assert.equal(u.reason, 'permission denied');
    assert.equal(s.sub.state, 'unsubscribed');
    assert.equal(s.events.count('subscribed'), 0);
    assert.notEqual(await ready, 'resolved', 'sub.ready() rejects when the subscription ends unsubscribed');
    assert.equal(a.c.state, 'connected', 'a subscribe error does not break the connection');
  });
});

test('subscribe to an unknown namespace: unsubscribed with code 102', async () => {
  await withServer(CONFIG, async (_srv, sdk) => {
    const a = sdk.client({ token: await connToken('alice') });
    await a.connect();
    const s = a.newSub('nosuchns:x');
    s.sub.subscribe();
    const u = await s.events.next('unsubscribed');
    assert.equal(u.code, 102);
    assert.equal(u.reason, 'unknown channel');
    assert.equal(a.c.state, 'connected');
  });
});

test('history, presence and presence stats without permission are rejected with 103', async () => {
  await withServer(CONFIG, async (_srv, sdk) => {
    const a = sdk.client({ token: await connToken('alice') });
    await a.connect();
    // Not subscribed, no permission.
    await rejectsWithCode(a.c.history('closed:x', { limit: 10 }), 103, 'history');
    await rejectsWithCode(a.c.presence('closed:x'), 103, 'presence');
    await rejectsWithCode(a.c.presenceStats('closed:x'), 103, 'presence stats');
    // Subscribed, but the namespace grants no history/presence permission to subscribers.
    const { sub } = await a.subscribe('ro:x');
    await rejectsWithCode(sub.history({ limit: 10 }), 103, 'sub.history');
    await rejectsWithCode(sub.presence(), 103, 'sub.presence');
    await rejectsWithCode(sub.presenceStats(), 103, 'sub.presenceStats');
    assert.equal(a.c.state, 'connected');
  });
});

test('history where history is off and presence where presence is off are rejected with 108', async () => {
  await withServer(CONFIG, async (_srv, sdk) => {
    const a = sdk.client({ token: await connToken('alice') });
    await a.connect();
    const { sub } = await a.subscribe('bare:x');
    await rejectsWithCode(sub.history({ limit: 10 }), 108, 'history');
    await rejectsWithCode(sub.presence(), 108, 'presence');
    await rejectsWithCode(sub.presenceStats(), 108, 'presence stats');
    // 108 comes before the permission check (client not subscribed to bare:other).
    await rejectsWithCode(a.c.history('live:x', { limit: 1 }), 108, 'history in a namespace without history');
    assert.equal(a.c.state, 'connected');
  });
});

test('client publish without permission is rejected with 103 and stores nothing', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const a = sdk.client({ token: await connToken('alice') });
    await a.connect();
    const { sub } = await a.subscribe('chat:room');
    await rejectsWithCode(sub.publish({ text: 'nope' }), 103, 'sub.publish');
    await rejectsWithCode(a.c.publish('chat:other', { text: 'nope' }), 103, 'client publish');
    const h = await apiOk(srv, 'history', { channel: 'chat:room', limit: -1 });
    assert.deepEqual(h.publications, []);
    assert.equal(a.c.state, 'connected');
  });
});

test('allow_publish_for_subscriber: a subscriber publishes and the other subscriber receives it with info', async () => {
  await withServer(CONFIG, async (_srv, sdk) => {
    const alice = sdk.client({ token: await connToken('alice', { info: { name: 'Alice' } }) });
    const bob = sdk.client({ token: await connToken('bob') });
    const carol = sdk.client({ token: await connToken('carol') });
    const aliceCtx = await alice.connect();
    await bob.connect();
    await carol.connect();
    const sa = await alice.subscribe('talk:room');
    const sb = await bob.subscribe('talk:room');

    const res = await sa.sub.publish({ text: 'hi bob' });
    assert.deepEqual(res, {});
    const pub = await sb.events.next('publication');
    assert.deepEqual(pub.data, { text: 'hi bob' });
    assert.equal(pub.info?.user, 'alice');
    assert.equal(pub.info?.client, aliceCtx.client);
    assert.deepEqual(pub.info?.connInfo, { name: 'Alice' });
    assert.equal(pub.offset, 1);
    // The publisher is a subscriber too and gets its own publication.
    const own = await sa.events.next('publication');
    assert.equal(own.info?.client, aliceCtx.client);

    // carol is not subscribed: allow_publish_for_subscriber does not apply.
    await rejectsWithCode(carol.c.publish('talk:room', { text: 'intruder' }), 103, 'non-subscriber publish');
  });
});

test('client rpc without an RPC proxy is rejected with 108', async () => {
  await withServer(CONFIG, async (_srv, sdk) => {
    const a = sdk.client({ token: await connToken('alice') });
    await a.connect();
    await rejectsWithCode(a.c.rpc('hello', { x: 1 }), 108, 'rpc');
    assert.equal(a.c.state, 'connected');
  });
});

test('sub.history with limit, reverse and since', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    let epoch = '';
    for (let i = 1; i <= 5; i++) epoch = (await apiOk(srv, 'publish', { channel: 'chat:h', data: { i } })).epoch;
    const a = sdk.client({ token: await connToken('alice') });
    await a.connect();
    const { sub } = await a.subscribe('chat:h');

    const first = await sub.history({ limit: 2 });
    assert.deepEqual(
      first.publications.map((p: any) => [p.offset, p.data]),
      [
        [1, { i: 1 }],
        [2, { i: 2 }],
      ],
    );
    assert.equal(first.offset, 5);
    assert.equal(first.epoch, epoch);

    const last = await sub.history({ limit: 2, reverse: true });
    assert.deepEqual(
      last.publications.map((p: any) => [p.offset, p.data]),
      [
        [5, { i: 5 }],
        [4, { i: 4 }],
      ],
    );

    const top = await sub.history({});
    assert.deepEqual(top.publications, []);
    assert.equal(top.offset, 5);
    assert.equal(top.epoch, epoch);

    const since = await sub.history({ limit: 10, since: { offset: 3, epoch } });
    assert.deepEqual(
      since.publications.map((p: any) => p.offset),
      [4, 5],
    );

    const all = await sub.history({ limit: -1 });
    assert.equal(all.publications.length, 5);

    // A since position from a foreign epoch: 112 unrecoverable position.
    await rejectsWithCode(sub.history({ limit: 10, since: { offset: 1, epoch: 'xxxxxxxx' } }), 112, 'history since foreign epoch');
  });
});

test('sub.presence and sub.presenceStats list the subscribers', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const a1 = sdk.client({ token: await connToken('alice', { info: { name: 'Alice' } }) });
    const a2 = sdk.client({ token: await connToken('alice', { info: { name: 'Alice' } }) });
    const b = sdk.client({ token: await connToken('bob') });
    const ids = [(await a1.connect()).client, (await a2.connect()).client, (await b.connect()).client];
    const { sub } = await a1.subscribe('chat:p');
    await a2.subscribe('chat:p');
    await b.subscribe('chat:p');

    const p = await sub.presence();
    assert.deepEqual(Object.keys(p.clients).sort(), [...ids].sort());
    assert.equal(p.clients[ids[0]!]!.user, 'alice');
    assert.equal(p.clients[ids[0]!]!.client, ids[0]);
    assert.deepEqual(p.clients[ids[0]!]!.connInfo, { name: 'Alice' });
    assert.equal(p.clients[ids[2]!]!.user, 'bob');

    assert.deepEqual(await sub.presenceStats(), { numClients: 3, numUsers: 2 });

    // Leaving removes the presence entry.
    b.c.disconnect();
    await eventually(async () => (await apiOk(srv, 'presence_stats', { channel: 'chat:p' })).num_clients === 2, 'bob leaving presence');
    assert.deepEqual(await sub.presenceStats(), { numClients: 2, numUsers: 1 });
    assert.deepEqual(Object.keys((await sub.presence()).clients).sort(), [ids[0], ids[1]].sort());
  });
});

test('recovery: missed publications are delivered in order after a server-requested reconnect', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    // getData gates every connect attempt after the first one, so the publications below
    // are made while the client is away for certain.
    const gate = deferred();
    let dataCalls = 0;
    const a = sdk.client({
      token: await connToken('alice'),
      getData: async () => {
        dataCalls++;
        if (dataCalls > 1) await gate.promise;
        return null;
      },
    });
    const first = await a.connect();
    const { events, subscribed } = await a.subscribe('chat:rec');
    assert.equal(subscribed.recoverable, true);
    await apiOk(srv, 'publish', { channel: 'chat:rec', data: { n: 0 } });
    assert.equal((await events.next('publication')).offset, 1);

    await apiOk(srv, 'disconnect', { user: 'alice', disconnect: { code: 4000, reason: 'custom reconnect' } });
    const connecting = await a.events.next('connecting', (c) => c.code !== 0 /* not the initial connect() */);
    assert.equal(connecting.code, 4000);
    assert.equal(connecting.reason, 'custom reconnect');
    await events.next('subscribing');

    for (let n = 1; n <= 3; n++) await apiOk(srv, 'publish', { channel: 'chat:rec', data: { n } });
    gate.resolve();

    const again = await a.events.next('connected');
    assert.notEqual(again.client, first.client);
    const re = await events.next('subscribed');
    assert.equal(re.wasRecovering, true);
    assert.equal(re.recovered, true);
    assert.equal(re.hasRecoveredPublications, true);
    const got = [await events.next('publication'), await events.next('publication'), await events.next('publication')];
    assert.deepEqual(
      got.map((p) => [p.offset, p.data]),
      [
        [2, { n: 1 }],
        [3, { n: 2 }],
        [4, { n: 3 }],
      ],
    );
    // Live publications continue after the recovered ones.
    await apiOk(srv, 'publish', { channel: 'chat:rec', data: { n: 4 } });
    const live = await events.next('publication');
    assert.equal(live.offset, 5);
    assert.equal(a.events.count('disconnected'), 0, 'a 4000 disconnect reconnects');
  });
});

test('recovery from a foreign epoch: subscribed with recovered false', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const pubRes = await apiOk(srv, 'publish', { channel: 'chat:epoch', data: { n: 1 } });
    const a = sdk.client({ token: await connToken('alice') });
    await a.connect();
    const { subscribed, events } = await a.subscribe('chat:epoch', { since: { offset: 5, epoch: 'xxxxxxxx' } });
    assert.equal(subscribed.wasRecovering, true);
    assert.equal(subscribed.recovered, false);
    assert.equal(subscribed.hasRecoveredPublications, false);
    assert.deepEqual(subscribed.streamPosition, { offset: 1, epoch: pubRes.epoch });
    assert.equal(events.count('publication'), 0);
  });
});

test('recovery from the current position: recovered true with the missed publications', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const r1 = await apiOk(srv, 'publish', { channel: 'chat:since', data: { n: 1 } });
    await apiOk(srv, 'publish', { channel: 'chat:since', data: { n: 2 } });
    await apiOk(srv, 'publish', { channel: 'chat:since', data: { n: 3 } });
    const a = sdk.client({ token: await connToken('alice') });
    await a.connect();
    const { subscribed, events } = await a.subscribe('chat:since', { since: { offset: 1, epoch: r1.epoch } });
    assert.equal(subscribed.recovered, true);
    const got = [await events.next('publication'), await events.next('publication')];
    assert.deepEqual(
      got.map((p) => [p.offset, p.data]),
      [
        [2, { n: 2 }],
        [3, { n: 3 }],
      ],
    );
  });
});

test('recovery of server-side subscriptions: missed publications arrive as client-level events after reconnect', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const gate = deferred();
    let dataCalls = 0;
    const a = sdk.client({
      token: await connToken('alice', { channels: ['chat:ssrec'] }),
      getData: async () => {
        dataCalls++;
        if (dataCalls > 1) await gate.promise;
        return null;
      },
    });
    await a.connect();
    const s = await a.events.next('subscribed');
    assert.equal(s.channel, 'chat:ssrec');
    assert.equal(s.recoverable, true);
    await apiOk(srv, 'publish', { channel: 'chat:ssrec', data: { n: 0 } });
    assert.equal((await a.events.next('publication')).offset, 1);

    await apiOk(srv, 'disconnect', { user: 'alice', disconnect: { code: 4001, reason: 'reconnect please' } });
    assert.equal((await a.events.next('connecting', (c) => c.code !== 0)).code, 4001);
    await apiOk(srv, 'publish', { channel: 'chat:ssrec', data: { n: 1 } });
    await apiOk(srv, 'publish', { channel: 'chat:ssrec', data: { n: 2 } });
    gate.resolve();

    const re = await a.events.next('subscribed');
    assert.equal(re.channel, 'chat:ssrec');
    assert.equal(re.wasRecovering, true);
    assert.equal(re.recovered, true);
    const got = [await a.events.next('publication'), await a.events.next('publication')];
    assert.deepEqual(
      got.map((p) => [p.channel, p.offset, p.data]),
      [
        ['chat:ssrec', 2, { n: 1 }],
        ['chat:ssrec', 3, { n: 2 }],
      ],
    );
  });
});

const EXTRA = {
  client: { channel_limit: 3 },
  channel: {
    namespaces: [
      // join/leave on request, presence permission for any client.
      { name: 'room', allow_subscribe_for_client: true, presence: true, join_leave: true, allow_presence_for_client: true },
      // The same, but presence/history permission only for subscribers.
      {
        name: 'subperm',
        allow_subscribe_for_client: true,
        presence: true,
        join_leave: true,
        allow_presence_for_subscriber: true,
        history_size: 10,
        history_ttl: '300s',
        allow_history_for_subscriber: true,
      },
      { name: 'loud', allow_subscribe_for_client: true, presence: true, join_leave: true, force_push_join_leave: true },
      {
        name: 'delta',
        allow_subscribe_for_client: true,
        history_size: 10,
        history_ttl: '300s',
        force_positioning: true,
        allowed_delta_types: ['fossil'],
      },
      { name: 'tags', allow_subscribe_for_client: true, allow_tags_filter: true },
      { name: 'open', allow_subscribe_for_client: true, allow_publish_for_client: true, allow_positioning: true, history_size: 5, history_ttl: '60s' },
    ],
  },
};

test('join/leave: a subscriber asking for join_leave sees others join and leave', async () => {
  await withServer(EXTRA, async (_srv, sdk) => {
    const a = sdk.client({ token: await connToken('alice') });
    const b = sdk.client({ token: await connToken('bob', { info: { name: 'Bob' } }) });
    const aliceId = (await a.connect()).client;
    const bobId = (await b.connect()).client;
    const sa = await a.subscribe('room:1', { joinLeave: true });
    // The joining client gets its own join (push flag set).
    const own = await sa.events.next('join');
    assert.equal(own.info.client, aliceId);
    const sb = await b.subscribe('room:1');
    const j = await sa.events.next('join');
    assert.equal(j.channel, 'room:1');
    assert.equal(j.info.user, 'bob');
    assert.equal(j.info.client, bobId);
    assert.deepEqual(j.info.connInfo, { name: 'Bob' });
    sb.sub.unsubscribe();
    const l = await sa.events.next('leave');
    assert.equal(l.info.client, bobId);
    // bob did not ask for join/leave: nothing pushed to him.
    assert.equal(sb.events.count('join'), 0);
  });
});

test(
  'subscriber-only permissions count for the subscribing client: join_leave, positioned and recoverable requests are honoured',
  async () => {
    await withServer(EXTRA, async (_srv, sdk) => {
      const a = sdk.client({ token: await connToken('alice') });
      const b = sdk.client({ token: await connToken('bob') });
      await a.connect();
      const bobId = (await b.connect()).client;
      // Centrifugo checks these permissions with forceSubscribed=true (internal/client/handler.go OnSubscribe).
      const sa = await a.subscribe('subperm:1', { joinLeave: true, positioned: true, recoverable: true });
      assert.equal(sa.subscribed.positioned, true, 'positioned via allow_history_for_subscriber');
      assert.equal(sa.subscribed.recoverable, true, 'recoverable via allow_history_for_subscriber');
      await b.subscribe('subperm:1');
      const j = await sa.events.next('join', (x) => x.info.client === bobId);
      assert.equal(j.info.user, 'bob');
    });
  },
);

test('force_push_join_leave: join/leave pushed without the client asking', async () => {
  await withServer(EXTRA, async (_srv, sdk) => {
    const a = sdk.client({ token: await connToken('alice') });
    const b = sdk.client({ token: await connToken('bob') });
    await a.connect();
    const bobId = (await b.connect()).client;
    const sa = await a.subscribe('loud:1');
    await b.subscribe('loud:1');
    const j = await sa.events.next('join', (x) => x.info.client === bobId);
    assert.equal(j.info.user, 'bob');
    b.c.disconnect();
    const l = await sa.events.next('leave', (x) => x.info.client === bobId);
    assert.equal(l.info.user, 'bob');
  });
});

test('fossil delta: the SDK reconstructs every publication from deltas', async () => {
  await withServer(EXTRA, async (srv, sdk) => {
    const a = sdk.client({ token: await connToken('alice') });
    await a.connect();
    const { sub, events, subscribed } = await a.subscribe('delta:1', { delta: 'fossil' });
    assert.equal(subscribed.positioned, true);
    const base = { text: 'x'.repeat(400), items: Array.from({ length: 20 }, (_, i) => ({ i, name: `item-${i}` })) };
    const sent: unknown[] = [];
    for (let v = 0; v < 4; v++) {
      const data = { ...base, version: v };
      sent.push(data);
      await apiOk(srv, 'publish', { channel: 'delta:1', data, delta: true });
    }
    const got = [];
    for (let i = 0; i < sent.length; i++) got.push((await events.next('publication')).data);
    assert.deepEqual(got, sent);
    const st = sub.deltaStats();
    assert.equal(st.numPublications, 4);
    assert.equal(st.numFullPayloads, 1, 'the first publication after subscribe is full');
    assert.equal(st.numDeltaPayloads, 3, 'the following ones are deltas');
  });
});

test(
  'tags filter: only publications with matching tags are delivered',
  async () => {
    await withServer(EXTRA, async (srv, sdk) => {
      const a = sdk.client({ token: await connToken('alice') });
      await a.connect();
      const { events } = await a.subscribe('tags:1', { tagsFilter: { key: 'ticker', cmp: 'in', vals: ['BTC', 'ETH'] } });
      await apiOk(srv, 'publish', { channel: 'tags:1', data: { n: 1 }, tags: { ticker: 'DOGE' } });
      await apiOk(srv, 'publish', { channel: 'tags:1', data: { n: 2 }, tags: { ticker: 'ETH' } });
      await apiOk(srv, 'publish', { channel: 'tags:1', data: { n: 3 } });
      await apiOk(srv, 'publish', { channel: 'tags:1', data: { n: 4 }, tags: { ticker: 'BTC' } });
      const p1 = await events.next('publication');
      const p2 = await events.next('publication');
      assert.deepEqual([p1.data, p2.data], [{ n: 2 }, { n: 4 }]);
      assert.deepEqual(p1.tags, { ticker: 'ETH' });
      assert.equal(events.count('publication'), 2);
      // Without allow_tags_filter the filter is a bad request (107).
      const s = a.newSub('room:nofilter', { tagsFilter: { key: 'a', cmp: 'eq', val: 'b' } });
      s.sub.subscribe();
      assert.equal((await s.events.next('unsubscribed')).code, 107);
    });
  },
);

test('client.channel_limit: subscribing beyond it is rejected with 106', async () => {
  await withServer(EXTRA, async (_srv, sdk) => {
    const a = sdk.client({ token: await connToken('alice') });
    await a.connect();
    for (let i = 1; i <= 3; i++) await a.subscribe(`open:${i}`);
    const s = a.newSub('open:4');
    s.sub.subscribe();
    assert.equal((await s.events.next('unsubscribed')).code, 106);
    assert.equal(a.c.state, 'connected');
  });
});

test('allow_publish_for_client and allow_positioning: client-level publish; positioned subscription on request', async () => {
  await withServer(EXTRA, async (_srv, sdk) => {
    const a = sdk.client({ token: await connToken('alice') });
    const b = sdk.client({ token: await connToken('bob') });
    await a.connect();
    const bobId = (await b.connect()).client;
    const { subscribed, events } = await a.subscribe('open:pos', { positioned: true });
    assert.equal(subscribed.positioned, true);
    assert.equal(subscribed.recoverable, false);
    // bob is not subscribed; allow_publish_for_client lets him publish anyway.
    assert.deepEqual(await b.c.publish('open:pos', { from: 'bob' }), {});
    const pub = await events.next('publication');
    assert.deepEqual(pub.data, { from: 'bob' });
    assert.equal(pub.info?.client, bobId);
    assert.equal(pub.offset, 1);
  });
});

test('client unsubscribe removes the presence entry; subscribing again works', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const a = sdk.client({ token: await connToken('alice') });
    const b = sdk.client({ token: await connToken('bob') });
    await a.connect();
    await b.connect();
    const sa = await a.subscribe('chat:un');
    const sb = await b.subscribe('chat:un');
    assert.deepEqual(await sa.sub.presenceStats(), { numClients: 2, numUsers: 2 });
    sb.sub.unsubscribe();
    assert.equal((await sb.events.next('unsubscribed')).code, 0);
    await eventually(async () => (await apiOk(srv, 'presence_stats', { channel: 'chat:un' })).num_clients === 1, 'bob leaving');
    assert.deepEqual(await sa.sub.presenceStats(), { numClients: 1, numUsers: 1 });
    sb.sub.subscribe();
    await sb.events.next('subscribed');
    await apiOk(srv, 'publish', { channel: 'chat:un', data: { back: true } });
    assert.deepEqual((await sb.events.next('publication')).data, { back: true });
  });
});
