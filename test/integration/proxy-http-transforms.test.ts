/**
 * `http.status_to_code_transforms` on the connect, subscribe and publish proxies, with the official
 * SDK (JSON and Protobuf) and a real `node:http` backend: a status turned into a permanent error
 * ends the attempt with that code; one turned into a `temporary: true` error reaches the SDK as
 * temporary, and the SDK tries again (connect and subscribe) until the backend says yes; one turned
 * into a disconnect closes the connection with that code. A transformed status is the backend's
 * decision, not a failure: nothing is logged.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { HttpProxyBackend, type ProxyCall } from '../helpers/http-proxy-backend.js';
import { rejectsWithCode, withServer, within, type Codec } from '../helpers/sdk.js';
import type { ConfigInput } from '../../src/config/schema.js';

let backend: HttpProxyBackend;
before(async () => {
  backend = await HttpProxyBackend.start();
});
after(() => backend.stop());

const transforms = [
  { status_code: 403, to_error: { code: 1403, message: 'forbidden by backend' } },
  { status_code: 503, to_error: { code: 1503, message: 'busy, try again', temporary: true } },
  { status_code: 410, to_disconnect: { code: 4510, reason: 'gone for good' } },
];

function config(): ConfigInput {
  const http = { status_to_code_transforms: transforms };
  return {
    client: { proxy: { connect: { enabled: true, endpoint: backend.url('/connect'), http } } },
    channel: {
      proxy: { subscribe: { endpoint: backend.url('/subscribe'), http }, publish: { endpoint: backend.url('/publish'), http } },
      namespaces: [{ name: 'px', subscribe_proxy_enabled: true, publish_proxy_enabled: true }],
    },
  } as ConfigInput;
}

/**
 * Answers by a key (the connect's `name`, the channel): `deny` 403, `gone` 410, `busy` 503 for the
 * first call with that key and 200 afterwards, anything else 200 with `ok`.
 */
function byKey(ok: unknown): (key: string, res: ServerResponse) => unknown {
  const seen = new Set<string>();
  return (key, res) => {
    const kind = key.split(':').pop() ?? '';
    const first = !seen.has(key);
    seen.add(key);
    if (kind === 'deny') return void res.writeHead(403).end();
    if (kind === 'gone') return void res.writeHead(410).end();
    if (kind === 'busy' && first) return void res.writeHead(503).end();
    return ok;
  };
}

for (const codec of ['json', 'protobuf'] as Codec[]) {
  describe(`status_to_code_transforms (${codec})`, () => {
    it('connect: a temporary transform is a temporary error the SDK retries until the backend lets it in; a permanent one ends the connection', async () => {
      const answer = byKey({ result: { user: 'u1' } });
      backend.on('/connect', (call: ProxyCall, res) => answer(`${codec}:${call.body.name}`, res));
      await withServer(config(), async (_srv, sdk) => {
        const busy = sdk.client({ name: 'busy' });
        const err = busy.events.next('error');
        const connected = busy.events.next('connected');
        busy.c.connect();
        const e = await within(err, 'the temporary connect error');
        assert.deepEqual([e.type, e.error.code, e.error.message, e.error.temporary], ['connect', 1503, 'busy, try again', true]);
        await within(connected, 'connected on the retry');
        assert.equal(backend.callsTo('/connect').filter((c) => c.body.name === 'busy').length, 2, 'refused once, asked again once');

        const denied = sdk.client({ name: 'deny' });
        const ended = denied.events.next('disconnected');
        denied.c.connect();
        assert.deepEqual(await within(ended, 'the permanent connect error'), { code: 1403, reason: 'forbidden by backend' });
      }, codec);
      backend.calls.length = 0;
    });

    it('subscribe: temporary error then a resubscribe, permanent error ends the subscription, disconnect closes the connection', async () => {
      backend.on('/connect', () => ({ result: { user: 'u2' } }));
      const answer = byKey({ result: {} });
      backend.on('/subscribe', (call: ProxyCall, res) => answer(`${codec}-${call.body.channel}`, res));
      await withServer(config(), async (_srv, sdk) => {
        const c = sdk.client();
        await within(c.connect(), 'connected');

        const busy = c.newSub('px:busy', { minResubscribeDelay: 50, maxResubscribeDelay: 300 });
        const err = busy.events.next('error');
        const subscribed = busy.events.next('subscribed');
        busy.sub.subscribe();
        const e = await within(err, 'the temporary subscribe error');
        assert.deepEqual([e.type, e.channel, e.error.code, e.error.message, e.error.temporary], ['subscribe', 'px:busy', 1503, 'busy, try again', true]);
        await within(subscribed, 'subscribed on the resubscribe');

        const denied = c.newSub('px:deny');
        const unsubscribed = denied.events.next('unsubscribed');
        denied.sub.subscribe();
        const u = await within(unsubscribed, 'the permanent subscribe error');
        assert.deepEqual([u.code, u.reason], [1403, 'forbidden by backend']);

        const gone = c.events.next('disconnected');
        c.newSub('px:gone').sub.subscribe();
        assert.deepEqual(await within(gone, 'the subscribe transform to a disconnect'), { code: 4510, reason: 'gone for good' });
      }, codec);
    });

    it('publish: a temporary transform rejects the publish with a temporary error, a permanent one with its code; a disconnect transform closes', async () => {
      backend.on('/connect', () => ({ result: { user: 'u3' } }));
      const answer = byKey({ result: {} });
      backend.on('/publish', (call: ProxyCall, res) => answer(`${codec}-${call.body.channel}`, res));
      await withServer(config(), async (_srv, sdk) => {
        const c = sdk.client();
        await within(c.connect(), 'connected');
        const data = codec === 'json' ? { x: 1 } : new TextEncoder().encode('{"x":1}');

        const busy = await rejectsWithCode(c.c.publish('px:busy', data), 1503, 'the busy publish');
        assert.deepEqual([busy.message, busy.temporary], ['busy, try again', true]);
        await within(c.c.publish('px:busy', data), 'the publish again, allowed');
        const denied = await rejectsWithCode(c.c.publish('px:deny', data), 1403, 'the denied publish');
        assert.deepEqual([denied.message, denied.temporary ?? false], ['forbidden by backend', false]);

        const gone = c.events.next('disconnected');
        void c.c.publish('px:gone', data).catch(() => {});
        assert.deepEqual(await within(gone, 'the publish transform to a disconnect'), { code: 4510, reason: 'gone for good' });
      }, codec);
    });
  });
}
