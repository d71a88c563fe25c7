/**
 * Hostile input against the regexes and globs (issue #15 §4). Each case is one that stalled the
 * whole server when JavaScript's backtracking RegExp ran Go-syntax config regexes, or when a
 * `channels` pattern of any size was accepted: connect 48 s (before any signature check),
 * subscribe 25 s, channels API 22-27 s. Each test asserts the answer Centrifugo gives and that
 * `info` API calls made while the hostile request is in flight each answer within 100 ms.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connToken, withServer, type TestServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';
import { closedWithin } from '../helpers/error-paths.js';
import { sign, unsigned } from '../fixtures/keys/index.js';
import { ApiErrorCode, DisconnectCode, ErrorCode } from '../../src/protocol/codes.js';

/** The bound issue #15 sets for the rest of the server while one request is hostile. */
const INFO_BOUND_MS = 100;

const EVIL_ISSUER_REGEX = '^https://([a-z0-9]+\\.?)+\\.example\\.com$';
const EVIL_ISS = `https://${'a'.repeat(28)}.example.comX`;
const EVIL_CHANNEL_REGEX = '^([a-z0-9]+_?)*$';

const closeOf = (d: { code: number; reason: string }) => ({ code: d.code, reason: d.reason });
const errorOf = (e: { code: number; message: string }) => ({ code: e.code, message: e.message });

/** Readies a hostile request (a connection opened, say) and returns the function that sends it. */
type Hostile<T> = () => Promise<() => Promise<T>>;

/**
 * Calls `info` over and over, from just after the hostile request was sent until its answer (at
 * least once), and returns that answer and the slowest `info` round trip. Server and test share
 * one event loop, so a stall anywhere shows up in the round trip in flight. The hostile request
 * and `info` run once unmeasured first, so one-time costs (compiling the code paths, opening
 * connections) are not counted: the stall this guards against happens on every request.
 */
async function withInfoCalls<T>(srv: TestServer, hostile: Hostile<T>): Promise<{ value: T; slowestInfoMs: number }> {
  await (await hostile())();
  assert.equal((await srv.api('info', {})).status, 200, 'warm-up info call');
  const send = await hostile();
  let outcome: { ok: true; value: T } | { ok: false; err: unknown } | undefined;
  const settled = send().then(
    (value) => (outcome = { ok: true, value }),
    (err: unknown) => (outcome = { ok: false, err }),
  );
  let slowestInfoMs = 0;
  do {
    const t0 = performance.now();
    const info = await srv.api('info', {});
    slowestInfoMs = Math.max(slowestInfoMs, performance.now() - t0);
    assert.equal(info.status, 200);
    assert.equal(info.body.result?.nodes?.length, 1, JSON.stringify(info.body));
  } while (outcome === undefined);
  await settled;
  if (!outcome.ok) throw outcome.err;
  return { value: outcome.value, slowestInfoMs };
}

/** Opens a connection; then sends a connect with `token` and waits for the server to close it. */
function connectClosed(srv: TestServer, token: string): Hostile<{ code: number; reason: string }> {
  return async () => {
    const c = await RawClient.open(srv.wsUrl);
    return async () => {
      c.send({ id: 1, connect: { token } });
      return closeOf(await closedWithin(c, 10_000));
    };
  };
}

test('issuer_regex with nested quantifiers: an unsigned token with a crafted iss closes with 3500 at once', async () => {
  await withServer({ client: { token: { issuer_regex: EVIL_ISSUER_REGEX } } }, async (srv) => {
    const { value, slowestInfoMs } = await withInfoCalls(srv, connectClosed(srv, unsigned({ sub: '42', iss: EVIL_ISS })));
    assert.deepEqual(value, closeOf(DisconnectCode.invalidToken));
    assert.ok(slowestInfoMs < INFO_BOUND_MS, `info took ${slowestInfoMs.toFixed(1)} ms during the connect`);
  });
});

test('issuer_regex and audience_regex run in linear time on a validly signed token too', async () => {
  const config = { client: { token: { issuer_regex: EVIL_ISSUER_REGEX, audience_regex: EVIL_CHANNEL_REGEX } } };
  await withServer(config, async (srv) => {
    const badIss = await connToken('42', { iss: EVIL_ISS, aud: 'app' });
    const a = await withInfoCalls(srv, connectClosed(srv, badIss));
    assert.deepEqual(a.value, closeOf(DisconnectCode.invalidToken));
    assert.ok(a.slowestInfoMs < INFO_BOUND_MS, `info took ${a.slowestInfoMs.toFixed(1)} ms during the connect`);

    const badAud = await connToken('42', { iss: `https://${'a'.repeat(28)}.example.com`, aud: `${'a'.repeat(28)}!` });
    const b = await withInfoCalls(srv, connectClosed(srv, badAud));
    assert.deepEqual(b.value, closeOf(DisconnectCode.invalidToken));
    assert.ok(b.slowestInfoMs < INFO_BOUND_MS, `info took ${b.slowestInfoMs.toFixed(1)} ms during the connect`);

    // A forged signature with the crafted iss: refused for the signature, as the unsigned one is.
    const forged = await sign({ sub: '42', iss: EVIL_ISS }, 'HS256', 'not-the-secret');
    assert.deepEqual((await withInfoCalls(srv, connectClosed(srv, forged))).value, closeOf(DisconnectCode.invalidToken));

    const ok = await RawClient.open(srv.wsUrl);
    const rep = await ok.connect(await connToken('42', { iss: `https://${'a'.repeat(28)}.example.com`, aud: 'a_b' }));
    assert.equal(typeof rep.connect?.client, 'string', `a matching token connects: ${JSON.stringify(rep)}`);
    ok.close();
  });
});

test('channel_regex with nested quantifiers: a crafted subscribe gets error 107 at once', async () => {
  const config = { channel: { namespaces: [{ name: 'slug', allow_subscribe_for_client: true, channel_regex: EVIL_CHANNEL_REGEX }] } };
  await withServer(config, async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    assert.equal(typeof (await c.connect(await connToken('42'))).connect?.client, 'string');
    let id = 10;
    const subscribe = async (channel: string) => {
      const cmdId = ++id;
      c.send({ id: cmdId, subscribe: { channel } });
      const reply = await c.next((m) => m.id === cmdId, 10_000);
      delete reply.id;
      return reply;
    };
    const { value, slowestInfoMs } = await withInfoCalls(srv, async () => () => subscribe(`slug:${'a'.repeat(28)}!`));
    assert.deepEqual(value, { error: errorOf(ErrorCode.badRequest) });
    assert.ok(slowestInfoMs < INFO_BOUND_MS, `info took ${slowestInfoMs.toFixed(1)} ms during the subscribe`);
    assert.deepEqual(await subscribe('slug:abc_def'), { subscribe: {} }, 'a matching name subscribes');
    c.close();
  });
});

test('channels API: a 200 KB pattern of {a,*} is refused with 107 naming the limit; a normal pattern answers', async () => {
  await withServer({}, async (srv) => {
    const names = Array.from({ length: 100 }, (_, k) => `ch${k}`);
    const c = await RawClient.open(srv.wsUrl);
    assert.equal(typeof (await c.connect(await connToken('42', { channels: names }))).connect?.client, 'string');
    assert.equal(Object.keys((await srv.api('channels', {})).body.result.channels).length, 100);

    const pattern = '{a,*}'.repeat(40_000);
    const { value, slowestInfoMs } = await withInfoCalls(srv, async () => () => srv.api('channels', { pattern }));
    assert.equal(value.status, 200);
    assert.equal(value.body.error?.code, ApiErrorCode.badRequest.code, JSON.stringify(value.body).slice(0, 300));
    assert.match(value.body.error.message, /^bad request: pattern is longer than \d+ characters$/);
    assert.ok(slowestInfoMs < INFO_BOUND_MS, `info took ${slowestInfoMs.toFixed(1)} ms during the channels call`);

    const ok = await srv.api('channels', { pattern: 'ch{1,2}*' });
    assert.deepEqual(Object.keys(ok.body.result.channels).sort(), names.filter((n) => /^ch[12]/.test(n)).sort());
    c.close();
  });
});

test('channels API: a pattern within the limits that defeats the glob cache, over 10,000 long channels, leaves info answering', async () => {
  await withServer({ client: { channel_limit: 20_000 } }, async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    assert.equal(typeof (await c.connect(await connToken('42'))).connect?.client, 'string');
    // Names of a and b in a pseudo-random order: the matcher's sets of live states (which of the
    // 30 positions after an `a` are live) take ever new values, so its cache of steps overflows.
    let seed = 7;
    const ab = (): string => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) & 0x10000 ? 'a' : 'b');
    const names = Array.from({ length: 10_000 }, (_, k) => `ch${k}_` + Array.from({ length: 250 - String(k).length }, ab).join(''));
    const commands = names.map((channel) => ({ subscribe: { user: '42', channel } }));
    const batch = await srv.api('batch', { commands });
    assert.equal(batch.status, 200);
    assert.deepEqual(batch.body.replies?.[0], { subscribe: {} }, JSON.stringify(batch.body).slice(0, 300));
    assert.equal(Object.keys((await srv.api('channels', {})).body.result.channels).length, names.length);

    // 32 characters, 30 wildcards: inside both limits, and its live-state sets (which of the last
    // 30 positions held an a) overflow the cache. No name has a c, so nothing matches: the answer
    // stays small, and what is measured is the matching, not a megabyte of JSON (server and test
    // share one event loop).
    const pattern = `*a${'?'.repeat(29)}c`;
    const { value, slowestInfoMs } = await withInfoCalls(srv, async () => () => srv.api('channels', { pattern }));
    assert.equal(value.status, 200);
    assert.deepEqual(value.body.result.channels, {});
    assert.ok(slowestInfoMs < INFO_BOUND_MS, `info took ${slowestInfoMs.toFixed(1)} ms during the channels call`);
    c.close();
  });
});
