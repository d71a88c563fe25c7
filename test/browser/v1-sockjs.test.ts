/**
 * A real browser (Debian's headless Chromium, driven by playwright-core) runs the real Centrifugo
 * v1 client (`centrifuge@1.5.0`, aliased `centrifuge-v1`) over the real `sockjs-client` against
 * Rotor started from a migrated v1 config: token connect, public and private (`$`) channels with
 * signs from an auth endpoint the page's own origin serves, publications from the v1 signed API
 * and from the page, over SockJS's websocket and over its XHR fallbacks; a bad token ends the
 * connection for good; and an origin not in `client.allowed_origins` cannot use SockJS at all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import WebSocket from 'ws';
import { startServer, type TestServer } from '../helpers/server.js';
import { migrateConfig } from '../../src/config/migrate.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { v1ChannelSign, v1Token } from '../../src/auth/v1-sign.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const BROWSER_WAIT_MS = 15_000;
const SECRET = 'v1-secret';

const file = (rel: string) => readFileSync(fileURLToPath(new URL(rel, import.meta.url)));
const PAGE = file('./v1-page.html');
const SOCKJS = file('../../node_modules/sockjs-client/dist/sockjs.min.js');
const CENTRIFUGE_V1 = file('../../node_modules/centrifuge-v1/centrifuge.js');

/** A v1 config file as a v1 deployment had it; Rotor reads it through migrateConfig. */
const CHANNEL_OPTIONS = { publish: true, presence: true, join_leave: true, history_size: 10, history_lifetime: 60, recover: true };
const V1_CONFIG = { secret: SECRET, namespaces: [{ name: 'public', anonymous: true, ...CHANNEL_OPTIONS }], ...CHANNEL_OPTIONS };

interface AuthRequest {
  client: string;
  channels: string[];
}

/**
 * The page's origin: the page, sockjs-client, the v1 client, and the application's private
 * channel auth endpoint (the v1 client POSTs `{client, channels}` to `/centrifuge/auth/` on the
 * page's origin and expects a sign per channel).
 */
async function startStatic(): Promise<{ server: Server; origin: string; auth: AuthRequest[] }> {
  const auth: AuthRequest[] = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const js = (body: Buffer) => res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' }).end(body);
    if (path === '/page.html') res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(PAGE);
    else if (path === '/sockjs.min.js') js(SOCKJS);
    else if (path === '/centrifuge.js') js(CENTRIFUGE_V1);
    else if (path === '/centrifuge/auth/' && req.method === 'POST') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AuthRequest;
        auth.push(body);
        const signs = Object.fromEntries(body.channels.map((ch) => [ch, { sign: v1ChannelSign(SECRET, body.client, ch), info: '' }]));
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(signs));
      });
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, auth };
}

interface Env {
  srv: TestServer;
  origin: string;
  auth: AuthRequest[];
  cleanups: (() => Promise<void>)[];
}

/** Rotor from the migrated v1 config, allowing the page's origin; everything stopped afterwards. */
async function withEnv(fn: (env: Env) => Promise<void>): Promise<void> {
  const stat = await startStatic();
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const migrated = migrateConfig(V1_CONFIG).config;
    // startServer deep-merges BASE_CONFIG under this: client.token.hmac_secret_key and
    // http_api.key come from the migration ('v1-secret'); allowed_origins is replaced.
    const client = { ...(migrated['client'] as Record<string, unknown>), allowed_origins: [stat.origin] };
    const srv = await startServer({ ...migrated, client } as ConfigInput);
    cleanups.push(() => srv.stop());
    await fn({ srv, origin: stat.origin, auth: stat.auth, cleanups });
  } finally {
    for (const c of cleanups.reverse()) await c();
    stat.server.closeAllConnections();
    await new Promise<void>((resolve) => stat.server.close(() => resolve()));
  }
}

interface PageParams {
  user: string;
  /** The secret the token is signed with (a wrong one for a bad token). */
  tokenSecret?: string;
  transports?: string[];
  channels: string[];
}

/** Launches Chromium (closed with the env) and opens the page with a v1 token for `user`. */
async function openPage(env: Env, p: PageParams): Promise<{ page: Page; diagnostics: string[] }> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: BROWSER_WAIT_MS });
  env.cleanups.push(() => browser.close());
  const page = await browser.newPage();
  const diagnostics: string[] = [];
  // The client's debug log passes frames as objects: serialise them so a failure shows them.
  page.on('console', (m) => {
    void Promise.all(m.args().map((a) => a.jsonValue().then((v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v)), () => '?'))).then((parts) =>
      // Browser-made messages (a failed load) have no arguments, only text.
      diagnostics.push(`console.${m.type()}: ${parts.length > 0 ? parts.join(' ') : m.text()}`),
    );
  });
  page.on('pageerror', (e) => diagnostics.push(`pageerror: ${e.message}`));
  const timestamp = String(Math.floor(Date.now() / 1000));
  const q = new URLSearchParams({
    url: `${env.srv.httpUrl}/connection`,
    user: p.user,
    timestamp,
    token: v1Token(p.tokenSecret ?? SECRET, p.user, timestamp),
    channels: JSON.stringify(p.channels),
    ...(p.transports ? { transports: JSON.stringify(p.transports) } : {}),
  });
  await page.goto(`${env.origin}/page.html?${q.toString()}`, { timeout: BROWSER_WAIT_MS });
  return { page, diagnostics };
}

/** What the page failed on: its state and console (frames sent and received). */
async function pageFailure(page: Page, diagnostics: string[], what: string, e: unknown): Promise<Error> {
  const state = await page.evaluate('JSON.stringify(window.__v1)').catch(() => '(unavailable)');
  return new Error(`${what}: ${(e as Error).message}\npage state: ${String(state)}\n${diagnostics.join('\n')}`);
}

/** Waits (bounded) for a condition on the page's `__v1` state. */
async function waitState(page: Page, diagnostics: string[], what: string, fn: string): Promise<void> {
  try {
    await page.waitForFunction(fn, undefined, { timeout: BROWSER_WAIT_MS, polling: 50 });
  } catch (e) {
    throw await pageFailure(page, diagnostics, what, e);
  }
}

/** Evaluates a page expression (a v1 client promise, say) with the diagnostics on failure. */
async function evaluate(page: Page, diagnostics: string[], what: string, expr: string): Promise<unknown> {
  try {
    return await page.evaluate(expr);
  } catch (e) {
    throw await pageFailure(page, diagnostics, what, e);
  }
}

/** A publish through v1's signed API at the API root (`X-API-Sign`: HMAC of the raw body). */
async function apiPublish(srv: TestServer, channel: string, data: unknown): Promise<void> {
  const body = JSON.stringify({ method: 'publish', params: { channel, data } });
  const sign = createHmac('sha256', SECRET).update(body).digest('hex');
  const r = await fetch(`${srv.httpUrl}/api/`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-API-Sign': sign }, body });
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), [{ method: 'publish', error: null, body: null }]);
}

interface V1Message {
  uid: string;
  channel: string;
  data: unknown;
  client?: string;
}

const messages = async (page: Page, channel: string) => (await page.evaluate(`window.__v1.subs[${JSON.stringify(channel)}].messages`)) as V1Message[];

test('v1 client over SockJS (websocket): token connect, API and page publications, a private channel signed by the auth endpoint', async () => {
  await withEnv(async (env) => {
    const { page, diagnostics } = await openPage(env, { user: 'alice', channels: ['public:chat', '$private'] });
    await waitState(page, diagnostics, 'connected, both channels subscribed', 'window.__v1.connected !== null && Object.values(window.__v1.subs).every((s) => s.subscribed !== null)');
    const { client, transport } = (await page.evaluate('window.__v1.connected')) as { client: string; transport: string };
    assert.equal(transport, 'websocket', "SockJS's default choice in Chromium");

    // The auth endpoint was asked about the private channel, for this client.
    assert.deepEqual(env.auth, [{ client, channels: ['$private'] }]);

    await apiPublish(env.srv, 'public:chat', { text: 'from the API', n: 1 });
    await waitState(page, diagnostics, 'the API publication', 'window.__v1.subs["public:chat"].messages.length >= 1');
    // The page publishes; the message carries its client ID (v1's `client`).
    await evaluate(page, diagnostics, 'the page publish', 'window.__subs["public:chat"].publish({ text: "from the page", n: 2 })');
    await waitState(page, diagnostics, 'the page publication', 'window.__v1.subs["public:chat"].messages.length >= 2');
    const chat = await messages(page, 'public:chat');
    assert.deepEqual(chat.map((m) => [m.channel, m.data]), [['public:chat', { text: 'from the API', n: 1 }], ['public:chat', { text: 'from the page', n: 2 }]]);
    assert.equal(chat[0]!.client, undefined, 'an API publication names no client');
    assert.equal(chat[1]!.client, client);

    // Presence (the namespace has it) shows this connection, as v1's map of client ID ⇒ info.
    const presence = (await evaluate(page, diagnostics, 'presence', 'window.__subs["public:chat"].presence()')) as { data: Record<string, { user: string; client: string }> };
    assert.deepEqual([presence.data[client]?.user, presence.data[client]?.client], ['alice', client]);

    await apiPublish(env.srv, '$private', { secret: 'only signed subscribers' });
    await waitState(page, diagnostics, 'the private publication', 'window.__v1.subs["$private"].messages.length >= 1');
    assert.deepEqual((await messages(page, '$private')).map((m) => m.data), [{ secret: 'only signed subscribers' }]);

    assert.deepEqual(await page.evaluate('window.__v1.errors'), []);
    assert.equal(env.srv.app.node.hub.numClients, 1);
    assert.deepEqual(env.srv.errors, [], 'Rotor logged no errors');
  });
});

// The v1 client hands `transports` to SockJS as its whitelist, so these never try a websocket.
for (const forced of ['xhr-streaming', 'xhr-polling']) {
  test(`v1 client over SockJS forced to ${forced}: connect, subscribe, receive an API publication`, async () => {
    await withEnv(async (env) => {
      const { page, diagnostics } = await openPage(env, { user: 'bob', transports: [forced], channels: ['public:chat'] });
      await waitState(page, diagnostics, 'connected and subscribed', 'window.__v1.connected !== null && window.__v1.subs["public:chat"].subscribed !== null');
      assert.equal(((await page.evaluate('window.__v1.connected')) as { transport: string }).transport, forced);

      await apiPublish(env.srv, 'public:chat', { over: forced });
      await waitState(page, diagnostics, 'the API publication', 'window.__v1.subs["public:chat"].messages.length >= 1');
      assert.deepEqual((await messages(page, 'public:chat')).map((m) => m.data), [{ over: forced }]);
      assert.deepEqual(await page.evaluate('window.__v1.errors'), []);
      assert.equal(env.srv.app.node.hub.numClients, 1);
      assert.deepEqual(env.srv.errors, [], 'Rotor logged no errors');
    });
  });
}

test('v1 client with a bad token: disconnected with "invalid token", told not to reconnect', async () => {
  await withEnv(async (env) => {
    const { page, diagnostics } = await openPage(env, { user: 'mallory', tokenSecret: 'not-the-secret', channels: ['public:chat'] });
    await waitState(page, diagnostics, 'the disconnect', 'window.__v1.disconnected !== null && window.__v1.transportCloses.length >= 1');
    assert.deepEqual(await page.evaluate('window.__v1.disconnected'), { reason: 'invalid token', reconnect: false });
    assert.equal(await page.evaluate('window.__v1.connected'), null, 'never connected');
    // The client's reconnect timer runs only while `_reconnect` is true; the close also said no.
    assert.equal(await page.evaluate('window.__centrifuge._reconnect'), false);
    assert.equal(((await page.evaluate('window.__v1.transportCloses[0]')) as { reconnect: boolean }).reconnect, false);
    assert.equal(await page.evaluate('window.__centrifuge.isDisconnected()'), true);
  });
});

test('an origin not in client.allowed_origins cannot use SockJS (info or websocket)', async () => {
  await withEnv(async (env) => {
    const info = (origin: string) => fetch(`${env.srv.httpUrl}/connection/info`, { headers: { Origin: origin } });
    const allowed = await info(env.origin);
    assert.equal(allowed.status, 200, 'the page origin is served');
    assert.equal(((await allowed.json()) as { websocket: boolean }).websocket, true);
    assert.equal((await info('http://evil.example')).status, 403);

    // A SockJS websocket session from the other origin is refused at the upgrade.
    const ws = new WebSocket(`${env.srv.httpUrl.replace('http', 'ws')}/connection/000/evilsess/websocket`, { origin: 'http://evil.example' });
    const status = await new Promise<number | string>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve('opened'));
      ws.on('error', (e) => resolve(`error: ${e.message}`));
    });
    ws.terminate();
    assert.equal(status, 403);
    assert.equal(env.srv.app.node.hub.numClients, 0);
  });
});
