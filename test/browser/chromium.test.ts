/**
 * A real browser (Debian's headless Chromium, driven by playwright-core) loads a page from a
 * local origin of its own, which loads the SDK's browser build and receives publications from
 * Rotor — a different origin — over websocket, http_stream and sse (spec §8.1–§8.5). This is
 * what CORS, preflights, `text/event-stream` and fetch streaming have to get right for browsers.
 * The page origin is listed in `client.allowed_origins`; a page from an origin that is not
 * cannot connect.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { connToken, type TestServer } from '../helpers/server.js';
import { withKit, type Kit } from '../helpers/transport-kit.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const BROWSER_WAIT_MS = 15_000;

const PAGE = readFileSync(fileURLToPath(new URL('./page.html', import.meta.url)));
const SDK = readFileSync(fileURLToPath(new URL('../../node_modules/centrifuge/dist/centrifuge.js', import.meta.url)));

/** Serves the page and the SDK bundle from its own origin (http://127.0.0.1:<port>). */
async function startStatic(): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/page.html') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(PAGE);
    } else if (path === '/centrifuge.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' });
      res.end(SDK);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function stopStatic(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

const CONFIG = {
  http_stream: { enabled: true },
  sse: { enabled: true },
  channel: { namespaces: [{ name: 'chat', allow_subscribe_for_client: true }] },
};

type Transport = 'websocket' | 'http_stream' | 'sse';

function endpointOf(srv: TestServer, kit: Kit, t: Transport): string {
  return t === 'websocket' ? srv.wsUrl : kit.endpoint(t);
}

/** Launches Chromium (closed by the kit) and opens the page for `transports`. */
async function openPage(srv: TestServer, kit: Kit, origin: string, transports: Transport[], channel: string): Promise<{ page: Page; diagnostics: string[] }> {
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: BROWSER_WAIT_MS });
  kit.onCleanup(() => browser.close());
  const page = await browser.newPage();
  const diagnostics: string[] = [];
  page.on('console', (m) => diagnostics.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => diagnostics.push(`pageerror: ${e.message}`));
  const q = new URLSearchParams({
    transports: JSON.stringify(transports.map((t) => ({ transport: t, endpoint: endpointOf(srv, kit, t) }))),
    emulation: kit.endpoint('emulation'),
    token: await connToken('browser-user'),
    channel,
  });
  await page.goto(`${origin}/page.html?${q.toString()}`, { timeout: BROWSER_WAIT_MS });
  return { page, diagnostics };
}

/** Waits for a condition on the page's `__rotor` state; fails with the page's state and console. */
async function waitState(page: Page, diagnostics: string[], what: string, fn: string): Promise<void> {
  try {
    await page.waitForFunction(fn, undefined, { timeout: BROWSER_WAIT_MS, polling: 50 });
  } catch (e) {
    const state = await page.evaluate('JSON.stringify(window.__rotor)').catch(() => '(unavailable)');
    throw new Error(`${what}: ${(e as Error).message}\npage state: ${String(state)}\n${diagnostics.join('\n')}`);
  }
}

for (const transport of ['websocket', 'http_stream', 'sse'] as const) {
  test(`Chromium: the SDK browser build receives publications over ${transport}`, async () => {
    const stat = await startStatic();
    try {
      await withKit({ ...CONFIG, client: { allowed_origins: [stat.origin] } }, async (srv, kit) => {
        const { page, diagnostics } = await openPage(srv, kit, stat.origin, [transport], 'chat:browser');
        await waitState(page, diagnostics, 'connected and subscribed', 'window.__rotor.connected !== null && window.__rotor.subscribed !== null');
        const connected = (await page.evaluate('window.__rotor.connected')) as { transport: string };
        assert.equal(connected.transport, transport);

        for (const n of [1, 2]) {
          const r = await srv.api('publish', { channel: 'chat:browser', data: { n, text: `héllo ${transport}` } });
          assert.equal(r.status, 200);
        }
        await waitState(page, diagnostics, 'two publications', 'window.__rotor.publications.length >= 2');
        const pubs = await page.evaluate('window.__rotor.publications');
        assert.deepEqual(pubs, [
          { n: 1, text: `héllo ${transport}` },
          { n: 2, text: `héllo ${transport}` },
        ]);
        const errors = await page.evaluate('window.__rotor.errors');
        assert.deepEqual(errors, [], 'the SDK reported no errors');
        assert.equal(srv.app.node.hub.numClients, 1);
      });
    } finally {
      await stopStatic(stat.server);
    }
  });
}

test('Chromium: a page whose origin is not in client.allowed_origins cannot connect over any transport', async () => {
  const stat = await startStatic();
  try {
    await withKit({ ...CONFIG, client: { allowed_origins: ['http://some-other.example'] } }, async (srv, kit) => {
      const { page, diagnostics } = await openPage(srv, kit, stat.origin, ['websocket', 'http_stream', 'sse'], 'chat:browser');
      // The SDK tries every transport in turn and reports a transport error for each failure.
      await waitState(page, diagnostics, 'transport errors for all three transports', 'window.__rotor.errors.filter((e) => e.type === "transport").length >= 3');
      assert.equal(await page.evaluate('window.__rotor.connected'), null);
      assert.equal(srv.app.node.hub.numClients, 0, 'no browser connection was accepted');
    });
  } finally {
    await stopStatic(stat.server);
  }
});
