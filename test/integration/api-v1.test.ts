/**
 * Centrifugo v1's server API at the API root (`http_api.v1_format`, src/api/v1/) on a real server,
 * with SDK clients over WebSocket seeing its effects: signed JSON and signed forms, one command or
 * an array, every method with v1's body shapes and error words, and the refusals v1 answered
 * (checked against the real v1.8 server): no sign 400, a wrong sign 401, an unknown method or
 * missing params 400 with nothing run, an oversized body 413. The v6 API keeps its paths.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { API_KEY, SECRET, connToken, startServer, type TestServer } from '../helpers/server.js';
import { SdkPool, within } from '../helpers/sdk.js';
import type { ConfigInput } from '../../src/config/schema.js';

const CONFIG = {
  http_api: { v1_format: true },
  prometheus: { enabled: true },
  channel: {
    without_namespace: { allow_subscribe_for_client: true },
    namespaces: [{ name: 'public', allow_subscribe_for_client: true, presence: true, history_size: 10, history_ttl: '60s' }],
  },
} as ConfigInput;

const sign = (body: string, secret = SECRET) => createHmac('sha256', secret).update(body).digest('hex');

async function v1(srv: TestServer, body: string, headers: Record<string, string> = { 'X-API-Sign': sign(body) }): Promise<{ status: number; text: string; json?: any }> {
  const r = await fetch(`${srv.httpUrl}/api/`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });
  const text = await r.text();
  return { status: r.status, text, ...(r.headers.get('content-type') === 'application/json' ? { json: JSON.parse(text) } : {}) };
}

test('v1 API: signed commands act on SDK clients and answer in v1 shapes', async () => {
  const srv = await startServer(CONFIG);
  const sdk = new SdkPool(srv);
  try {
    const alice = sdk.client({ token: await connToken('alice') });
    const { client } = await within(alice.connect(), 'alice connected');
    const sub = await within(alice.subscribe('public:news'), 'subscribed');

    // publish: one command, answered with an array.
    let got = sub.events.next('publication');
    const one = await v1(srv, JSON.stringify({ method: 'publish', params: { channel: 'public:news', data: { n: 1 } } }));
    assert.deepEqual([one.status, one.json], [200, [{ method: 'publish', error: null, body: null }]]);
    assert.deepEqual((await within(got, 'the publication')).data, { n: 1 });

    // A signed form (`data` and `sign`) works the same.
    got = sub.events.next('publication');
    const data = JSON.stringify({ method: 'publish', params: { channel: 'public:news', data: { n: 2 }, client: client } });
    const form = await fetch(`${srv.httpUrl}/api/`, { method: 'POST', body: new URLSearchParams({ data, sign: sign(data) }) });
    assert.deepEqual(await form.json(), [{ method: 'publish', error: null, body: null }]);
    const formPub = await within(got, 'the form publication');
    assert.deepEqual([formPub.data, formPub.info?.client], [{ n: 2 }, client], 'v6 subscribers see v1\'s client as info.client');

    // An array: presence, history (newest first), channels, node, a failing presence, a history without history.
    const batch = JSON.stringify([
      { method: 'presence', params: { channel: 'public:news' } },
      { method: 'history', params: { channel: 'public:news' } },
      { method: 'channels', params: {} },
      { method: 'node', params: {} },
      { method: 'presence', params: { channel: 'nope:x' } },
      { method: 'history', params: { channel: 'plain' } },
    ]);
    const r = (await v1(srv, batch)).json as { method: string; error: string | null; body: any }[];
    assert.deepEqual(r.map((x) => [x.method, x.error]), [['presence', null], ['history', null], ['channels', null], ['node', null], ['presence', 'namespace not found'], ['history', 'not available']]);
    assert.deepEqual(r[0]!.body, { channel: 'public:news', data: { [client]: { user: 'alice', client, default_info: null, channel_info: null } } });
    assert.deepEqual(r[1]!.body.channel, 'public:news');
    assert.deepEqual(r[1]!.body.data.map((m: { data: unknown }) => m.data), [{ n: 2 }, { n: 1 }]);
    assert.match(r[1]!.body.data[0].uid, /^2:/);
    // The publish that named a client keeps it (v1's exclude-sender), the other has none.
    assert.deepEqual([r[1]!.body.data[0].client, r[1]!.body.data[1].client, r[1]!.body.data[0].info], [client, undefined, undefined]);
    assert.deepEqual(r[2]!.body, { data: ['public:news'] });
    assert.equal(r[3]!.body.data.metrics.node_num_clients, 1);
    assert.equal(typeof r[3]!.body.data.started_at, 'number');
    assert.deepEqual([r[4]!.body, r[5]!.body], [{ channel: 'nope:x', data: null }, { channel: 'plain', data: null }]);
    const stats = (await v1(srv, '{"method":"stats","params":{}}')).json as [{ body: { data: { nodes: unknown[]; metrics_interval: number } } }];
    assert.equal(stats[0].body.data.nodes.length, 1);

    // broadcast stops at the first failing channel, answering with its error.
    got = sub.events.next('publication');
    const b = await v1(srv, JSON.stringify({ method: 'broadcast', params: { channels: ['public:news', 'nope:x', 'plain'], data: { n: 3 } } }));
    assert.deepEqual(b.json, [{ method: 'broadcast', error: 'namespace not found', advice: 'fix', body: null }]);
    assert.deepEqual((await within(got, 'the broadcast publication')).data, { n: 3 });

    // unsubscribe, then disconnect.
    const unsubscribed = sub.events.next('unsubscribed');
    assert.deepEqual((await v1(srv, JSON.stringify({ method: 'unsubscribe', params: { channel: 'public:news', user: 'alice' } }))).json, [{ method: 'unsubscribe', error: null, body: null }]);
    await within(unsubscribed, 'unsubscribed by the v1 API');
    const disconnected = alice.events.next('disconnected');
    assert.deepEqual((await v1(srv, JSON.stringify({ method: 'disconnect', params: { user: 'alice' } }))).json, [{ method: 'disconnect', error: null, body: null }]);
    await within(disconnected, 'disconnected by the v1 API');

    // The v6 API keeps its paths and its key.
    const v6 = await srv.api('publish', { channel: 'public:news', data: {} }, { Authorization: `apikey ${API_KEY}` });
    assert.deepEqual([v6.status, v6.body.result.offset], [200, 4]);
  } finally {
    sdk.closeAll();
    await srv.stop();
  }
});

test('v1 API refusals: no sign 400, a wrong sign 401, a bad command 400 with nothing run, oversized 413; insecure needs no sign', async () => {
  const srv = await startServer(CONFIG);
  try {
    const body = '{"method":"publish","params":{"channel":"public:a","data":{}}}';
    assert.deepEqual(await v1(srv, body, {}), { status: 400, text: 'Bad Request\n' });
    assert.deepEqual(await v1(srv, body, { 'X-API-Sign': sign(body, 'another secret') }), { status: 401, text: 'Unauthorized\n' });
    assert.deepEqual(await v1(srv, `${body} `, { 'X-API-Sign': sign(body) }), { status: 401, text: 'Unauthorized\n' }, 'the sign covers the exact body');
    // The v6 API key is no credential at the root in v1 format: only the sign is.
    assert.deepEqual(await v1(srv, body, { Authorization: `apikey ${API_KEY}` }), { status: 400, text: 'Bad Request\n' });
    // A form is recognised whatever the content type's case; its sign covers its `data`.
    const form = await fetch(`${srv.httpUrl}/api/`, { method: 'POST', headers: { 'Content-Type': 'Application/X-WWW-Form-Urlencoded' }, body: new URLSearchParams({ data: '{"method":"channels"}', sign: sign('{"method":"channels"}') }).toString() });
    assert.equal(form.status, 200);
    for (const bad of [
      'not json',
      '[]',
      '{"method":"nope","params":{}}',
      '{"method":"publish","params":{"channel":"public:a"}}',
      '{"method":"publish","params":{"channel":"","data":{}}}',
      '{"method":"broadcast","params":{"channels":[],"data":{}}}',
      '{"method":"unsubscribe","params":{"channel":"public:a"}}',
      '{"method":"history","params":[]}',
    ]) {
      assert.equal((await v1(srv, bad)).status, 400, bad);
    }
    // A bad command after a good one: the request fails whole and the good one did not run.
    assert.equal((await v1(srv, `[${body},{"method":"nope"}]`)).status, 400);
    const history = (await v1(srv, '{"method":"history","params":{"channel":"public:a"}}')).json as [{ body: { data: unknown[] } }];
    assert.deepEqual(history[0].body.data, []);
    const big = JSON.stringify({ method: 'publish', params: { channel: 'public:a', data: 'x'.repeat(11 * 1024 * 1024) } });
    assert.equal((await v1(srv, big)).status, 413);
  } finally {
    await srv.stop();
  }
  const open = await startServer({ ...CONFIG, http_api: { v1_format: true, insecure: true } } as ConfigInput);
  try {
    const r = await v1(open, '{"method":"channels","params":{}}', {});
    assert.deepEqual([r.status, r.json], [200, [{ method: 'channels', error: null, body: { data: [] } }]]);
  } finally {
    await open.stop();
  }
});


