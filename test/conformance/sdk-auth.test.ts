/**
 * Authentication flows with the official `centrifuge` SDK (JSON build): expired tokens at
 * connect (error 109), client-side connection refresh and expiry (§3.6), invalid tokens (3500),
 * subscription tokens for private channels and their refresh (§3.3, §3.7), and server-side
 * subscriptions from token claims and the personal channel (§3.8).
 *
 * Expiry tests need real time to pass (tokens have second precision). They never sleep: the
 * moment the server enforces an expiry is observed on a control connection whose token expires
 * later than the refreshed one, so "the refreshed connection survived" is checked after an event
 * proving the server's deadline has passed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connToken, subToken } from '../helpers/server.js';
import { apiOk, deferred, withServer, within } from '../helpers/sdk.js';

/** Long enough for a token with a 3 s ttl to expire and be enforced after a 1 s delay. */
const EXPIRY_WAIT_MS = 12_000;

const CONFIG = {
  client: { expired_close_delay: '1s', expired_sub_close_delay: '1s', presence_update_interval: '250ms' },
  channel: {
    namespaces: [
      { name: 'chat', allow_subscribe_for_client: true, presence: true, allow_presence_for_subscriber: true },
      // Only subscription tokens (or server-side subscriptions) get in here.
      { name: 'priv', presence: true },
      { name: 'personal', presence: true },
    ],
  },
};

/** A getToken that never resolves: the SDK waits, the server enforces the expiry. */
const neverResolves = () => new Promise<string>(() => {});

test('expired connection token at connect: error 109, the SDK calls getToken and connects', async () => {
  await withServer(CONFIG, async (_srv, sdk) => {
    let calls = 0;
    const a = sdk.client({
      token: await connToken('alice', {}, -60),
      getToken: async () => {
        calls++;
        return connToken('alice', {}, 3600);
      },
    });
    a.c.connect();
    const err = await a.events.next('error');
    assert.equal(err.type, 'connect');
    assert.equal(err.error.code, 109);
    assert.equal(err.error.message, 'token expired');
    const ctx = await a.events.next('connected');
    assert.equal(typeof ctx.client, 'string');
    assert.equal(calls, 1);
    assert.equal(a.events.count('disconnected'), 0);
  });
});

test('connection refresh: the SDK refreshes a short-lived token and the connection outlives the old expiry', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const refreshed = deferred();
    let calls = 0;
    const a = sdk.client({
      token: await connToken('alice', {}, 2),
      getToken: async () => {
        calls++;
        refreshed.resolve();
        return connToken('alice', {}, 3600);
      },
    });
    // Control: expires one second later and never gets a new token.
    const ctl = sdk.client({ token: await connToken('ctl', {}, 3), getToken: neverResolves });
    const first = await a.connect();
    await ctl.connect();
    const { events } = await a.subscribe('chat:r');

    await within(refreshed.promise, 'the SDK asking for a new token', EXPIRY_WAIT_MS);
    const closed = await ctl.events.next('connecting', (c) => c.code !== 0, EXPIRY_WAIT_MS);
    assert.equal(closed.code, 3005, 'control connection closed as expired');

    // By now the server's deadline for alice's original token has passed too.
    assert.equal(calls, 1);
    assert.equal(a.c.state, 'connected');
    assert.equal(a.events.count('connected'), 1);
    assert.equal(a.events.count('connecting'), 1, 'only the initial connect');
    assert.equal(a.events.count('disconnected'), 0);
    assert.deepEqual(
      a.events.all('error').filter((e) => e.type === 'refresh' || e.type === 'refreshToken'),
      [],
    );
    const p = await apiOk(srv, 'presence', { channel: 'chat:r' });
    assert.deepEqual(Object.keys(p.presence), [first.client], 'same connection (client id) still subscribed');
    await apiOk(srv, 'publish', { channel: 'chat:r', data: { after: 'expiry' } });
    assert.deepEqual((await events.next('publication')).data, { after: 'expiry' });
  });
});

test('connection expiry without a new token: server closes with 3005, the reconnect with the stale token gets 109', async () => {
  await withServer(CONFIG, async (_srv, sdk) => {
    let calls = 0;
    const a = sdk.client({
      token: await connToken('alice', {}, 2),
      getToken: async () => {
        calls++;
        // The refresh at ttl hangs (as a backend that does not answer); the token asked for
        // after the 109 on reconnect is given.
        if (calls === 1) return neverResolves();
        return connToken('alice', {}, 3600);
      },
    });
    const first = await a.connect();
    const closed = await a.events.next('connecting', (c) => c.code !== 0, EXPIRY_WAIT_MS);
    assert.equal(closed.code, 3005);
    assert.equal(closed.reason, 'connection expired');
    const err = await a.events.next('error', (e) => e.type === 'connect');
    assert.equal(err.error.code, 109, 'reconnecting with the expired token');
    const again = await a.events.next('connected');
    assert.notEqual(again.client, first.client);
    assert.equal(calls, 2);
    assert.equal(a.events.count('disconnected'), 0);
  });
});

test('connection expiry without getToken: the SDK ends the connection itself at the advertised ttl', async () => {
  await withServer(CONFIG, async (_srv, sdk) => {
    const a = sdk.client({ token: await connToken('alice', {}, 2) });
    await a.connect();
    // The SDK only does this when the connect reply said `expires: true` with a ttl.
    const cfg = await a.events.next('error', () => true, EXPIRY_WAIT_MS);
    assert.equal(cfg.type, 'configuration');
    const d = await a.events.next('disconnected');
    assert.equal(d.code, 1);
    assert.equal(d.reason, 'unauthorized');
  });
});

test('connection token with an invalid signature: disconnected with 3500, no reconnect', async () => {
  await withServer(CONFIG, async (_srv, sdk) => {
    let calls = 0;
    const a = sdk.client({
      token: await connToken('alice', {}, 3600, 'not-the-server-secret'),
      getToken: async () => {
        calls++;
        return connToken('alice', {}, 3600);
      },
    });
    a.c.connect();
    const d = await a.events.next('disconnected');
    assert.equal(d.code, 3500);
    assert.equal(d.reason, 'invalid token');
    assert.equal(a.c.state, 'disconnected');
    assert.equal(a.events.count('connected'), 0);
    assert.equal(calls, 0, 'an invalid token is not a reason to fetch a new one');
  });
});

test('connection token with an unknown namespace in channels: connect fails with 102', async () => {
  await withServer(CONFIG, async (_srv, sdk) => {
    const a = sdk.client({ token: await connToken('alice', { channels: ['nosuchns:x'] }) });
    a.c.connect();
    const d = await a.events.next('disconnected');
    assert.equal(d.code, 102);
    assert.equal(a.events.count('connected'), 0);
  });
});

test('private ($) channel: subscription token from getToken; without a token 103', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const asked: string[] = [];
    const a = sdk.client({ token: await connToken('alice') });
    await a.connect();
    const { events, subscribed } = await a.subscribe('$priv:room', {
      getToken: async (ctx) => {
        asked.push(ctx.channel);
        return subToken('alice', ctx.channel, { data: { welcome: true } });
      },
    });
    assert.deepEqual(asked, ['$priv:room']);
    assert.deepEqual(subscribed.data, { welcome: true }, 'token data is returned in the subscribe result');
    await apiOk(srv, 'publish', { channel: '$priv:room', data: { secret: 1 } });
    assert.deepEqual((await events.next('publication')).data, { secret: 1 });

    // No token: 103 even in a namespace that lets clients subscribe.
    for (const ch of ['$priv:other', '$chat:x']) {
      const s = a.newSub(ch);
      s.sub.subscribe();
      const u = await s.events.next('unsubscribed');
      assert.equal(u.code, 103, ch);
    }
    // A token for another user is not accepted (3500 per spec §3.3): the connection is closed.
    const s = a.newSub('$priv:mallory', { token: await subToken('mallory', '$priv:mallory') });
    s.sub.subscribe();
    const d = await a.events.next('disconnected');
    assert.equal(d.code, 3500);
  });
});

test('a static subscription token grants a channel whose namespace allows nothing', async () => {
  await withServer(CONFIG, async (_srv, sdk) => {
    const a = sdk.client({ token: await connToken('alice') });
    await a.connect();
    const denied = a.newSub('priv:room');
    denied.sub.subscribe();
    assert.equal((await denied.events.next('unsubscribed')).code, 103);
    a.c.removeSubscription(denied.sub);
    const { subscribed } = await a.subscribe('priv:room', { token: await subToken('alice', 'priv:room') });
    assert.equal(subscribed.channel, 'priv:room');
    // Subscription tokens with exp in the past: 109 and no getToken → unauthorized.
    const s = a.newSub('priv:old', { token: await subToken('alice', 'priv:old', {}, -60) });
    s.sub.subscribe();
    const u = await s.events.next('unsubscribed');
    assert.equal(u.code, 1, 'SDK: token expired and no getToken');
    const cfgErr = await s.events.next('error');
    assert.equal(cfgErr.type, 'configuration');
  });
});

test('subscription token refresh: sub_refresh keeps the subscription past the old token expiry', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const calls: string[] = [];
    const a = sdk.client({ token: await connToken('alice') });
    const ctl = sdk.client({ token: await connToken('ctl') });
    const first = await a.connect();
    await ctl.connect();
    const refreshed = deferred();
    const s = await a.subscribe('$priv:sr', {
      getToken: async (ctx) => {
        calls.push(ctx.channel);
        if (calls.length === 1) return subToken('alice', ctx.channel, {}, 2);
        refreshed.resolve();
        return subToken('alice', ctx.channel, {}, 3600);
      },
    });
    // Control subscription: expires one second later, its refresh never gets a token.
    let ctlCalls = 0;
    const c = await ctl.subscribe('$priv:sr', {
      getToken: async (ctx) => {
        ctlCalls++;
        if (ctlCalls === 1) return subToken('ctl', ctx.channel, {}, 3);
        return neverResolves();
      },
    });

    await within(refreshed.promise, 'the SDK asking for a new token', EXPIRY_WAIT_MS);
    const expired = await c.events.next('subscribing', (x) => x.code !== 0, EXPIRY_WAIT_MS);
    assert.equal(expired.code, 2501);
    assert.equal(expired.reason, 'subscription expired');
    assert.equal(ctl.c.state, 'connected', 'a client-side subscription expiry is not a disconnect');

    assert.deepEqual(calls, ['$priv:sr', '$priv:sr']);
    assert.equal(s.sub.state, 'subscribed');
    assert.equal(s.events.count('subscribing'), 1, 'only the initial subscribe');
    assert.equal(s.events.count('unsubscribed'), 0);
    assert.deepEqual(s.events.all('error'), []);
    assert.equal(a.events.count('connected'), 1);
    const p = await apiOk(srv, 'presence', { channel: '$priv:sr' });
    assert.ok(first.client in p.presence, 'still subscribed on the same connection');
    await apiOk(srv, 'publish', { channel: '$priv:sr', data: { still: 'here' } });
    assert.deepEqual((await s.events.next('publication')).data, { still: 'here' });
  });
});

test('server-side subscriptions from the token channels claim: client-level subscribed and publication events', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const a = sdk.client({ token: await connToken('alice', { channels: ['chat:ss1', 'priv:ss2'] }) });
    const ctx = await a.connect();
    const subs = [await a.events.next('subscribed'), await a.events.next('subscribed')];
    assert.deepEqual(subs.map((x) => x.channel).sort(), ['chat:ss1', 'priv:ss2']);
    assert.deepEqual(Object.keys(a.c.subscriptions()), [], 'no client-side Subscription objects');

    await apiOk(srv, 'publish', { channel: 'priv:ss2', data: { to: 'ss2' } });
    const pub = await a.events.next('publication');
    assert.equal(pub.channel, 'priv:ss2');
    assert.deepEqual(pub.data, { to: 'ss2' });
    const p = await apiOk(srv, 'presence', { channel: 'chat:ss1' });
    assert.deepEqual(Object.keys(p.presence), [ctx.client]);

    // Server-side subscriptions are not client-side ones: unsubscribing is not possible, and
    // subscribing again from the client says 105 already subscribed.
    const dup = a.newSub('chat:ss1');
    dup.sub.subscribe();
    const u = await dup.events.next('unsubscribed');
    assert.equal(u.code, 105);
  });
});

test('server-side subscriptions from the token subs claim carry data; channels is then ignored', async () => {
  await withServer(CONFIG, async (_srv, sdk) => {
    const a = sdk.client({
      token: await connToken('alice', { channels: ['chat:ignored'], subs: { 'chat:withdata': { data: { hello: 'sub' } } } }),
    });
    await a.connect();
    const s = await a.events.next('subscribed');
    assert.equal(s.channel, 'chat:withdata');
    assert.deepEqual(s.data, { hello: 'sub' });
    // Server-side subs are all reported with the connect reply, before any later event.
    assert.deepEqual(
      a.events.all('subscribed').map((x) => x.channel),
      ['chat:withdata'],
    );
  });
});

test('personal channel in a namespace: connection is subscribed to personal:#<user>', async () => {
  const cfg = { ...CONFIG, client: { ...CONFIG.client, subscribe_to_user_personal_channel: { enabled: true, personal_channel_namespace: 'personal' } } };
  await withServer(cfg, async (srv, sdk) => {
    const a = sdk.client({ token: await connToken('alice') });
    const ctx = await a.connect();
    const s = await a.events.next('subscribed');
    assert.equal(s.channel, 'personal:#alice');
    await apiOk(srv, 'publish', { channel: 'personal:#alice', data: { dm: 1 } });
    const pub = await a.events.next('publication');
    assert.equal(pub.channel, 'personal:#alice');
    assert.deepEqual(pub.data, { dm: 1 });
    const p = await apiOk(srv, 'presence', { channel: 'personal:#alice' });
    assert.deepEqual(Object.keys(p.presence), [ctx.client]);
  });
});

test('personal channel without a namespace: connection is subscribed to #<user>; anonymous is not', async () => {
  const cfg = {
    ...CONFIG,
    client: { ...CONFIG.client, allow_anonymous_connect_without_token: true, subscribe_to_user_personal_channel: { enabled: true } },
  };
  await withServer(cfg, async (srv, sdk) => {
    const a = sdk.client({ token: await connToken('bob') });
    await a.connect();
    assert.equal((await a.events.next('subscribed')).channel, '#bob');
    await apiOk(srv, 'publish', { channel: '#bob', data: { dm: 2 } });
    assert.deepEqual((await a.events.next('publication')).data, { dm: 2 });

    const anon = sdk.client({});
    await anon.connect();
    assert.equal(anon.events.count('subscribed'), 0, 'anonymous connections have no personal channel');
  });
});

test('subscription token info becomes chan_info in presence and in client publications', async () => {
  const cfg = {
    ...CONFIG,
    channel: {
      namespaces: [{ name: 'team', presence: true, allow_publish_for_subscriber: true, allow_presence_for_subscriber: true }],
    },
  };
  await withServer(cfg, async (srv, sdk) => {
    const a = sdk.client({ token: await connToken('alice', { info: { name: 'Alice' } }) });
    const id = (await a.connect()).client;
    const { sub, events } = await a.subscribe('team:1', { token: await subToken('alice', 'team:1', { info: { role: 'lead' } }) });
    const p = await sub.presence();
    const me = p.clients[id]!;
    assert.deepEqual([me.user, me.client, me.connInfo, me.chanInfo], ['alice', id, { name: 'Alice' }, { role: 'lead' }]);
    const api = await apiOk(srv, 'presence', { channel: 'team:1' });
    assert.deepEqual(api.presence[id], { user: 'alice', client: id, conn_info: { name: 'Alice' }, chan_info: { role: 'lead' } });
    await sub.publish({ hi: 1 });
    const pub = await events.next('publication');
    assert.deepEqual(pub.info, { user: 'alice', client: id, connInfo: { name: 'Alice' }, chanInfo: { role: 'lead' } });
  });
});

test('connection refresh with a token for another user: disconnected with 3500', async () => {
  await withServer(CONFIG, async (_srv, sdk) => {
    const a = sdk.client({
      token: await connToken('alice', {}, 2),
      getToken: async () => connToken('mallory', {}, 3600),
    });
    await a.connect();
    const d = await a.events.next('disconnected', () => true, EXPIRY_WAIT_MS);
    assert.equal(d.code, 3500);
    assert.equal(d.reason, 'invalid token');
  });
});

test(
  'connection refresh with changed channels claim: 3010, then the reconnect applies the new server-side subscriptions',
  async () => {
    // The SDK refreshes at the token's expiry; the grace after it is generous here so a busy
    // machine cannot turn a late refresh into 3005: this test is about the 3010.
    await withServer({ ...CONFIG, client: { ...CONFIG.client, expired_close_delay: '10s' } }, async (_srv, sdk) => {
      let calls = 0;
      const asked = deferred();
      const a = sdk.client({
        token: await connToken('alice', { channels: ['chat:old'] }, 2),
        getToken: async () => {
          calls++;
          asked.resolve();
          return connToken('alice', { channels: ['chat:new'] }, 3600);
        },
      });
      const first = await a.connect();
      assert.equal((await a.events.next('subscribed')).channel, 'chat:old');
      await within(asked.promise, 'the SDK asking for a new token', EXPIRY_WAIT_MS);
      const c = await a.events.next('connecting', (x) => x.code !== 0);
      assert.equal(c.code, 3010);
      const again = await a.events.next('connected');
      assert.notEqual(again.client, first.client);
      assert.equal((await a.events.next('subscribed')).channel, 'chat:new');
      assert.equal((await a.events.next('unsubscribed')).channel, 'chat:old');
      assert.equal(calls, 1);
    });
  },
);

test('client.user_connection_limit: a connection over the limit is refused with 3504', async () => {
  await withServer({ ...CONFIG, client: { ...CONFIG.client, user_connection_limit: 1 } }, async (_srv, sdk) => {
    const a1 = sdk.client({ token: await connToken('alice') });
    await a1.connect();
    const a2 = sdk.client({ token: await connToken('alice') });
    a2.c.connect();
    const d = await a2.events.next('disconnected');
    assert.equal(d.code, 3504);
    const b = sdk.client({ token: await connToken('bob') });
    await b.connect();
    assert.equal(a1.c.state, 'connected');
  });
});

test('personal channel single_connection: a new connection of the user disconnects the older one with 3504', async () => {
  const cfg = {
    ...CONFIG,
    client: { ...CONFIG.client, subscribe_to_user_personal_channel: { enabled: true, personal_channel_namespace: 'personal', single_connection: true } },
  };
  await withServer(cfg, async (_srv, sdk) => {
    const old = sdk.client({ token: await connToken('alice') });
    await old.connect();
    const fresh = sdk.client({ token: await connToken('alice') });
    await fresh.connect();
    const d = await old.events.next('disconnected');
    assert.equal(d.code, 3504);
    assert.equal(fresh.c.state, 'connected');
  });
});

test('personal channel single_connection: a new connection that then fails (channel limit, 3505) leaves the older one open, as Centrifugo acts only once connected', async () => {
  const cfg = {
    ...CONFIG,
    client: { ...CONFIG.client, channel_limit: 1, subscribe_to_user_personal_channel: { enabled: true, personal_channel_namespace: 'personal', single_connection: true } },
  };
  await withServer(cfg, async (srv, sdk) => {
    const old = sdk.client({ token: await connToken('alice') });
    await old.connect();
    // The personal channel and one token channel: two server-side channels over a limit of one.
    const failing = sdk.client({ token: await connToken('alice', { channels: ['chat:x'] }) });
    failing.c.connect();
    assert.equal((await failing.events.next('disconnected')).code, 3505);
    // The older connection still works: a publication to its personal channel reaches it.
    const got = old.events.next('publication');
    await srv.api('publish', { channel: 'personal:#alice', data: { still: 'here' } });
    assert.deepEqual((await got).data, { still: 'here' });
    assert.equal(old.c.state, 'connected');
  });
});

test('anonymous connections: no token and not allowed → 3501; anonymous token disallowed → 3507', async () => {
  await withServer({ ...CONFIG, client: { ...CONFIG.client, disallow_anonymous_connection_tokens: true } }, async (_srv, sdk) => {
    const none = sdk.client({});
    none.c.connect();
    assert.equal((await none.events.next('disconnected')).code, 3501);
    const anon = sdk.client({ token: await connToken('') });
    anon.c.connect();
    assert.equal((await anon.events.next('disconnected')).code, 3507);
  });
});
