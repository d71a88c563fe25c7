/**
 * Proxy backends that fail (spec §3.1 step 2, §3.9; issue #18 item 6): down, slow past `timeout`,
 * non-200 (with and without `status_to_code_transforms`), garbage JSON, a JSON answer of the
 * wrong shape, an answer over PROXY_MAX_ANSWER_BYTES, and `http.tls`. Each gives its documented
 * code (connect: temporary error 100, which the SDK retries; subscribe, publish, RPC: error 100
 * unless transformed), is logged naming the proxy, and never crashes the server or blocks
 * another client.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HttpProxyBackend, awaitProxyError, deadEndpoint, takeProxyErrorLines, takeProxyErrors, type HeldCall } from '../helpers/http-proxy-backend.js';
import { RATE_LOG_EVERY_MS } from '../../src/util/rate-log.js';
import { rejectsWithCode, withServer, within, type Codec } from '../helpers/sdk.js';
import { connToken } from '../helpers/server.js';
import { withKit } from '../helpers/transport-kit.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { PROXY_MAX_ANSWER_BYTES } from '../../src/proxy/http-caller.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));

let backend: HttpProxyBackend;
before(async () => {
  backend = await HttpProxyBackend.start();
});
after(() => backend.stop());

const transforms = [
  { status_code: 403, to_error: { code: 1403, message: 'forbidden by backend' } },
  { status_code: 410, to_disconnect: { code: 4510, reason: 'gone for good' } },
];

/** A well-formed answer one object too large. */
const HUGE = JSON.stringify({ result: { data: { pad: 'x'.repeat(PROXY_MAX_ANSWER_BYTES) } } });

/** Answers an RPC by its method: the failure modes. */
function failingRpc(method: string, res: Parameters<Parameters<HttpProxyBackend['on']>[1]>[1]): unknown {
  switch (method) {
    case 'e500':
      res.writeHead(500).end('internal');
      return undefined;
    case 'e403':
      res.writeHead(403).end();
      return undefined;
    case 'e410':
      res.writeHead(410).end();
      return undefined;
    case 'garbage':
      return '{"result": {"data": ';
    case 'not-object':
      return '[1, 2, 3]';
    case 'result-array':
      return { result: [] };
    case 'error-code-string':
      return { error: { code: 'x', message: 'm' } };
    case 'disconnect-code-negative':
      return { disconnect: { code: -1, reason: 'r' } };
    case 'b64-bad':
      return { result: { b64data: 'not base64!' } };
    case 'huge':
      return HUGE;
    default:
      return { result: { data: { ok: method } } };
  }
}

describe('HTTP proxy failures', () => {
  it('connect backend down: temporary error 100, the SDK retries; a token connect still works; each failure logged naming the proxy, the repeats at debug', async () => {
    const down = await deadEndpoint('/connect');
    await withServer({ client: { proxy: { connect: { enabled: true, endpoint: down } } } } as ConfigInput, async (srv, sdk) => {
      const c = sdk.client();
      const t0 = performance.now();
      c.c.connect();
      const first = await c.events.next('error');
      const second = await c.events.next('error');
      for (const e of [first, second]) assert.deepEqual({ type: e.type, code: e.error.code, temporary: e.error.temporary }, { type: 'connect', code: 100, temporary: true });
      assert.equal(c.c.state, 'connecting', 'still trying');
      await within(sdk.client({ token: await connToken('tok') }).connect(), 'a token connect');
      c.c.disconnect();
      const elapsed = performance.now() - t0;
      const written = takeProxyErrorLines(srv);
      const lines = [...written, ...takeProxyErrors(srv)];
      assert.ok(lines.length >= 2, `a log line per attempt, got ${lines.length}`);
      // One line at error per RATE_LOG_EVERY_MS, the rest at debug: a dead backend and clients
      // that retry must not flood the log.
      assert.ok(written.length >= 1 && written.length <= Math.floor(elapsed / RATE_LOG_EVERY_MS) + 1, `${written.length} of ${lines.length} at error in ${Math.round(elapsed)} ms`);
      for (const l of lines) {
        assert.deepEqual([l.ctx.proxy, l.ctx.method], ['client.proxy.connect', 'connect']);
        assert.match(l.message, /^connect proxy client\.proxy\.connect failed: request failed: .*ECONNREFUSED/);
      }
    });
  });

  it('connect backend down over http_stream: the SDK gets temporary error 100 and retries on the same transport', async () => {
    const down = await deadEndpoint('/connect');
    await withKit({ http_stream: { enabled: true }, client: { proxy: { connect: { enabled: true, endpoint: down } } } } as ConfigInput, async (srv, kit) => {
      const c = kit.sdk('http_stream');
      c.c.connect();
      for (let i = 0; i < 2; i++) {
        const e = await c.events.next('error');
        assert.deepEqual({ type: e.type, code: e.error.code, temporary: e.error.temporary }, { type: 'connect', code: 100, temporary: true });
      }
      c.c.disconnect();
      const lines = takeProxyErrors(srv);
      assert.ok(lines.length >= 2 && lines.every((l) => l.ctx.proxy === 'client.proxy.connect'), JSON.stringify(lines));
    });
  });

  for (const codec of ['json', 'protobuf'] as Codec[]) {
    it(`subscribe, publish and RPC backends down: error 100 (${codec})`, async () => {
      const cfg = {
        channel: {
          proxy: { subscribe: { endpoint: await deadEndpoint('/subscribe') }, publish: { endpoint: await deadEndpoint('/publish') } },
          namespaces: [{ name: 'px', subscribe_proxy_enabled: true, publish_proxy_enabled: true }],
        },
        rpc: { proxy: { endpoint: await deadEndpoint('/rpc') }, without_namespace: { proxy_enabled: true } },
      } as ConfigInput;
      await withServer(cfg, async (srv, sdk) => {
        const c = sdk.client({ token: await connToken('dan') });
        const { client } = await c.connect();
        const data = codec === 'json' ? {} : new Uint8Array([1]);
        await rejectsWithCode(c.c.publish('px:room', data), 100, 'publish');
        await rejectsWithCode(c.c.rpc('m', data), 100, 'rpc');
        const s = c.newSub('px:room');
        const err = s.events.next('error');
        s.sub.subscribe();
        const e = await within(err, 'subscribe error');
        assert.deepEqual({ type: e.type, code: e.error.code, temporary: e.error.temporary }, { type: 'subscribe', code: 100, temporary: true });
        s.sub.unsubscribe();
        const lines = await awaitProxyError(srv, 'the subscribe failure', (l) => l.ctx.method === 'subscribe');
        assert.deepEqual([lines[0]!.ctx.proxy, lines[0]!.ctx.channel, lines[0]!.ctx.client], ['channel.proxy.subscribe', 'px:room', client]);
        const rest = takeProxyErrors(srv);
        assert.deepEqual(
          rest.filter((l) => l.ctx.method !== 'subscribe').map((l) => [l.ctx.method, l.ctx.proxy]),
          [['publish', 'channel.proxy.publish'], ['rpc', 'rpc.proxy']],
        );
      }, codec);
    });
  }

  it('non-200, status transforms, garbage, wrong shapes, bad base64 and an oversized answer: each its code, each logged; the server keeps serving', async () => {
    backend.on('/rpc', (call, res) => failingRpc(call.body.method, res));
    backend.on('/connect', (call, res) => {
      if (call.body.name === 'e500') return failingRpc('e500', res);
      if (call.body.name === 'e403') return failingRpc('e403', res);
      return { result: { user: 'ok' } };
    });
    const cfg = {
      client: { proxy: { connect: { enabled: true, endpoint: backend.url('/connect'), http: { status_to_code_transforms: transforms } } } },
      // A generous timeout: the 10 MiB answer must be cut for its size, not its time, on a busy machine.
      rpc: { proxy: { endpoint: backend.url('/rpc'), timeout: '30s', http: { status_to_code_transforms: transforms } }, without_namespace: { proxy_enabled: true } },
    } as ConfigInput;
    await withServer(cfg, async (srv, sdk) => {
      const c = sdk.client();
      const { client } = await c.connect();
      const failing: [string, RegExp][] = [
        ['e500', /backend answered HTTP 500/],
        ['garbage', /answer is not JSON/],
        ['not-object', /answer must be an object/],
        ['result-array', /result must be an object/],
        ['error-code-string', /code must be an integer/],
        ['disconnect-code-negative', /code must be a uint32/],
        ['b64-bad', /b64data is not base64/],
        ['huge', new RegExp(`answer larger than ${PROXY_MAX_ANSWER_BYTES} bytes`)],
      ];
      for (const [method, why] of failing) {
        await rejectsWithCode(c.c.rpc(method, {}), 100, method);
        const lines = takeProxyErrors(srv);
        assert.equal(lines.length, 1, `${method}: one log line`);
        assert.deepEqual([lines[0]!.ctx.proxy, lines[0]!.ctx.method, lines[0]!.ctx.client], ['rpc.proxy', 'rpc', client]);
        assert.match(lines[0]!.message, why, method);
        if (method === 'e500') assert.equal(lines[0]!.ctx.status, 500);
      }
      const transformed = await rejectsWithCode(c.c.rpc('e403', {}), 1403, 'transformed to an error');
      assert.equal(transformed.message, 'forbidden by backend');
      assert.deepEqual((await c.c.rpc('fine', {})).data, { ok: 'fine' }, 'the connection is fine after all that');
      const gone = c.events.next('disconnected');
      void c.c.rpc('e410', {}).catch(() => {});
      assert.deepEqual(await within(gone, 'transformed to a disconnect'), { code: 4510, reason: 'gone for good' });

      // Connect: a non-200 is a temporary error the SDK retries; a transform decides for good.
      const retried = sdk.client({ name: 'e500' });
      retried.c.connect();
      assert.equal((await retried.events.next('error')).error.code, 100);
      retried.c.disconnect();
      const refused = sdk.client({ name: 'e403' });
      const ended = refused.events.next('disconnected');
      refused.c.connect();
      assert.deepEqual(await within(ended, 'connect transform'), { code: 1403, reason: 'forbidden by backend' });
      assert.ok(takeProxyErrors(srv).every((l) => l.ctx.proxy === 'client.proxy.connect' && l.ctx.status === 500));
      await within(sdk.client({ name: 'fine' }).connect(), 'a connect after the failures');
    });
  });

  it('a backend slow past its timeout is error 100; while one call hangs, other clients connect and call through other paths', async () => {
    const held: HeldCall[] = [];
    let heldOne!: () => void;
    const hanging = new Promise<void>((r) => (heldOne = r));
    backend.hold('/rpc-hang', (h) => {
      held.push(h);
      heldOne();
    });
    backend.hold('/rpc-slow', () => {});
    backend.on('/connect', (call) => ({ result: { user: call.body.name } }));
    backend.on('/rpc', () => ({ result: { data: { fast: true } } }));
    const cfg = {
      client: { proxy: { connect: { enabled: true, endpoint: backend.url('/connect') } } },
      rpc: {
        proxy: { endpoint: backend.url('/rpc') },
        without_namespace: { proxy_enabled: true },
        namespaces: [{ name: 'hang', proxy_enabled: true, proxy_name: 'hang' }, { name: 'slow', proxy_enabled: true, proxy_name: 'slow' }],
      },
      proxies: [
        { name: 'hang', endpoint: backend.url('/rpc-hang'), timeout: '60s' },
        { name: 'slow', endpoint: backend.url('/rpc-slow'), timeout: '200ms' },
      ],
    } as ConfigInput;
    await withServer(cfg, async (srv, sdk) => {
      const a = sdk.client({ name: 'a' });
      const { client } = await a.connect();
      await rejectsWithCode(a.c.rpc('slow:m', {}), 100, 'slow past its timeout');
      const [slow] = takeProxyErrors(srv);
      assert.equal(slow!.ctx.client, client);
      assert.match(slow!.message, /^rpc proxy proxies\[1\].* failed: no answer within 200 ms$/);

      const pending = a.c.rpc('hang:m', {});
      await within(hanging, 'the call held at the backend');
      const b = sdk.client({ name: 'b' });
      await within(b.connect(), 'another client connects while a call hangs');
      assert.deepEqual((await within(b.c.rpc('m', {}), "b's RPC")).data, { fast: true });
      held[0]!.answer({ result: { data: { late: true } } });
      assert.deepEqual((await within(pending, 'the held call, answered')).data, { late: true });
    });
  });

  it('http.tls: an https backend verified with the configured CA, with a client certificate; without the CA the call fails (100) and is logged', async () => {
    const tlsBackend = await HttpProxyBackend.start({
      tls: { key: readFileSync(fixture('server.key')), cert: readFileSync(fixture('server.crt')), ca: readFileSync(fixture('client-ca.crt')) },
    });
    try {
      tlsBackend.on('/connect', () => ({ result: { user: 'secure' } }));
      tlsBackend.on('/rpc', () => ({ result: { data: { never: true } } }));
      const cfg = {
        client: {
          proxy: {
            connect: {
              enabled: true,
              endpoint: tlsBackend.url('/connect'),
              http: { tls: { enabled: true, server_ca_pem: fixture('server.crt'), cert_pem: fixture('client.crt'), key_pem: fixture('client.key') } },
            },
          },
        },
        rpc: { proxy: { endpoint: tlsBackend.url('/rpc') }, without_namespace: { proxy_enabled: true } },
      } as ConfigInput;
      await withServer(cfg, async (srv, sdk) => {
        const c = sdk.client();
        const { client } = await within(c.connect(), 'connected through the https connect proxy');
        assert.equal(srv.app.node.hub.session(client)?.user, 'secure');
        assert.equal(tlsBackend.callsTo('/connect').length, 1);
        await rejectsWithCode(c.c.rpc('m', {}), 100, 'an https backend the system roots do not trust');
        const [line] = takeProxyErrors(srv);
        assert.equal(line!.ctx.proxy, 'rpc.proxy');
        assert.match(line!.message, /request failed: .*(self-signed|self signed|certificate)/i);
        assert.equal(tlsBackend.callsTo('/rpc').length, 0);
      });
    } finally {
      await tlsBackend.stop();
    }
  });
});
