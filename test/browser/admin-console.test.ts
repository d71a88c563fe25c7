/**
 * The admin console in a real browser (Debian's headless Chromium through playwright-core),
 * served by Rotor from dist/admin-ui: a wrong password refused, login, the status page showing
 * this node and a client count that follows an SDK client connecting, a publish from the actions
 * form reaching an SDK subscriber, the JSON editor refusing what is not an object, a channel name
 * holding markup shown as text (not run), the watch page showing a publication sent through the
 * API and a join (payload markup shown as text), the theme switch, and a phone-width layout
 * without horizontal scrolling; then two nodes in one process, both listed, and watch on one seeing
 * a publication, a join and a user's connect made through the other. Screenshots go to test-artifacts/admin-console/ for a person to look at.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { apiOk, SdkPool, within } from '../helpers/sdk.js';
import { API_KEY, connToken, startServer, type TestServer } from '../helpers/server.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { METHODS } from '../../src/api/methods.js';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WAIT_MS = 15_000;
const ARTIFACTS = 'test-artifacts/admin-console';
const PASSWORD = 'console-password';
const CHAT = { name: 'chat', allow_subscribe_for_client: true, join_leave: true };

let browser: Browser;
let srv: TestServer;
let sdk: SdkPool;
before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  srv = await startServer({
    admin: { enabled: true, password: PASSWORD, secret: 'console-secret' },
    // Message rates come from the nodes' metrics snapshots, taken every second here.
    prometheus: { enabled: true },
    node: { info_metrics_aggregate_interval: '1s' },
    channel: { namespaces: [CHAT] },
  } as ConfigInput);
  sdk = new SdkPool(srv);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: WAIT_MS });
});
after(async () => {
  await browser?.close();
  sdk?.closeAll();
  await srv?.stop();
});

async function openConsole(width = 1200): Promise<{ page: Page; problems: string[]; requests: string[] }> {
  const page = await browser.newPage({ viewport: { width, height: 800 } });
  const problems: string[] = [];
  const requests: string[] = [];
  // Everything the page loads or calls comes from Rotor's origin (no CDN), and nothing it sends
  // carries the server API key: the console works with its admin token only.
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(srv.httpUrl) && !url.startsWith('data:')) requests.push(`request to another origin: ${url}`);
    const sent = JSON.stringify(r.headers()) + (r.postData() ?? '');
    if (sent.includes(API_KEY) || /apikey/i.test(sent)) requests.push(`the API key in a request: ${url}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  await page.goto(`${srv.httpUrl}/`, { timeout: WAIT_MS });
  return { page, problems, requests };
}

async function logIn(page: Page, password = PASSWORD): Promise<void> {
  await page.fill('#password', password, { timeout: WAIT_MS });
  await page.click('#login');
}

/** Opens the watch page and starts watching; resolves once the server says the watch is in place. */
async function startWatch(page: Page, type: 'channel' | 'user', entity: string): Promise<void> {
  await page.click('a[href="#/watch"]');
  await page.selectOption('#watch-type', type, { timeout: WAIT_MS });
  await page.fill('#watch-entity', entity);
  await page.click('#watch-start');
  await page.locator('#watch-status[data-state="watching"]').waitFor({ timeout: WAIT_MS });
}

/** The watch list's entry of `type` holding `text`, once it is there. */
function watchEntry(page: Page, type: string, text: string) {
  return page.locator(`#watch-events li[data-type="${type}"]`, { hasText: text }).first();
}

test('console: login, status, actions, channels, theme and a phone-width layout', async () => {
  const { page, problems, requests } = await openConsole();
  // A wrong password is refused on the page.
  await logIn(page, 'wrong');
  await page.locator('#login-problem', { hasText: 'Wrong password.' }).waitFor({ timeout: WAIT_MS });
  await page.screenshot({ path: `${ARTIFACTS}/login-refused.png` });
  // The browser reports the refused login (400) on its console; that one is expected.
  problems.length = 0;
  await logIn(page);

  // Status: this node, and a client count that follows an SDK client.
  const name = (await apiOk(srv, 'info', {})).nodes[0].name as string;
  const clientsCell = `tr[data-node="${name}"] td[data-field="clients"]`;
  await page.waitForSelector(clientsCell, { timeout: WAIT_MS });
  assert.equal(await page.textContent(clientsCell), '0');
  const alice = sdk.client({ token: await connToken('alice') });
  await within(alice.connect(), 'alice connected');
  await page.locator(clientsCell, { hasText: /^1$/ }).waitFor({ timeout: WAIT_MS });
  const field = (f: string) => page.textContent(`tr[data-node="${name}"] td[data-field="${f}"]`);
  const info = (await apiOk(srv, 'info', {})).nodes[0];
  assert.equal(await field('version'), info.version);
  assert.match((await field('uptime')) ?? '', /^\d+m \d+s$|^\d+h \d+m$|^\d+d \d+h$/);
  assert.equal(await field('users'), '1');
  assert.equal(await field('subs'), '0');
  assert.equal(await field('channels'), '0');
  assert.match((await field('cpu')) ?? '', /^\d+\.\d %$/);
  assert.match((await field('rss')) ?? '', /^\d+(\.\d)? MiB$/);
  await page.screenshot({ path: `${ARTIFACTS}/status.png`, fullPage: true });

  // Actions: a publish from the form reaches a subscriber; the editor refuses a non-object.
  const sub = await within(alice.subscribe('chat:room'), 'subscribed');
  const got = sub.events.next('publication');
  await page.click('a[href="#/actions"]');
  await page.selectOption('#method', 'publish', { timeout: WAIT_MS });
  await page.fill('#params', '[1, 2]');
  assert.equal(await page.isDisabled('#run'), true, 'an array is not params');
  assert.equal(await page.textContent('.problem'), 'params must be a JSON object');
  await page.fill('#params', JSON.stringify({ channel: 'chat:room', data: { text: '<b>bold?</b>' } }));
  await page.click('#run');
  assert.deepEqual((await within(got, 'the publication from the console')).data, { text: '<b>bold?</b>' });
  await page.locator('#result.ok').waitFor({ timeout: WAIT_MS });
  assert.deepEqual(JSON.parse((await page.textContent('#result'))!), { result: {} });
  const methods = await page.$$eval('#method option', (os) => os.map((o) => o.getAttribute('value') ?? ''));
  // Every method of the server's table, no other: one added to the table must reach the console.
  assert.deepEqual(methods.sort(), Object.keys(METHODS).sort());
  await page.screenshot({ path: `${ARTIFACTS}/actions.png`, fullPage: true });

  // Status again: the message rate chart shows traffic. Publications go out every 200 ms until it
  // does, since a snapshot's rate covers one second and the page reads it every two.
  await page.click('a[href="#/"]');
  const rateChart = page.locator('canvas[aria-label="Messages sent per second"]');
  let traffic = true;
  const publishing = (async () => {
    for (let i = 0; traffic; i++) {
      await apiOk(srv, 'publish', { channel: 'chat:room', data: { tick: i } });
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  try {
    await page.locator('canvas[aria-label="Messages sent per second"][data-last]:not([data-last="0"])').waitFor({ timeout: WAIT_MS });
  } finally {
    traffic = false;
    await publishing;
  }
  assert.ok(Number(await rateChart.getAttribute('data-last')) > 0);
  await page.screenshot({ path: `${ARTIFACTS}/status-rates.png`, fullPage: true });

  // Channels: a name holding markup is shown as text and never runs.
  const markup = 'chat:<img src=x onerror="window.__xss=1">';
  await within(alice.subscribe(markup), 'subscribed to the markup channel');
  await page.click('a[href="#/channels"]');
  await page.locator('table.channels td', { hasText: markup }).waitFor({ timeout: WAIT_MS });
  // Filtered by pattern: only the channels it matches, with their client counts.
  await within(alice.subscribe('chat:other'), 'subscribed to chat:other');
  await page.fill('#pattern', 'chat:oth*');
  await page.click('form.filter button');
  await page.locator('table.channels td', { hasText: 'chat:other' }).waitFor({ timeout: WAIT_MS });
  assert.deepEqual(await page.$$eval('table.channels tbody tr', (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent))), [['chat:other', '1']]);
  await page.fill('#pattern', '*');
  await page.click('form.filter button');
  assert.equal(await page.evaluate(() => (globalThis as Record<string, unknown>)['__xss']), undefined);
  assert.equal(await page.$$eval('table.channels img', (imgs) => imgs.length), 0);
  await page.screenshot({ path: `${ARTIFACTS}/channels.png`, fullPage: true });

  // Watch: a publication through the API (markup in its data shown as text) and a join.
  await startWatch(page, 'channel', 'chat:room');
  const payload = '<img src=x onerror=window.__xss=2>';
  await apiOk(srv, 'publish', { channel: 'chat:room', data: { text: payload } });
  await watchEntry(page, 'publication', payload).waitFor({ timeout: WAIT_MS });
  const carol = sdk.client({ token: await connToken('carol') });
  await within(carol.connect(), 'carol connected');
  await within(carol.subscribe('chat:room'), 'carol subscribed');
  await watchEntry(page, 'join', 'carol').waitFor({ timeout: WAIT_MS });
  assert.equal(await page.evaluate(() => (globalThis as Record<string, unknown>)['__xss']), undefined);
  assert.equal(await page.$$eval('#watch-events img', (imgs) => imgs.length), 0);
  await page.screenshot({ path: `${ARTIFACTS}/watch.png`, fullPage: true });
  await page.click('#watch-start');
  await page.locator('#watch-status', { hasText: 'Stopped.' }).waitFor({ timeout: WAIT_MS });

  // Theme switch, on the watch page still open.
  const background = () => page.$eval('body', (b) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(b).backgroundColor);
  const before = await background();
  await page.click('#theme');
  const afterToggle = await background();
  assert.notEqual(afterToggle, before);
  await page.screenshot({ path: `${ARTIFACTS}/watch-other-theme.png`, fullPage: true });
  assert.deepEqual(problems, []);
  assert.deepEqual(requests, []);
  await page.close();

  // A phone's width: everything in one column, nothing wider than the screen.
  const phone = await openConsole(375);
  // The session token lives in the tab (sessionStorage): a new tab logs in again.
  await phone.page.screenshot({ path: `${ARTIFACTS}/login-phone.png` });
  await logIn(phone.page);
  await phone.page.waitForSelector(clientsCell, { timeout: WAIT_MS });
  const overflow = await phone.page.$eval('html', (h) => h.scrollWidth - (globalThis as unknown as { innerWidth: number }).innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
  await phone.page.screenshot({ path: `${ARTIFACTS}/status-phone.png`, fullPage: true });
  await startWatch(phone.page, 'channel', 'chat:room');
  await apiOk(srv, 'publish', { channel: 'chat:room', data: { text: 'a long line '.repeat(40) } });
  await watchEntry(phone.page, 'publication', 'a long line').waitFor({ timeout: WAIT_MS });
  const watchOverflow = await phone.page.$eval('html', (h) => h.scrollWidth - (globalThis as unknown as { innerWidth: number }).innerWidth);
  assert.ok(watchOverflow <= 0, `the watch page is ${watchOverflow}px wider than the screen`);
  await phone.page.screenshot({ path: `${ARTIFACTS}/watch-phone.png`, fullPage: true });
  await phone.page.close();
});

test('console: two nodes in one process are both listed, and watch on one sees what happens on the other', async () => {
  const { MemoryBus } = await import('../../src/engine/memory/broker.js');
  const bus = new MemoryBus();
  const config = { admin: { enabled: true, password: PASSWORD, secret: 'console-secret' }, node: { name: 'node-a' }, channel: { namespaces: [CHAT] } } as ConfigInput;
  const a = await startServer(config, { engine: bus.engine() });
  const b = await startServer({ ...config, node: { name: 'node-b' } } as ConfigInput, { engine: bus.engine() });
  const pool = new SdkPool(b);
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    await page.goto(`${a.httpUrl}/`, { timeout: WAIT_MS });
    await logIn(page);
    await page.locator('tr[data-node="node-b"]').waitFor({ timeout: WAIT_MS });
    await page.locator('tr[data-node="node-a"]').waitFor({ timeout: WAIT_MS });
    const bob = pool.client({ token: await connToken('bob') });
    await within(bob.connect(), 'bob connected to node b');
    await page.locator('tr[data-node="node-b"] td[data-field="clients"]', { hasText: /^1$/ }).waitFor({ timeout: WAIT_MS });
    await page.screenshot({ path: `${ARTIFACTS}/status-two-nodes.png`, fullPage: true });

    // Watch a channel on node A: a publication through node B's API and a join on node B.
    await startWatch(page, 'channel', 'chat:two');
    await apiOk(b, 'publish', { channel: 'chat:two', data: { via: 'node-b' } });
    await watchEntry(page, 'publication', 'node-b').waitFor({ timeout: WAIT_MS });
    await within(bob.subscribe('chat:two'), 'bob subscribed on node b');
    await watchEntry(page, 'join', 'bob').waitFor({ timeout: WAIT_MS });
    await page.screenshot({ path: `${ARTIFACTS}/watch-two-nodes-channel.png`, fullPage: true });
    await page.click('#watch-start');

    // Watch a user on node A: dave connects and subscribes on node B.
    await page.click('#watch-clear');
    await startWatch(page, 'user', 'dave');
    const dave = pool.client({ token: await connToken('dave') });
    await within(dave.connect(), 'dave connected to node b');
    await within(dave.subscribe('chat:two'), 'dave subscribed on node b');
    await watchEntry(page, 'connect', 'node-b').waitFor({ timeout: WAIT_MS });
    await watchEntry(page, 'subscribe', 'chat:two').waitFor({ timeout: WAIT_MS });
    dave.c.disconnect();
    await watchEntry(page, 'disconnect', 'dave').waitFor({ timeout: WAIT_MS });
    await page.screenshot({ path: `${ARTIFACTS}/watch-two-nodes-user.png`, fullPage: true });
    await page.close();
  } finally {
    pool.closeAll();
    await b.stop();
    await a.stop();
  }
});
