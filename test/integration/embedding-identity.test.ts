/**
 * What a connection the embedder's `connecting` hook accepts gets, over real sockets with the
 * official SDK: everything a token connection gets (the personal channel, its server-side
 * subscriptions back from the connect `subs` with what it missed), an expiry that the `refreshing`
 * hook extends or that ends the connection with 3005; and a `publishing` hook that replaces the
 * publication's data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRotor, type Rotor, type RotorConfig, type RotorHooks } from '../../src/index.js';
import { SECRET } from '../helpers/server.js';
import type { TestClient } from '../helpers/sdk.js';
import { recordingLog, sdkClient, wsUrl } from '../helpers/embedding.js';
import { waitFor } from '../helpers/wait.js';

const CONFIG: RotorConfig = {
  http_server: { port: 0, address: '127.0.0.1' },
  client: {
    token: { hmac_secret_key: SECRET },
    subscribe_to_user_personal_channel: { enabled: true, personal_channel_namespace: 'personal' },
    // An unrefreshed connection closes right at its expiry, so a test waits no longer than that.
    expired_close_delay: '0s',
  },
  http_api: { disabled: true },
  channel: {
    namespaces: [
      { name: 'personal' },
      { name: 'feed', allow_subscribe_for_client: true, force_recovery: true, history_size: 10, history_ttl: '60s' },
      { name: 'chat', allow_subscribe_for_client: true, allow_publish_for_client: true, history_size: 10, history_ttl: '60s' },
    ],
  },
};

/** Long enough for an expiry a test waits for (a few seconds); the default 5 s is not. */
const EXPIRY_WAIT_MS = 15_000;

const nowSec = (): number => Math.floor(Date.now() / 1000);

/** Accepts a connection whose `cookie` header is `user=<name>` as that user. */
function userFromCookie(headers: Readonly<Record<string, string>>): string | undefined {
  const m = /^user=(\w+)$/.exec(headers.cookie ?? '');
  return m?.[1];
}

async function withRotor(hooks: RotorHooks, fn: (rotor: Rotor, connect: (user: string) => TestClient, log: string[]) => Promise<void>): Promise<void> {
  const log = recordingLog();
  const rotor = await startRotor({ config: CONFIG, log, hooks });
  const clients: TestClient[] = [];
  try {
    await fn(rotor, (user) => {
      const c = sdkClient(wsUrl(rotor.port), '', { cookie: `user=${user}` });
      clients.push(c);
      return c;
    }, log.lines);
  } finally {
    for (const c of clients) c.c.disconnect();
    await rotor.stop(2000);
  }
}

test('a connection the connecting hook accepts gets its personal channel, as a token connection does', async () => {
  const hooks: RotorHooks = {
    async connecting(e) {
      const user = userFromCookie(e.headers);
      return user !== undefined ? { user } : undefined;
    },
  };
  await withRotor(hooks, async (rotor, connect) => {
    const bob = connect('bob');
    await bob.connect();
    assert.equal((await bob.events.next('subscribed')).channel, 'personal:#bob');
    await rotor.publish('personal:#bob', { dm: 1 });
    const pub = await bob.events.next('publication');
    assert.deepEqual([pub.channel, pub.data], ['personal:#bob', { dm: 1 }]);
  });
});

test('a hook-accepted connection gets its server-side subscriptions back from connect subs, with what it missed', async () => {
  const hooks: RotorHooks = {
    async connecting(e) {
      const user = userFromCookie(e.headers);
      return user !== undefined ? { user } : undefined;
    },
  };
  await withRotor(hooks, async (rotor, connect) => {
    const carl = connect('carl');
    await carl.connect();
    // A server-side subscription made through the API: the SDK remembers it and its position.
    await rotor.api('subscribe', { user: 'carl', channel: 'feed:news' });
    assert.equal((await carl.events.next('subscribed', (c) => c.channel === 'feed:news')).recoverable, true);
    await rotor.publish('feed:news', { n: 1 });
    assert.deepEqual((await carl.events.next('publication', (p) => p.channel === 'feed:news')).data, { n: 1 });

    carl.c.disconnect();
    await carl.events.next('disconnected');
    await rotor.publish('feed:news', { n: 2 });
    // The reconnect lists feed:news in `subs`; the hook's answer names no channels, yet the
    // connection is subscribed again, recovering what was published meanwhile.
    await carl.connect();
    const again = await carl.events.next('subscribed', (c) => c.channel === 'feed:news');
    assert.deepEqual([again.wasRecovering, again.recovered], [true, true]);
    assert.deepEqual((await carl.events.next('publication', (p) => p.channel === 'feed:news')).data, { n: 2 });
    assert.equal(carl.events.all('unsubscribed').length, 0, JSON.stringify(carl.events.names()));
  });
});

test('expireAt from the connecting hook: without a refreshing hook the connection closes with 3005; one in milliseconds is refused', async () => {
  const hooks: RotorHooks = {
    async connecting(e) {
      const user = userFromCookie(e.headers);
      if (user === 'millis') return { user, expireAt: Date.now() + 60_000 };
      return user !== undefined ? { user, expireAt: nowSec() + 2 } : undefined;
    },
  };
  await withRotor(hooks, async (_rotor, connect, log) => {
    const dan = connect('dan');
    await dan.connect();
    // The SDK is not asked to refresh (no token to refresh with); the server closes it at expiry.
    const closed = await dan.events.next('connecting', (c) => c.code !== 0, EXPIRY_WAIT_MS);
    assert.deepEqual([closed.code, closed.reason], [3005, 'connection expired']);

    const millis = connect('millis');
    millis.c.connect();
    const failed = await millis.events.next('error');
    assert.equal(failed.error.code, 100);
    assert.ok(log.some((l) => l.includes('connecting hook: expireAt is Unix seconds')), log.join('\n'));
  });
});

test('expireAt from the connecting hook: the refreshing hook extends the connection and replaces its info, or lets it close with 3005', async () => {
  const refreshed = new Map<string, () => void>();
  const asked = (user: string): Promise<void> => waitFor((resolve) => refreshed.set(user, resolve), `the refreshing hook asked about ${user}`, EXPIRY_WAIT_MS);
  const hooks: RotorHooks = {
    async connecting(e) {
      const user = userFromCookie(e.headers);
      return user !== undefined ? { user, info: { v: 1 }, expireAt: nowSec() + 2 } : undefined;
    },
    async refreshing(e) {
      refreshed.get(e.client.user)?.();
      if (e.client.user === 'erin') return { expireAt: nowSec() + 3600, info: { v: 2 } };
      return undefined;
    },
    async rpc(e) {
      return { data: { info: JSON.parse(new TextDecoder().decode(e.client.info)) as unknown } };
    },
  };
  await withRotor(hooks, async (_rotor, connect) => {
    const bothAsked = Promise.all([asked('erin'), asked('fay')]);
    const erin = connect('erin');
    const fay = connect('fay');
    await Promise.all([erin.connect(), fay.connect()]);

    await bothAsked;
    // Answered after the refresh was applied: the connection is open, with the refreshed info
    // (it connected with { v: 1 }).
    assert.deepEqual((await erin.c.rpc('info', {})).data, { info: { v: 2 } });
    assert.deepEqual(erin.events.all('connecting').map((c) => c.code), [0], 'erin was connected once and never closed');

    const closed = await fay.events.next('connecting', (c) => c.code !== 0, EXPIRY_WAIT_MS);
    assert.deepEqual([closed.code, closed.reason], [3005, 'connection expired']);
  });
});

test('the publishing hook replaces the data: subscribers and history get the replacement', async () => {
  const hooks: RotorHooks = {
    async connecting(e) {
      const user = userFromCookie(e.headers);
      return user !== undefined ? { user } : undefined;
    },
    async publishing(e) {
      const sent = JSON.parse(new TextDecoder().decode(e.data)) as { text: string };
      if (e.channel === 'chat:bytes') return { data: new TextEncoder().encode(`{"bytes":"${sent.text}"}`) };
      if (e.channel === 'chat:upper') return { data: { text: sent.text.toUpperCase(), by: e.client.user }, tags: { rewritten: '1' } };
      return undefined;
    },
  };
  await withRotor(hooks, async (rotor, connect) => {
    const gus = connect('gus');
    await gus.connect();
    const upper = await gus.subscribe('chat:upper');
    await upper.sub.publish({ text: 'hello' });
    const pub = await upper.events.next('publication');
    assert.deepEqual([pub.data, pub.tags], [{ text: 'HELLO', by: 'gus' }, { rewritten: '1' }]);

    const bytes = await gus.subscribe('chat:bytes');
    await bytes.sub.publish({ text: 'raw' });
    assert.deepEqual((await bytes.events.next('publication')).data, { bytes: 'raw' });

    // No replacement: the client's own data.
    const plain = await gus.subscribe('chat:plain');
    await plain.sub.publish({ text: 'as is' });
    assert.deepEqual((await plain.events.next('publication')).data, { text: 'as is' });

    const history = (await rotor.api('history', { channel: 'chat:upper', limit: -1 })) as { publications: { data: unknown }[] };
    assert.deepEqual(history.publications.map((p) => p.data), [{ text: 'HELLO', by: 'gus' }]);
  });
});
