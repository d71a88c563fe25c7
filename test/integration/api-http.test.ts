/**
 * Server HTTP API statuses and error replies (spec §7.1–§7.3, §2.5), plus payload fidelity of
 * published data as seen by a raw WebSocket subscriber (§1.5, §7.1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, connToken, API_KEY, type TestServer, withServer as withServerBase } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';
import { API_MAX_BODY_SIZE } from '../../src/app/app.js';
import { ApiErrorCode } from '../../src/protocol/codes.js';
import { ApiStatus } from '../../src/api/statuses.js';
import type { ConfigInput } from '../../src/config/schema.js';

const NAMESPACES: ConfigInput = {
  channel: {
    namespaces: [
      { name: 'chat', allow_subscribe_for_client: true },
      { name: 'other', allow_subscribe_for_client: true },
      { name: 'hist', allow_subscribe_for_client: true, history_size: 10, history_ttl: '300s' },
    ],
  },
};

const withServer = (overrides: ConfigInput, fn: (srv: TestServer) => Promise<void>) => withServerBase({ ...NAMESPACES, ...overrides }, fn);

interface RawResponse {
  status: number;
  contentType: string;
  text: string;
}

async function post(srv: TestServer, path: string, body: string, headers: Record<string, string> = {}, method = 'POST'): Promise<RawResponse> {
  const res = await fetch(`${srv.httpUrl}${path}`, { method, headers, ...(method === 'GET' ? {} : { body }) });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}

async function subscriber(srv: TestServer, channel: string, user = '42'): Promise<RawClient> {
  const c = await RawClient.open(srv.wsUrl);
  const rep = await c.connect(await connToken(user));
  assert.equal(typeof rep.connect?.client, 'string');
  c.send({ id: 2, subscribe: { channel } });
  assert.deepEqual(await c.next((m) => m.id === 2), { id: 2, subscribe: {} });
  return c;
}

const PUBLISH = JSON.stringify({ channel: 'chat:a', data: { x: 1 } });

// ---------------------------------------------------------------- auth and statuses

test('no API key → 401', async () => {
  await withServer({}, async (srv) => {
    const r = await post(srv, '/api/publish', PUBLISH);
    assert.equal(r.status, 401);
  });
});

test('wrong API key → 401', async () => {
  await withServer({}, async (srv) => {
    assert.equal((await post(srv, '/api/publish', PUBLISH, { 'X-API-Key': 'wrong' })).status, 401);
    assert.equal((await post(srv, '/api/publish', PUBLISH, { Authorization: 'apikey wrong' })).status, 401);
    assert.equal((await post(srv, '/api/publish?api_key=wrong', PUBLISH)).status, 401);
  });
});

test('empty configured key rejects every request with 401', async () => {
  await withServer({ http_api: { key: '' } }, async (srv) => {
    assert.equal((await post(srv, '/api/publish', PUBLISH, { 'X-API-Key': '' })).status, 401);
    assert.equal((await post(srv, '/api/publish', PUBLISH)).status, 401);
  });
});

test('Authorization: apikey KEY works (scheme case-insensitive)', async () => {
  await withServer({}, async (srv) => {
    const r = await post(srv, '/api/publish', PUBLISH, { Authorization: `apikey ${API_KEY}` });
    assert.deepEqual([r.status, JSON.parse(r.text)], [200, { result: {} }]);
    const r2 = await post(srv, '/api/publish', PUBLISH, { Authorization: `ApiKey ${API_KEY}` });
    assert.deepEqual([r2.status, JSON.parse(r2.text)], [200, { result: {} }]);
  });
});

test('?api_key= works', async () => {
  await withServer({}, async (srv) => {
    const r = await post(srv, `/api/publish?api_key=${encodeURIComponent(API_KEY)}`, PUBLISH);
    assert.deepEqual([r.status, JSON.parse(r.text)], [200, { result: {} }]);
  });
});

test('http_api.insecure: true → no key needed', async () => {
  await withServer({ http_api: { insecure: true } }, async (srv) => {
    const r = await post(srv, '/api/publish', PUBLISH);
    assert.deepEqual([r.status, JSON.parse(r.text)], [200, { result: {} }]);
  });
});

test('GET → 405', async () => {
  await withServer({}, async (srv) => {
    const r = await post(srv, '/api/publish', '', { 'X-API-Key': API_KEY }, 'GET');
    assert.equal(r.status, 405);
  });
});

test('unknown method /api/foo → 404, key or not (Centrifugo\'s routes are fixed); names of Object members are no methods', async () => {
  await withServer({}, async (srv) => {
    const r = await srv.api('foo', {});
    assert.equal(r.status, 404);
    assert.equal((await post(srv, '/api/foo', '{}')).status, 404);
    // Before, the method table's prototype answered: /api/toString gave {"result":"[object Object]"}.
    for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']) {
      const p = await post(srv, `/api/${name}`, '{}', { 'X-API-Key': API_KEY });
      assert.deepEqual([p.status, p.text], [404, 'method not found\n'], name);
    }
  });
});

test('malformed JSON → 400', async () => {
  await withServer({}, async (srv) => {
    const r = await srv.api('publish', '{"channel":"chat:a","data":');
    assert.equal(r.status, 400);
  });
});

test('a JSON array body is not a request → 400', async () => {
  await withServer({}, async (srv) => {
    const r = await srv.api('publish', '[{"channel":"chat:a","data":{}}]');
    assert.equal(r.status, 400);
  });
});

test('a field of the wrong JSON type, or an empty body, is refused as Centrifugo\'s decoder refuses it: 400, nothing done', async () => {
  await withServer({}, async (srv) => {
    const c = await subscriber(srv, 'chat:a');
    for (const body of [
      { channel: 5, data: {} },
      { channel: 'chat:a', data: { x: 1 }, tags: { a: 1 } },
      { channel: 'chat:a', data: { x: 1 }, skip_history: 'yes' },
      { channel: 'chat:a', data: { x: 1 }, version: 1.5 },
      // Go's uint64: a negative number does not decode.
      { channel: 'chat:a', data: { x: 1 }, version: -1 },
    ]) {
      const r = await srv.api('publish', body);
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    // Broadcast reads its fields before publishing anything: the whole request is refused.
    const b = await srv.api('broadcast', { channels: ['chat:a', 'other:b'], data: { x: 1 }, tags: { a: 1 } });
    assert.equal(b.status, 400);
    assert.equal((await post(srv, '/api/batch', '{"commands":{}}', { 'X-API-Key': API_KEY })).status, 400);
    const empty = await post(srv, '/api/info', '', { 'X-API-Key': API_KEY });
    assert.deepEqual([empty.status, empty.text], [400, 'bad request\n']);
    // Inside a batch the others have run by then: that command alone gets 107.
    const batch = await srv.api('batch', { commands: [{ publish: { channel: 'chat:a', data: { n: 1 } } }, { publish: { channel: 7 } }] });
    assert.equal(batch.status, 200);
    assert.equal(batch.body.replies?.[1]?.error?.code, ApiErrorCode.badRequest.code, JSON.stringify(batch.body));
    assert.deepEqual((await c.next((m) => m.push?.pub !== undefined)).push.pub.data, { n: 1 });
    assert.equal(c.frames.filter((f) => f.includes('"pub"')).length, 1, 'only the batch\'s good command published');
    c.close();
  });
});

test('publish with empty channel → 200 with error 107', async () => {
  await withServer({}, async (srv) => {
    const r = await srv.api('publish', { channel: '', data: { x: 1 } });
    assert.equal(r.status, 200);
    assert.equal(r.body.error?.code, ApiErrorCode.badRequest.code, JSON.stringify(r.body));
    assert.equal(typeof r.body.error.message, 'string');
    assert.equal(r.body.result, undefined);
  });
});

test('publish without data → 200 with error 107', async () => {
  await withServer({}, async (srv) => {
    const r = await srv.api('publish', { channel: 'chat:a' });
    assert.equal(r.status, 200);
    assert.equal(r.body.error?.code, ApiErrorCode.badRequest.code, JSON.stringify(r.body));
  });
});

test('publish with "data": null publishes the JSON null, as Centrifugo\'s decoder keeps the raw bytes', async () => {
  await withServer({}, async (srv) => {
    const c = await subscriber(srv, 'chat:a');
    assert.deepEqual(await srv.api('publish', '{"channel":"chat:a","data":null}'), { status: 200, body: { result: {} } });
    const push = await c.next((m) => m.push?.pub !== undefined);
    assert.equal(push.push.pub.data, null);
    assert.ok(c.frames.some((f) => f.includes('"data":null')), c.frames.join('\n'));
    c.close();
  });
});

test('publish to an unknown namespace → 200 with error 102', async () => {
  await withServer({}, async (srv) => {
    const r = await srv.api('publish', { channel: 'nope:a', data: { x: 1 } });
    assert.equal(r.status, 200);
    assert.equal(r.body.error?.code, ApiErrorCode.unknownChannel.code, JSON.stringify(r.body));
  });
});

test('X-Centrifugo-Error-Mode: transport → HTTP 400 {code:107} and 404 {code:102}', async () => {
  await withServer({}, async (srv) => {
    const h = { 'X-Centrifugo-Error-Mode': 'transport' };
    const bad = await srv.api('publish', { channel: '', data: { x: 1 } }, h);
    assert.equal(bad.status, ApiErrorCode.badRequest.httpStatus);
    assert.equal(bad.body.code, ApiErrorCode.badRequest.code, JSON.stringify(bad.body));
    assert.equal(typeof bad.body.message, 'string');
    assert.equal(bad.body.error, undefined, 'no {error} envelope in transport mode');
    const unknown = await srv.api('publish', { channel: 'nope:a', data: { x: 1 } }, h);
    assert.equal(unknown.status, ApiErrorCode.unknownChannel.httpStatus);
    assert.equal(unknown.body.code, ApiErrorCode.unknownChannel.code);
    // Success is unchanged.
    assert.deepEqual(await srv.api('publish', { channel: 'chat:a', data: { x: 1 } }, h), { status: 200, body: { result: {} } });
  });
});

test("http_api.error_mode: 'transport' in config → mapped HTTP statuses", async () => {
  await withServer({ http_api: { error_mode: 'transport' } }, async (srv) => {
    const bad = await srv.api('publish', { channel: '', data: { x: 1 } });
    assert.equal(bad.status, ApiErrorCode.badRequest.httpStatus);
    assert.equal(bad.body.code, ApiErrorCode.badRequest.code);
    const unknown = await srv.api('publish', { channel: 'nope:a', data: { x: 1 } });
    assert.equal(unknown.status, ApiErrorCode.unknownChannel.httpStatus);
    assert.equal(unknown.body.code, ApiErrorCode.unknownChannel.code);
    const noHistory = await srv.api('history', { channel: 'chat:a' });
    assert.equal(noHistory.status, ApiErrorCode.notAvailable.httpStatus);
    assert.equal(noHistory.body.code, ApiErrorCode.notAvailable.code);
  });
});

test('body over the API limit → 413', async () => {
  await withServer({}, async (srv) => {
    const pad = 'x'.repeat(API_MAX_BODY_SIZE);
    const r = await post(srv, '/api/publish', `{"channel":"chat:a","data":{"p":"${pad}"}}`, { 'X-API-Key': API_KEY });
    assert.equal(r.status, 413);
    // The server is fine afterwards.
    assert.deepEqual(await srv.api('publish', { channel: 'chat:a', data: { x: 1 } }), { status: 200, body: { result: {} } });
  });
});

test('every documented API status (docs/errors.md, from api/statuses.ts) is what the server answers, with its text', async () => {
  await withServer({}, async (srv) => {
    const key = { 'X-API-Key': API_KEY };
    const cases: Array<[keyof typeof ApiStatus, () => Promise<RawResponse>]> = [
      ['methodNotAllowed', () => post(srv, '/api/publish', '', key, 'GET')],
      ['unauthorized', () => post(srv, '/api/publish', PUBLISH, { 'X-API-Key': 'nope' })],
      ['methodNotFound', () => post(srv, '/api/nope', PUBLISH, key)],
      ['bodyTooLarge', () => post(srv, '/api/publish', 'x'.repeat(API_MAX_BODY_SIZE + 1), key)],
      ['badRequest', () => post(srv, '/api/publish', '{"channel":', key)],
    ];
    for (const [name, call] of cases) {
      const r = await call();
      assert.deepEqual([r.status, r.text], [ApiStatus[name].status, `${ApiStatus[name].text}\n`], name);
    }
    const ok = await post(srv, '/api/publish', PUBLISH, key);
    assert.deepEqual([ok.status, JSON.parse(ok.text)], [ApiStatus.ok.status, { result: {} }]);
    // A node that is shutting down refuses API calls; the listener is still up in this test.
    await srv.app.node.shutdown();
    const r = await post(srv, '/api/publish', PUBLISH, key);
    assert.deepEqual([r.status, r.text], [ApiStatus.shuttingDown.status, `${ApiStatus.shuttingDown.text}\n`]);
  });
});

// ---------------------------------------------------------------- broadcast and batch

test('broadcast without channels → error 107', async () => {
  await withServer({}, async (srv) => {
    const r = await srv.api('broadcast', { channels: [], data: { x: 1 } });
    assert.equal(r.status, 200);
    assert.equal(r.body.error?.code, ApiErrorCode.badRequest.code, JSON.stringify(r.body));
    const r2 = await srv.api('broadcast', { data: { x: 1 } });
    assert.equal(r2.body.error?.code, ApiErrorCode.badRequest.code);
  });
});

test('broadcast with one bad channel → per-item error, others published', async () => {
  await withServer({}, async (srv) => {
    const c = await subscriber(srv, 'chat:a');
    const r = await srv.api('broadcast', { channels: ['chat:a', 'nope:b', ''], data: { x: 1 } });
    assert.equal(r.status, 200);
    const responses = r.body.result?.responses;
    assert.equal(responses?.length, 3, JSON.stringify(r.body));
    assert.deepEqual(responses[0], { result: {} });
    assert.equal(responses[1].error?.code, ApiErrorCode.unknownChannel.code);
    assert.equal(responses[1].result, undefined);
    assert.equal(responses[2].error?.code, ApiErrorCode.badRequest.code);
    const push = await c.next((m) => m.push?.pub !== undefined);
    assert.equal(push.push.channel, 'chat:a');
    assert.deepEqual(push.push.pub.data, { x: 1 });
    c.close();
  });
});

for (const parallel of [false, true]) {
  test(`batch (${parallel ? 'parallel' : 'sequential'}): replies per command, null command → item error 107`, async () => {
    await withServer({}, async (srv) => {
      const c = await subscriber(srv, 'chat:a');
      const r = await srv.api('batch', {
        parallel,
        commands: [
          { publish: { channel: 'chat:a', data: { n: 1 } } },
          null,
          { publish: { channel: 'nope:a', data: { n: 2 } } },
          { presence_stats: { channel: 'chat:a' } },
          { publish: { channel: 'chat:a', data: { n: 3 } } },
        ],
      });
      assert.equal(r.status, 200);
      const replies = r.body.replies;
      assert.equal(replies?.length, 5, JSON.stringify(r.body));
      assert.deepEqual(replies[0], { publish: {} });
      assert.equal(replies[1].error?.code, ApiErrorCode.badRequest.code);
      assert.equal(replies[2].error?.code, ApiErrorCode.unknownChannel.code);
      assert.equal(replies[3].error?.code, ApiErrorCode.notAvailable.code);
      assert.deepEqual(replies[4], { publish: {} });
      await c.next((m) => m.push?.pub?.data?.n === 3);
      const got = c
        .messages()
        .filter((m) => m.push?.pub)
        .map((m) => m.push.pub.data.n)
        .sort();
      assert.deepEqual(got, [1, 3]);
      c.close();
    });
  });
}

test('batch answers {"replies":[…]} at the top level (no result wrapper), as Centrifugo; an empty batch answers {}', async () => {
  await withServer({}, async (srv) => {
    const r = await srv.api('batch', { commands: [{ publish: { channel: 'chat:a', data: { n: 1 } } }, { info: {} }] });
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.body), ['replies'], JSON.stringify(r.body));
    assert.deepEqual(r.body.replies[0], { publish: {} });
    assert.ok(Array.isArray(r.body.replies[1].info?.nodes), JSON.stringify(r.body));
    // Other methods keep the envelope.
    assert.deepEqual(await srv.api('publish', { channel: 'chat:a', data: { n: 2 } }), { status: 200, body: { result: {} } });
    // `replies` is omitempty in Centrifugo; absent `commands` decodes as an empty list.
    for (const body of [{ commands: [] }, {}, { commands: null }]) assert.deepEqual(await srv.api('batch', body), { status: 200, body: {} }, JSON.stringify(body));
    // `commands` that is not a list is a body Centrifugo's decoder refuses: 400 in either error mode.
    const bad = await post(srv, '/api/batch', '{"commands":5}', { 'X-API-Key': API_KEY });
    assert.deepEqual([bad.status, bad.text], [400, 'bad request\n']);
    const t = await post(srv, '/api/batch', '{"commands":5}', { 'X-API-Key': API_KEY, 'X-Centrifugo-Error-Mode': 'transport' });
    assert.equal(t.status, 400);
  });
});

test('history of an empty stream writes publications, epoch and offset 0 (no omitempty in Centrifugo)', async () => {
  await withServer({}, async (srv) => {
    const r = await srv.api('history', { channel: 'hist:empty', limit: -1 });
    assert.equal(r.status, 200);
    assert.match(r.body.result?.epoch ?? '', /^[a-zA-Z]{8}$/, JSON.stringify(r.body));
    assert.deepEqual(r.body, { result: { publications: [], epoch: r.body.result.epoch, offset: 0 } });
  });
});

test('transport error mode does not apply to batch/broadcast item errors (still HTTP 200)', async () => {
  await withServer({}, async (srv) => {
    const h = { 'X-Centrifugo-Error-Mode': 'transport' };
    const b = await srv.api('batch', { commands: [{ publish: { channel: 'nope:a', data: { x: 1 } } }] }, h);
    assert.equal(b.status, 200);
    assert.equal(b.body.replies?.[0]?.error?.code, ApiErrorCode.unknownChannel.code, JSON.stringify(b.body));
    const bc = await srv.api('broadcast', { channels: ['nope:a'], data: { x: 1 } }, h);
    assert.equal(bc.status, 200);
    assert.equal(bc.body.result?.responses?.[0]?.error?.code, ApiErrorCode.unknownChannel.code, JSON.stringify(bc.body));
  });
});

test('batch: a command runs the first method in Centrifugo order and ignores other keys', async () => {
  await withServer({}, async (srv) => {
    const c = await subscriber(srv, 'chat:a');
    const r = await srv.api('batch', {
      commands: [{ id: 5, presence_stats: { channel: 'chat:a' } }, { broadcast: { channels: ['chat:a'], data: { n: 2 } }, publish: { channel: 'chat:a', data: { n: 1 } } }],
    });
    const replies = r.body.replies;
    assert.equal(replies?.[0]?.error?.code, ApiErrorCode.notAvailable.code, 'presence_stats ran (no presence in chat)');
    assert.deepEqual(replies?.[1], { publish: {} });
    await c.next((m) => m.push?.pub?.data?.n === 1);
    c.close();
  });
});

test('batch: an unknown command, an empty one and a nested batch → item error 104 (not found), others run', async () => {
  await withServer({}, async (srv) => {
    const r = await srv.api('batch', {
      commands: [{ foo: { channel: 'chat:a' } }, {}, { batch: { commands: [] } }, { info: {} }],
    });
    assert.equal(r.status, 200);
    const replies = r.body.replies;
    assert.equal(replies?.length, 4, JSON.stringify(r.body));
    for (const i of [0, 1, 2]) assert.deepEqual(replies[i], { error: { code: ApiErrorCode.notFound.code, message: ApiErrorCode.notFound.message } });
    assert.ok(Array.isArray(replies[3].info?.nodes));
  });
});

test('batch: a null info is absent, as Go decodes it: alone → 104, beside another method → that method runs', async () => {
  await withServer({}, async (srv) => {
    const r = await srv.api('batch', { commands: [{ info: null }, { info: null, channels: {} }] });
    const replies = r.body.replies;
    assert.equal(replies?.length, 2, JSON.stringify(r.body));
    assert.deepEqual(replies[0], { error: { code: ApiErrorCode.notFound.code, message: ApiErrorCode.notFound.message } });
    assert.deepEqual(replies[1], { channels: { channels: {} } }, JSON.stringify(replies[1]));
  });
});

test('unsubscribe: a channel in an unknown namespace → error 102; no channel → ok, and no subscription is touched', async () => {
  await withServer({}, async (srv) => {
    const bad = await srv.api('unsubscribe', { user: 'u', channel: 'nope:x' });
    assert.equal(bad.status, 200);
    assert.equal(bad.body.error?.code, ApiErrorCode.unknownChannel.code, JSON.stringify(bad.body));
    assert.deepEqual((await srv.api('unsubscribe', { user: 'u', channel: 'chat:x' })).body, { result: {} });

    const c = await subscriber(srv, 'chat:a');
    assert.deepEqual((await srv.api('unsubscribe', { user: '42' })).body, { result: {} });
    // Still subscribed: the next publication arrives, and nothing announced an unsubscribe.
    assert.deepEqual((await srv.api('publish', { channel: 'chat:a', data: { n: 1 } })).body, { result: {} });
    assert.deepEqual((await c.next((m) => m.push?.pub !== undefined)).push.pub.data, { n: 1 });
    assert.equal(c.messages().filter((m) => m.push?.unsubscribe !== undefined).length, 0);
    // A named channel does unsubscribe.
    assert.deepEqual((await srv.api('unsubscribe', { user: '42', channel: 'chat:a' })).body, { result: {} });
    assert.equal((await c.next((m) => m.push?.unsubscribe !== undefined)).push.channel, 'chat:a');
    c.close();
  });
});

// ---------------------------------------------------------------- history

test('history API on a channel without history → error 108', async () => {
  await withServer({}, async (srv) => {
    const r = await srv.api('history', { channel: 'chat:a', limit: 10 });
    assert.equal(r.status, 200);
    assert.equal(r.body.error?.code, ApiErrorCode.notAvailable.code, JSON.stringify(r.body));
    const rm = await srv.api('history_remove', { channel: 'chat:a' });
    assert.equal(rm.body.error?.code, ApiErrorCode.notAvailable.code);
  });
});

test('history with a since epoch that does not match → error 112', async () => {
  await withServer({}, async (srv) => {
    const p = await srv.api('publish', { channel: 'hist:a', data: { n: 1 } });
    assert.equal(p.body.result?.offset, 1, JSON.stringify(p.body));
    const epoch = p.body.result.epoch;
    assert.equal(typeof epoch, 'string');
    const other = epoch === 'xxxxxxxx' ? 'yyyyyyyy' : 'xxxxxxxx';
    const r = await srv.api('history', { channel: 'hist:a', limit: -1, since: { offset: 0, epoch: other } });
    assert.equal(r.status, 200);
    assert.equal(r.body.error?.code, ApiErrorCode.unrecoverablePosition.code, JSON.stringify(r.body));
    // Transport mode maps 112 to 416.
    const t = await srv.api('history', { channel: 'hist:a', limit: -1, since: { offset: 0, epoch: other } }, { 'X-Centrifugo-Error-Mode': 'transport' });
    assert.equal(t.status, ApiErrorCode.unrecoverablePosition.httpStatus);
    assert.equal(t.body.code, ApiErrorCode.unrecoverablePosition.code);
    // The matching epoch works.
    const ok = await srv.api('history', { channel: 'hist:a', limit: -1, since: { offset: 0, epoch } });
    assert.equal(ok.body.result?.publications?.length, 1, JSON.stringify(ok.body));
  });
});

test('history with limit 0 → stream position only', async () => {
  await withServer({}, async (srv) => {
    await srv.api('publish', { channel: 'hist:a', data: { n: 1 } });
    const p = await srv.api('publish', { channel: 'hist:a', data: { n: 2 } });
    const r = await srv.api('history', { channel: 'hist:a', limit: 0 });
    assert.equal(r.status, 200);
    const res = r.body.result;
    assert.ok(res, JSON.stringify(r.body));
    assert.deepEqual(res.publications ?? [], []);
    assert.equal(res.offset, 2);
    assert.equal(res.epoch, p.body.result.epoch);
  });
});

test('history with reverse and since.offset 0 → error 107', async () => {
  await withServer({}, async (srv) => {
    await srv.api('publish', { channel: 'hist:a', data: { n: 1 } });
    const r = await srv.api('history', { channel: 'hist:a', limit: 10, reverse: true, since: { offset: 0, epoch: '' } });
    assert.equal(r.body.error?.code, ApiErrorCode.badRequest.code, JSON.stringify(r.body));
  });
});

test('presence / presence_stats on a channel without presence → error 108', async () => {
  await withServer({}, async (srv) => {
    for (const m of ['presence', 'presence_stats']) {
      const r = await srv.api(m, { channel: 'chat:a' });
      assert.equal(r.status, 200);
      assert.equal(r.body.error?.code, ApiErrorCode.notAvailable.code, `${m}: ${JSON.stringify(r.body)}`);
    }
  });
});

test('rpc without server-side RPC extensions → error 104', async () => {
  await withServer({}, async (srv) => {
    const r = await srv.api('rpc', { method: 'anything', params: { x: 1 } });
    assert.equal(r.status, 200);
    assert.equal(r.body.error?.code, ApiErrorCode.notFound.code, JSON.stringify(r.body));
    const t = await srv.api('rpc', { method: 'anything', params: {} }, { 'X-Centrifugo-Error-Mode': 'transport' });
    assert.equal(t.status, ApiErrorCode.notFound.httpStatus);
  });
});

test('user-targeted methods without user → error 107 (spec §7.2: user is required)', async () => {
  await withServer({}, async (srv) => {
    for (const [m, body] of [
      ['subscribe', { channel: 'chat:a' }],
      ['unsubscribe', { channel: 'chat:a' }],
      ['disconnect', {}],
      ['refresh', {}],
    ] as const) {
      const r = await srv.api(m, body);
      assert.equal(r.status, 200);
      assert.equal(r.body.error?.code, ApiErrorCode.badRequest.code, `${m}: ${JSON.stringify(r.body)}`);
    }
  });
});

test('b64data that is not standard base64 → 107 and nothing published; in broadcast one top-level 107', async () => {
  await withServer({}, async (srv) => {
    const c = await subscriber(srv, 'chat:a');
    // Unpadded, a character outside the alphabet, the URL-safe alphabet: Node's decoder would take all three.
    for (const b64 of ['aGVsbG8', 'aGVs!!bG8=', 'aGVsbG8-_w==']) {
      const r = await srv.api('publish', { channel: 'chat:a', b64data: b64 });
      assert.equal(r.body.error?.code, ApiErrorCode.badRequest.code, `${b64}: ${JSON.stringify(r.body)}`);
    }
    // Decoded before the namespace is looked up: 107, not 102.
    const ns = await srv.api('publish', { channel: 'nope:a', b64data: '!!!' });
    assert.equal(ns.body.error?.code, ApiErrorCode.badRequest.code, JSON.stringify(ns.body));
    const b = await srv.api('broadcast', { channels: ['chat:a', 'other:b'], b64data: 'aGVsbG8' });
    assert.equal(b.body.error?.code, ApiErrorCode.badRequest.code, JSON.stringify(b.body));
    assert.equal(b.body.result, undefined);
    const t = await srv.api('broadcast', { channels: ['chat:a'], b64data: 'aGVsbG8' }, { 'X-Centrifugo-Error-Mode': 'transport' });
    assert.equal(t.status, ApiErrorCode.badRequest.httpStatus);
    const bi = await srv.api('subscribe', { user: '42', channel: 'chat:b', b64info: 'e30' });
    assert.equal(bi.body.error?.code, ApiErrorCode.badRequest.code, JSON.stringify(bi.body));
    // A valid one after all of them is the first publication the subscriber sees.
    await srv.api('publish', { channel: 'chat:a', b64data: Buffer.from('{"ok":1}').toString('base64') });
    assert.deepEqual((await c.next((m) => m.push?.pub !== undefined)).push.pub.data, { ok: 1 });
    assert.equal(c.frames.filter((f) => f.includes('"pub"')).length, 1, c.frames.join('\n'));
    c.close();
  });
});

test('a channel with nothing before the namespace boundary (":x") is outside any namespace, as in Centrifugo', async () => {
  await withServer({ channel: { without_namespace: { allow_subscribe_for_client: true }, namespaces: NAMESPACES.channel!.namespaces } }, async (srv) => {
    const c = await subscriber(srv, ':x');
    assert.deepEqual(await srv.api('publish', { channel: ':x', data: { n: 1 } }), { status: 200, body: { result: {} } });
    assert.deepEqual((await c.next((m) => m.push?.pub !== undefined)).push.pub.data, { n: 1 });
    c.close();
  });
  // Without the without_namespace permission the subscribe is refused as for any such channel (103), not 102.
  await withServer({}, async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    await c.connect(await connToken('42'));
    c.send({ id: 2, subscribe: { channel: ':x' } });
    assert.equal((await c.next((m) => m.id === 2)).error?.code, 103);
    c.close();
  });
});

// ---------------------------------------------------------------- legacy /api


test('legacy POST /api: newline-separated commands (string and numeric method) → newline-separated replies with ids', async () => {
  await withServer({}, async (srv) => {
    const c = await subscriber(srv, 'chat:a');
    const body = [
      '{"id":1,"method":"publish","params":{"channel":"chat:a","data":{"n":1}}}',
      '{"id":2,"method":0,"params":{"channel":"chat:a","data":{"n":2}}}',
    ].join('\n');
    const r = await post(srv, '/api', body, { 'X-API-Key': API_KEY });
    assert.equal(r.status, 200);
    const lines = r.text.split('\n').filter((l) => l !== '');
    assert.deepEqual(
      lines.map((l) => JSON.parse(l)),
      [
        { id: 1, result: {} },
        { id: 2, result: {} },
      ],
    );
    await c.next((m) => m.push?.pub?.data?.n === 2);
    assert.deepEqual(
      c.messages().filter((m) => m.push?.pub).map((m) => m.push.pub.data.n),
      [1, 2],
    );
    c.close();
  });
});

test('legacy POST /api: errors are per command', async () => {
  await withServer({}, async (srv) => {
    const body = ['{"id":1,"method":"publish","params":{"channel":"nope:a","data":{}}}', '{"id":2,"method":"info","params":{}}'].join('\n');
    const r = await post(srv, '/api', body, { 'X-API-Key': API_KEY });
    assert.equal(r.status, 200);
    const [a, b] = r.text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
    assert.equal(a.id, 1);
    assert.equal(a.error?.code, ApiErrorCode.unknownChannel.code);
    assert.equal(b.id, 2);
    assert.ok(Array.isArray(b.result?.nodes));
  });
});

test('legacy POST /api: pretty-printed and concatenated commands are a stream of JSON values', async () => {
  await withServer({}, async (srv) => {
    const c = await subscriber(srv, 'chat:a');
    const body =
      '{\n  "id": 1,\n  "method": "publish",\n  "params": {\n    "channel": "chat:a",\n    "data": {"s": "} {\\"x"}\n  }\n}' +
      '{"id":2,"method":"info","params":{}} \r\n\t{"id":3,"method":"publish","params":{"channel":"chat:a","data":{"n":3}}}\n';
    const r = await post(srv, '/api', body, { 'X-API-Key': API_KEY });
    assert.equal(r.status, 200, r.text);
    const replies = r.text.split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(replies.map((x) => x.id), [1, 2, 3]);
    assert.deepEqual(replies[0], { id: 1, result: {} });
    assert.ok(Array.isArray(replies[1].result?.nodes));
    await c.next((m) => m.push?.pub?.data?.n === 3);
    assert.deepEqual(c.messages().filter((m) => m.push?.pub).map((m) => m.push.pub.data), [{ s: '} {"x' }, { n: 3 }]);
    c.close();
  });
});

test('legacy POST /api: a syntax error anywhere in the stream → 400 and nothing runs', async () => {
  await withServer({}, async (srv) => {
    const c = await subscriber(srv, 'chat:a');
    const h = { 'X-API-Key': API_KEY };
    const first = '{"method":"publish","params":{"channel":"chat:a","data":{"n":1}}}';
    for (const body of [`${first}{"method":`, `${first} x`, `${first}{"method":"info",}`, `${first}[1]`]) {
      assert.equal((await post(srv, '/api', body, h)).status, 400, body);
    }
    assert.equal((await post(srv, '/api', first, h)).status, 200);
    await c.next((m) => m.push?.pub?.data?.n === 1);
    assert.equal(c.messages().filter((m) => m.push?.pub).length, 1, 'the refused bodies published nothing');
    c.close();
  });
});

test('legacy POST /api: methods by enum name (any case) or number; unserved ones → 104; no method → 0 (publish); a method that is not an enum value → 400', async () => {
  await withServer({}, async (srv) => {
    const c = await subscriber(srv, 'chat:a');
    const body = [
      '{"id":1,"method":14,"params":{}}',
      '{"id":2,"method":"device_register","params":{}}',
      '{"id":3,"params":{"channel":"chat:a","data":{"n":3}}}',
      '{"id":4,"method":"Publish","params":{"channel":"chat:a","data":{"n":4}}}',
    ].join('\n');
    const r = await post(srv, '/api', body, { 'X-API-Key': API_KEY });
    assert.equal(r.status, 200);
    const notFound = { code: ApiErrorCode.notFound.code, message: ApiErrorCode.notFound.message };
    assert.deepEqual(
      r.text.split('\n').map((l) => JSON.parse(l)),
      [{ id: 1, error: notFound }, { id: 2, error: notFound }, { id: 3, result: {} }, { id: 4, result: {} }],
    );
    await c.next((m) => m.push?.pub?.data?.n === 4);
    for (const method of ['"nope"', '"batch"', 'null', '1.5', 'true']) {
      const bad = await post(srv, '/api', `{"method":${method},"params":{}}`, { 'X-API-Key': API_KEY });
      assert.equal(bad.status, 400, method);
    }
    c.close();
  });
});

test('legacy POST /api with an empty body → 400', async () => {
  await withServer({}, async (srv) => {
    assert.equal((await post(srv, '/api', '', { 'X-API-Key': API_KEY })).status, 400);
  });
});

test('legacy POST /api needs the key too → 401', async () => {
  await withServer({}, async (srv) => {
    assert.equal((await post(srv, '/api', '{"method":"info","params":{}}')).status, 401);
  });
});

// ---------------------------------------------------------------- misc endpoints and results

test('/health → 200 {}', async () => {
  await withServer({}, async (srv) => {
    const r = await post(srv, '/health', '', {}, 'GET');
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.text), {});
  });
});

test('info result shape', async () => {
  await withServer({}, async (srv) => {
    const c = await subscriber(srv, 'chat:a');
    const r = await srv.api('info', {});
    assert.equal(r.status, 200);
    const nodes = r.body.result?.nodes;
    assert.equal(nodes?.length, 1, JSON.stringify(r.body));
    const n = nodes[0];
    assert.equal(typeof n.uid, 'string');
    assert.ok(n.uid.length > 0);
    assert.equal(typeof n.name, 'string');
    assert.equal(typeof n.version, 'string');
    assert.equal(n.num_clients, 1);
    assert.equal(n.num_users, 1);
    assert.equal(n.num_channels, 1);
    assert.equal(n.num_subs, 1);
    assert.equal(typeof (n.uptime ?? 0), 'number');
    c.close();
  });
});

test('channels with a pattern', async () => {
  await withServer({}, async (srv) => {
    const a = await subscriber(srv, 'chat:a', '1');
    const b = await subscriber(srv, 'chat:b', '2');
    const b2 = await subscriber(srv, 'chat:b', '3');
    const o = await subscriber(srv, 'other:c', '4');
    const r = await srv.api('channels', { pattern: 'chat:*' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { result: { channels: { 'chat:a': { num_clients: 1 }, 'chat:b': { num_clients: 2 } } } });
    const all = await srv.api('channels', {});
    assert.deepEqual(Object.keys(all.body.result.channels).sort(), ['chat:a', 'chat:b', 'other:c']);
    // gobwas/glob syntax, as Centrifugo: classes, negated classes, alternatives.
    const names = async (pattern: string) => Object.keys((await srv.api('channels', { pattern })).body.result.channels).sort();
    assert.deepEqual(await names('chat:[ab]'), ['chat:a', 'chat:b']);
    assert.deepEqual(await names('chat:[!a]'), ['chat:b']);
    assert.deepEqual(await names('{chat:a,other:*}'), ['chat:a', 'other:c']);
    const bad = await srv.api('channels', { pattern: 'chat:[ab' });
    assert.deepEqual(bad.body, { error: { code: 107, message: 'bad request' } });
    for (const c of [a, b, b2, o]) c.close();
  });
});

test('publish with b64data delivers the decoded bytes', async () => {
  await withServer({}, async (srv) => {
    const c = await subscriber(srv, 'chat:a');
    const json = '{"from":"b64"}';
    const r = await srv.api('publish', { channel: 'chat:a', b64data: Buffer.from(json).toString('base64') });
    assert.deepEqual(r, { status: 200, body: { result: {} } });
    await c.next((m) => m.push?.pub !== undefined);
    assert.ok(
      c.frames.some((f) => f.includes(`"data":${json}`)),
      c.frames.join('\n'),
    );
    c.close();
  });
});

test('publish data bytes are preserved exactly (big integer, number formatting, escapes, spaces)', async () => {
  await withServer({}, async (srv) => {
    const c = await subscriber(srv, 'chat:a');
    const data = '{"n":12345678901234567890, "f":1.50, "e":1e400, "u":"\\u00e9", "a":[ 1 ,2 ]}';
    const r = await srv.api('publish', `{"channel":"chat:a","data":${data}}`);
    assert.deepEqual(r, { status: 200, body: { result: {} } });
    await c.next((m) => m.push?.pub !== undefined);
    const frame = c.frames.find((f) => f.includes('"pub"'));
    assert.ok(frame?.includes(`"data":${data}`), `byte-identical payload expected, got ${frame}`);
    c.close();
  });
});

test(
  'publication push carries no `time` field (§1.4: not populated for stream subscriptions)',
  async () => {
    await withServer({}, async (srv) => {
      const c = await subscriber(srv, 'chat:a');
      await srv.api('publish', { channel: 'chat:a', data: { x: 1 } });
      const push = await c.next((m) => m.push?.pub !== undefined);
      assert.deepEqual(push, { push: { channel: 'chat:a', pub: { data: { x: 1 } } } });
      c.close();
    });
  },
);
