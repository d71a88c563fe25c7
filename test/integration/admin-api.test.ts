/**
 * The admin endpoints (`admin.enabled`) on a real server: init, login with the password (form,
 * multipart or JSON) for a session token, the server API through `/admin/api` with that token (a publish that
 * reaches an SDK subscriber), and the bad input: no token, a forged or expired one, an oversized
 * request, a body that is not JSON, an unknown method, 50 wrong passwords from one address
 * (throttled, and the right one refused meanwhile), and insecure mode.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../helpers/server.js';
import { SdkPool, within } from '../helpers/sdk.js';
import { connToken } from '../helpers/server.js';
import { AdminTokens } from '../../src/admin/session-token.js';
import { ADMIN_MAX_BODY_BYTES } from '../../src/admin/http.js';
import { MAX_FAILURES } from '../../src/admin/login-throttle.js';
import type { ConfigInput } from '../../src/config/schema.js';

const ADMIN = { enabled: true, password: 'admin-password', secret: 'admin-secret' };

test('admin: login for a token, the API with it, and every way in refused without it', async () => {
  const srv = await startServer({ admin: ADMIN, channel: { without_namespace: { allow_subscribe_for_client: true } } } as ConfigInput);
  const sdk = new SdkPool(srv);
  const url = (p: string) => `${srv.httpUrl}/admin/${p}`;
  const api = (body: string, token?: string) =>
    fetch(url('api'), { method: 'POST', headers: { 'Content-Type': 'application/json', ...(token !== undefined ? { Authorization: `token ${token}` } : {}) }, body });
  try {
    assert.deepEqual(await (await fetch(url('init'))).json(), { insecure: false, edition: 'oss', authenticated: false });
    const wrong = await fetch(url('auth'), { method: 'POST', body: new URLSearchParams({ password: 'nope' }) });
    assert.equal(wrong.status, 400);
    const ok = await fetch(url('auth'), { method: 'POST', body: new URLSearchParams({ password: ADMIN.password }) });
    assert.equal(ok.status, 200);
    const { token } = (await ok.json()) as { token: string };
    const viaJson = await fetch(url('auth'), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ password: ADMIN.password }) });
    assert.equal(viaJson.status, 200);
    // Centrifugo's own console posts multipart/form-data (fetch with a FormData body does too).
    const form = new FormData();
    form.set('password', ADMIN.password);
    const viaMultipart = await fetch(url('auth'), { method: 'POST', body: form });
    assert.equal(viaMultipart.status, 200);
    assert.equal(typeof ((await viaMultipart.json()) as { token?: unknown }).token, 'string');
    assert.deepEqual(await (await fetch(url('init'), { headers: { Authorization: `token ${token}` } })).json(), { insecure: false, edition: 'oss', authenticated: true });

    // The API with the token: a publish reaches a subscriber.
    const c = sdk.client({ token: await connToken('alice') });
    await within(c.connect(), 'connected');
    const s = await within(c.subscribe('news'), 'subscribed');
    const pub = s.events.next('publication');
    const r = await api(JSON.stringify({ method: 'publish', params: { channel: 'news', data: { from: 'admin' } } }), token);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { result: {} });
    assert.deepEqual((await within(pub, 'the publication')).data, { from: 'admin' });
    const info = (await (await api(JSON.stringify({ method: 'info', params: {} }), token)).json()) as { result: { nodes: unknown[] } };
    assert.equal(info.result.nodes.length, 1);

    // Refused: no token, a forged one, one of another secret, an expired one.
    assert.equal((await api('{"method":"info"}')).status, 401);
    assert.equal((await api('{"method":"info"}', `${token.slice(0, -2)}xx`)).status, 401);
    assert.equal((await api('{"method":"info"}', new AdminTokens('another-secret').issue())).status, 401);
    assert.equal((await api('{"method":"info"}', new AdminTokens(ADMIN.secret).issue(Math.floor(Date.now() / 1000) - 2 * 86400))).status, 401);
    // Bad bodies and methods.
    assert.equal((await api('x'.repeat(ADMIN_MAX_BODY_BYTES + 1), token)).status, 413);
    assert.equal((await api('not json', token)).status, 400);
    assert.deepEqual(await (await api('{"method":"nope"}', token)).json(), { error: { code: 104, message: 'not found' } });
    assert.deepEqual(await (await api('{"method":"publish","params":{"channel":""}}', token)).json(), { error: { code: 107, message: 'bad request' } });

    // 50 wrong passwords from one address: throttled after MAX_FAILURES, the right one refused too.
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++) statuses.push((await fetch(url('auth'), { method: 'POST', body: new URLSearchParams({ password: `guess-${i}` }) })).status);
    // (The wrong password above was forgotten when the right one came.)
    assert.deepEqual(statuses.slice(0, MAX_FAILURES), Array(MAX_FAILURES).fill(400));
    assert.deepEqual(statuses.slice(MAX_FAILURES), Array(50 - MAX_FAILURES).fill(429));
    const blocked = await fetch(url('auth'), { method: 'POST', body: new URLSearchParams({ password: ADMIN.password }) });
    assert.equal(blocked.status, 429);
    assert.ok(Number(blocked.headers.get('retry-after')) > 0);
  } finally {
    sdk.closeAll();
    await srv.stop();
  }
});

test('admin: insecure mode asks for nothing, and says so at start; admin off serves nothing', async () => {
  const srv = await startServer({ admin: { enabled: true, insecure: true } } as ConfigInput);
  try {
    assert.ok(srv.warnings.some((a) => String((a as unknown[])[0]).startsWith('INSECURE admin mode (admin.insecure)')), JSON.stringify(srv.warnings));
    assert.deepEqual(await (await fetch(`${srv.httpUrl}/admin/init`)).json(), { insecure: true, edition: 'oss', authenticated: true });
    const r = await fetch(`${srv.httpUrl}/admin/api`, { method: 'POST', body: '{"method":"info","params":{}}' });
    assert.equal(r.status, 200);
  } finally {
    await srv.stop();
  }
  const off = await startServer({});
  try {
    assert.equal((await fetch(`${off.httpUrl}/admin/init`)).status, 404);
  } finally {
    await off.stop();
  }
});
