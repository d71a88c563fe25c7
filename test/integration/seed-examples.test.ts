/**
 * The examples of the seed documents (../shared/seeds/000–003), translated to Rotor's names and
 * run as written: the config keys become their nested v6 forms (`"uni_http_stream": true` →
 * `uni_http_stream.enabled`, `user_subscribe_to_personal` →
 * `client.subscribe_to_user_personal_channel.enabled`, `token_hmac_secret_key` →
 * `client.token.hmac_secret_key`), `centrifugo gentoken` becomes `rotor gentoken` (run as the
 * real CLI against the same config file), and the exact requests — the curl POST to
 * uni_http_stream, the wscat message to uni_websocket, the EventSource URL with `cf_connect` and
 * the SDK's transport list — are reproduced byte for byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReadableStream } from 'node:stream/web';
import WebSocket from 'ws';
import { Centrifuge } from 'centrifuge';
import { API_KEY, SECRET, connToken } from '../helpers/server.js';
import { CliProcess, tempDir } from '../helpers/server-process.js';
import { UUID, withKit, within } from '../helpers/transport-kit.js';
import type { ConfigInput } from '../../src/config/schema.js';

/** `rotor gentoken -c config.json -u USER`: the real CLI; returns the token it printed. */
async function gentoken(config: ConfigInput, user: string): Promise<string> {
  const dir = tempDir();
  try {
    const file = dir.file('config.json', config);
    const cli = CliProcess.start(['gentoken', '-c', file, '-u', user]);
    const exit = await within(cli.exited, 'rotor gentoken to exit', 30_000);
    assert.equal(exit.code, 0, `rotor gentoken failed:\n${cli.output}`);
    const out = cli.lines.filter((l) => l.stream === 'stdout').map((l) => l.text);
    // As in the seeds: a description line with the user and a one-week TTL, then the token.
    assert.match(out[0] ?? '', new RegExp(`token for user "${user}" with expiration TTL 168h0m0s:$`), cli.output);
    const token = out[1] ?? '';
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, cli.output);
    return token;
  } finally {
    dir.cleanup();
  }
}

test('seed 000 (uni_http_stream): the curl POST with the token receives the connect push and the publication to #user12', async () => {
  // {"uni_http_stream": true, "user_subscribe_to_personal": true} plus what `genconfig` generates
  // (HMAC secret, API key). A 1 s ping interval lets the test see the "{} messages are pings".
  const config: ConfigInput = {
    client: {
      token: { hmac_secret_key: SECRET },
      subscribe_to_user_personal_channel: { enabled: true },
      ping_interval: '1s',
      pong_timeout: '500ms',
    },
    http_api: { key: API_KEY },
    uni_http_stream: { enabled: true },
  };
  const token = await gentoken(config, 'user12');
  await withKit(config, async (srv, kit) => {
    // curl -X POST http://localhost:8000/connection/uni_http_stream -d '{"token": "<JWT>"}'
    // (curl -d sends Content-Type application/x-www-form-urlencoded, Accept */*).
    const s = await kit.stream(`${srv.httpUrl}/connection/uni_http_stream`, {
      method: 'POST',
      headers: { 'User-Agent': 'curl/7.88.1', Accept: '*/*', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `{"token": "${token}"}`,
    });
    assert.equal(s.status, 200);
    const first = await s.waitFor(() => s.lines()[0], 'the connect push');
    assert.match(first.connect.client, UUID);
    assert.deepEqual(first.connect.subs, { '#user12': {} }, 'subscribed to the personal channel');
    assert.equal(first.connect.expires, true);

    // curl -X POST http://localhost:8000/api/publish -d '{"channel": "#user12", "data": {"input": "hello"}}' \
    //   -H "Authorization: apikey <key>"
    const pub = await fetch(`${srv.httpUrl}/api/publish`, {
      method: 'POST',
      headers: { 'User-Agent': 'curl/7.88.1', Accept: '*/*', 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `apikey ${API_KEY}` },
      body: '{"channel": "#user12", "data": {"input": "hello"}}',
    });
    assert.equal(pub.status, 200, await pub.text());
    await s.nextLine((m) => m.pub !== undefined, 'the publication line');
    // JSON payloads travel as raw embedded JSON (spec §1.5): the data bytes exactly as published.
    assert.ok(s.text().includes('\n{"channel":"#user12","pub":{"data":{"input": "hello"}}}\n'), `the line curl prints; got ${JSON.stringify(s.text())}`);
    // "{} messages are pings from a server."
    await s.nextLine((m) => Object.keys(m).length === 0, 'a {} ping line', 4000);
  });
});

test('seed 001 (http_stream): the SDK transport list [websocket, http_stream] connects; with WebSocket unavailable it falls back to http_stream', async () => {
  // {"http_stream": true}
  const config: ConfigInput = { http_stream: { enabled: true } };
  for (const wsDisabled of [false, true]) {
    await withKit(wsDisabled ? { ...config, websocket: { disabled: true } } : config, async (srv, kit) => {
      const transports = [
        { transport: 'websocket' as const, endpoint: `ws://127.0.0.1:${srv.port}/connection/websocket` },
        { transport: 'http_stream' as const, endpoint: `http://127.0.0.1:${srv.port}/connection/http_stream` },
      ];
      // In Node the SDK needs its dependencies and an absolute emulation endpoint (the default
      // '/emulation' is relative to a page).
      const centrifuge = new Centrifuge(transports, {
        websocket: WebSocket,
        fetch: globalThis.fetch,
        readableStream: ReadableStream,
        emulationEndpoint: `${srv.httpUrl}/emulation`,
        token: await connToken('seed-user'),
        minReconnectDelay: 50,
        maxReconnectDelay: 300,
      });
      kit.onCleanup(() => centrifuge.disconnect());
      const connected = within(new Promise<any>((resolve) => centrifuge.once('connected', resolve)), 'connected');
      centrifuge.connect();
      const ctx = await connected;
      assert.equal(ctx.transport, wsDisabled ? 'http_stream' : 'websocket');
    });
  }
});

test('seed 002 (uni_websocket): the wscat session — connect message with subs {"abc": {}} → connect push with #test_user, then publications', async () => {
  // {"token_hmac_secret_key": "secret", "uni_websocket": true, "user_subscribe_to_personal": true}
  const config: ConfigInput = {
    client: { token: { hmac_secret_key: 'secret' }, subscribe_to_user_personal_channel: { enabled: true } },
    http_api: { key: API_KEY },
    uni_websocket: { enabled: true },
  };
  const token = await gentoken(config, 'test_user');
  await withKit(config, async (srv, kit) => {
    // wscat -c "ws://localhost:8000/connection/uni_websocket"
    const c = await kit.ws(`ws://127.0.0.1:${srv.port}/connection/uni_websocket`);
    // > {"token": "<JWT>", "subs": {"abc": {}}}
    c.send(`{"token": "${token}", "subs": {"abc": {}}}`);
    // < {"connect":{"client":"…","version":"…","subs":{"#test_user":{}},"expires":true,"ttl":604407,"ping":25,"session":"…"}}
    const first = await c.next(() => true);
    assert.deepEqual(Object.keys(first), ['connect']);
    const r = first.connect;
    assert.match(r.client, UUID);
    assert.equal(typeof r.version, 'string');
    assert.deepEqual(r.subs, { '#test_user': {} }, '"abc" is not subscribable by clients in this config, so only the personal channel');
    assert.equal(r.expires, true);
    assert.ok(r.ttl > 604_700 && r.ttl <= 604_800, `ttl ${r.ttl}`);
    assert.equal(r.ping, 25);
    assert.ok(typeof r.session === 'string' && r.session !== '', JSON.stringify(r));
    assert.match(c.frames[0]!, /^\{"connect":\{"client":"[0-9a-f-]{36}","version":"[^"]*",/, 'field order as in the seed');

    // "publish something to #test_user … and the message should come to the connection"
    const pub = await srv.api('publish', { channel: '#test_user', data: { text: 'hi' } });
    assert.equal(pub.status, 200);
    assert.deepEqual(await c.next((m) => m.pub !== undefined), { channel: '#test_user', pub: { data: { text: 'hi' } } });
  });
});

test('seed 003 (uni_sse): new EventSource(url) with cf_connect={"token": …} receives the connect push and publications; POST works too', async () => {
  // {"uni_sse": true}; the personal channel gives the connection a server-side subscription to
  // publish into (the seed leaves the channels open).
  const config: ConfigInput = {
    client: { token: { hmac_secret_key: SECRET }, subscribe_to_user_personal_channel: { enabled: true } },
    uni_sse: { enabled: true },
  };
  const token = await gentoken(config, 'sse_user');
  await withKit(config, async (srv, kit) => {
    // const url = new URL('http://localhost:8000/connection/uni_sse');
    // url.searchParams.append("cf_connect", JSON.stringify({'token': '<JWT>'}));
    // const eventSource = new EventSource(url);
    const url = new URL(`${srv.httpUrl}/connection/uni_sse`);
    url.searchParams.append('cf_connect', JSON.stringify({ token }));
    const eventSource = kit.eventSource(url.toString());
    const messages: any[] = [];
    let wake = (): void => {};
    eventSource.onmessage = (e) => {
      messages.push(JSON.parse(e.data));
      wake();
    };
    const next = (pred: (m: any) => boolean, what: string): Promise<any> =>
      within(
        new Promise<any>((resolve) => {
          const check = (): void => {
            const m = messages.find(pred);
            if (m !== undefined) resolve(m);
          };
          wake = check;
          check();
        }),
        what,
      );
    const first = await next(() => true, 'the first message');
    assert.match(first.connect?.client ?? '', UUID, JSON.stringify(first));
    assert.deepEqual(first.connect.subs, { '#sse_user': {} });
    assert.equal((await srv.api('publish', { channel: '#sse_user', data: { n: 1 } })).status, 200);
    assert.deepEqual(await next((m) => m.pub !== undefined, 'the publication'), { channel: '#sse_user', pub: { data: { n: 1 } } });
    eventSource.close();

    // "… also supports POST requests … you must send the connect object as a JSON body".
    const s = await kit.stream(`${srv.httpUrl}/connection/uni_sse`, { method: 'POST', body: JSON.stringify({ token }) });
    assert.equal(s.status, 200);
    const c = await s.nextEvent((m) => m.connect !== undefined, 'the connect push over POST');
    assert.deepEqual(c.connect.subs, { '#sse_user': {} });
  });
});
