/**
 * Server-side refresh (NodeHooks.refreshExpired, NodeHooks.subRefreshExpired): connections and
 * subscriptions that do not refresh themselves (`clientSideRefresh: false`, what a connect or
 * subscribe proxy answers) are refreshed by the server when they expire, the client never asked,
 * as Centrifugo does with a refresh proxy. The hooks here are a test's implementation wrapped
 * around the server's own policy; the clients are the official SDK over WebSocket.
 *
 * Expiry needs real time to pass (second precision). Nothing sleeps: a control connection (or
 * subscription) whose expiry falls later than the refreshed one's would-be close is ended by its
 * hook's answer, and the refreshed one is checked after that event.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type {
  ChannelEvent, ConnectEvent, ConnectReply, ExpiredEvent, ExpiredRefreshReply, HistoryReply, NodeHooks, PublishEvent, PublishReply,
  RefreshEvent, RefreshReply, SubExpiredRefreshReply, SubRefreshEvent, SubRefreshReply, SubscribeEvent, SubscribeReply,
} from '../../src/node/events.js';
import { DisconnectError } from '../../src/protocol/errors.js';
import { DelegatingHooks } from '../../src/node/delegating-hooks.js';
import { connToken } from '../helpers/server.js';
import { apiOk, deferred, eventually, withServer, within } from '../helpers/sdk.js';

/** Long enough for an expiry a few seconds out to fall and be acted on. */
const EXPIRY_WAIT_MS = 12_000;

const CONFIG = {
  client: { expired_close_delay: '1s', expired_sub_close_delay: '1s', presence_update_interval: '250ms' },
  channel: { namespaces: [{ name: 'chat', allow_subscribe_for_client: true, presence: true }] },
};

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const nowSec = () => Math.floor(Date.now() / 1000);

/**
 * The server's policy, with expiries and server-side refresh added: `connExpiry[user]` and
 * `subExpiry[channel]` (Unix seconds) make those connections and subscriptions expire without
 * client-side refresh; the refresh hooks answer from `onRefresh` and `onSubRefresh`.
 */
class ServerRefreshHooks extends DelegatingHooks {
  readonly refreshCalls: { user: string; client: string }[] = [];
  readonly subRefreshCalls: { user: string; channel: string }[] = [];

  constructor(
    base: NodeHooks,
    private readonly connExpiry: Record<string, number>,
    private readonly subExpiry: Record<string, number>,
    private readonly onRefresh: (user: string) => Promise<ExpiredRefreshReply>,
    private readonly onSubRefresh: (channel: string) => Promise<SubExpiredRefreshReply>,
  ) {
    super(base);
  }

  override connecting(e: ConnectEvent): ConnectReply | Promise<ConnectReply> {
    const withExpiry = (r: ConnectReply): ConnectReply => {
      const at = this.connExpiry[r.user];
      return at === undefined ? r : { ...r, expireAt: at, clientSideRefresh: false };
    };
    const r = this.base.connecting(e);
    return r instanceof Promise ? r.then(withExpiry) : withExpiry(r);
  }
  override async subscribing(e: SubscribeEvent): Promise<SubscribeReply> {
    const r = await this.base.subscribing(e);
    const at = this.subExpiry[e.channel];
    return at === undefined ? r : { options: { ...r.options, expireAt: at }, clientSideRefresh: false };
  }
  async refreshExpired(e: ExpiredEvent): Promise<ExpiredRefreshReply> {
    this.refreshCalls.push({ user: e.client.user, client: e.client.clientId });
    return this.onRefresh(e.client.user);
  }
  async subRefreshExpired(e: ChannelEvent): Promise<SubExpiredRefreshReply> {
    this.subRefreshCalls.push({ user: e.client.user, channel: e.channel });
    return this.onSubRefresh(e.channel);
  }
}

/** A getToken that fails the test: a server-side refreshed client is never asked to refresh. */
const noClientRefresh = async (): Promise<string> => {
  throw new Error('the SDK was asked to refresh a connection the server refreshes');
};

test('server-side connection refresh: at the expiry the hook extends the connection (new info) or ends it (3005, or its own disconnect); the client is never asked', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const base = nowSec() + 2;
    const aliceRefreshed = deferred();
    let aliceExpiry = 0;
    const hooks = new ServerRefreshHooks(
      srv.app.node.hooks,
      // ctl's expiry falls after alice's would-be close (expiry + 1 s expired_close_delay).
      { alice: base, bob: base, ctl: base + 2 },
      {},
      async (user) => {
        if (user === 'alice') {
          aliceRefreshed.resolve();
          aliceExpiry = nowSec() + 3600;
          return { expireAt: aliceExpiry, info: json({ v: 2 }) };
        }
        if (user === 'bob') throw new DisconnectError({ code: 4501, reason: 'refresh refused' });
        return { expired: true };
      },
      async () => ({ expired: true }),
    );
    srv.app.node.hooks = hooks;

    const alice = sdk.client({ token: await connToken('alice', { info: { v: 1 } }), getToken: noClientRefresh });
    const bob = sdk.client({ token: await connToken('bob'), getToken: noClientRefresh });
    const ctl = sdk.client({ token: await connToken('ctl'), getToken: noClientRefresh });
    const first = await alice.connect();
    await bob.connect();
    await ctl.connect();
    await alice.subscribe('chat:room');

    await within(aliceRefreshed.promise, 'the refresh hook asked for alice', EXPIRY_WAIT_MS);
    const refused = await bob.events.next('disconnected', undefined, EXPIRY_WAIT_MS);
    assert.deepEqual({ code: refused.code, reason: refused.reason }, { code: 4501, reason: 'refresh refused' }, "the hook's DisconnectError");
    const expired = await ctl.events.next('connecting', (c) => c.code !== 0, EXPIRY_WAIT_MS);
    assert.deepEqual({ code: expired.code, reason: expired.reason }, { code: 3005, reason: 'connection expired' });

    // By now alice's original expiry and its close delay have passed.
    assert.equal(alice.c.state, 'connected');
    assert.equal(alice.events.count('connected'), 1, 'never reconnected');
    assert.equal(alice.events.count('disconnected') + alice.events.count('connecting'), 1, 'only the initial connecting');
    assert.deepEqual(alice.events.all('error'), [], 'the SDK never refreshed');
    assert.deepEqual(
      hooks.refreshCalls.filter((c) => c.user === 'alice'),
      [{ user: 'alice', client: first.client }],
      'asked once for alice, about her connection',
    );
    // The new info reaches presence at the next presence update.
    await eventually(async () => {
      const p = await apiOk(srv, 'presence', { channel: 'chat:room' });
      return JSON.stringify(p.presence[first.client]?.conn_info) === JSON.stringify({ v: 2 });
    }, "alice's new connection info in presence");
    assert.equal(srv.app.node.hub.session(first.client)?.expireAt, aliceExpiry, "the hook's new expiry");
  });
});

test('server-side subscription refresh: past the expiry and its delay the hook extends the subscription (new channel info) or ends it (2501)', async () => {
  await withServer(CONFIG, async (srv, sdk) => {
    const base = nowSec() + 2;
    const roomRefreshed = deferred();
    const hooks = new ServerRefreshHooks(
      srv.app.node.hooks,
      {},
      // The control subscription's end comes after the room's would-be end (expiry + 1 s delay).
      { 'chat:room': base, 'chat:ctl': base + 2 },
      async () => ({ expired: true }),
      async (channel) => {
        if (channel !== 'chat:room') return { expired: true };
        roomRefreshed.resolve();
        return { expireAt: nowSec() + 3600, info: json({ c: 2 }) };
      },
    );
    srv.app.node.hooks = hooks;

    const alice = sdk.client({ token: await connToken('alice') });
    const first = await alice.connect();
    // No getToken: the SDK asks for one only to subscribe or refresh with a token.
    const room = await alice.subscribe('chat:room');
    const ctl = await alice.subscribe('chat:ctl');

    await within(roomRefreshed.promise, 'the sub refresh hook asked for chat:room', EXPIRY_WAIT_MS);
    const ended = await ctl.events.next('subscribing', (x) => x.code !== 0, EXPIRY_WAIT_MS);
    assert.deepEqual({ code: ended.code, reason: ended.reason }, { code: 2501, reason: 'subscription expired' });

    assert.equal(room.sub.state, 'subscribed');
    assert.equal(room.events.count('subscribing'), 1, 'only the initial subscribe');
    assert.deepEqual(room.events.all('error'), [], 'the SDK was never asked to refresh');
    assert.equal(alice.events.count('connected'), 1);
    assert.deepEqual(hooks.subRefreshCalls.filter((c) => c.channel === 'chat:room'), [{ user: 'alice', channel: 'chat:room' }], 'asked once');
    await apiOk(srv, 'publish', { channel: 'chat:room', data: { still: 'here' } });
    assert.deepEqual((await room.events.next('publication')).data, { still: 'here' });
    await eventually(async () => {
      const p = await apiOk(srv, 'presence', { channel: 'chat:room' });
      return JSON.stringify(p.presence[first.client]?.chan_info) === JSON.stringify({ c: 2 });
    }, 'the new channel info in presence');
  });
});
