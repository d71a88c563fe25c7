/**
 * Secrets never reach the log: a real server process at `trace` level, configured with a secret
 * in every place one goes (token HMAC key, API key, admin password and secret, a proxy's
 * credentials and static headers, lifecycle event headers), driven through what logs the most —
 * connects with a valid and a forged token, API calls with the right and a wrong key, admin logins
 * with a wrong and the right password and an admin API call, a connect proxy whose backend is
 * down, a client disconnect — then stopped. No line of its output holds any of the secrets, nor
 * the token a client sent, nor the admin token the server issued.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CliProcess, freePort, tempDir } from '../helpers/server-process.js';
import { RawClient } from '../helpers/raw-ws.js';
import { connToken } from '../helpers/server.js';

const SECRETS = {
  hmac: 'hmac-secret-4f1c9a7e',
  apiKey: 'api-key-7d2b8c6f',
  adminPassword: 'admin-password-9e3a1b5d',
  adminSecret: 'admin-secret-2c8f4e6a',
  proxyCredential: 'proxy-credential-5b7d9f1c',
  proxyHeader: 'proxy-static-header-3a6c8e2f',
  lifecycleHeader: 'lifecycle-header-8f2d4b6a',
};

test('logs at trace level hold no secret from the config and no client token', async () => {
  const tmp = tempDir();
  const port = await freePort();
  const deadBackend = await freePort();
  const config = {
    http_server: { address: '127.0.0.1', port },
    log: { level: 'trace' },
    client: {
      token: { hmac_secret_key: SECRETS.hmac },
      allowed_origins: ['*'],
      proxy: {
        connect: {
          enabled: true,
          endpoint: `http://127.0.0.1:${deadBackend}/connect`,
          timeout: '1s',
          http: { static_headers: { Authorization: `Bearer ${SECRETS.proxyHeader}` } },
          grpc: { credentials_key: 'x-key', credentials_value: SECRETS.proxyCredential },
        },
      },
    },
    http_api: { key: SECRETS.apiKey },
    admin: { enabled: true, password: SECRETS.adminPassword, secret: SECRETS.adminSecret },
    lifecycle_events: { endpoint: `http://127.0.0.1:${deadBackend}/events`, http: { static_headers: { Authorization: SECRETS.lifecycleHeader } } },
    channel: { without_namespace: { allow_subscribe_for_client: true } },
  };
  const proc = CliProcess.start(['-c', tmp.file('config.json', config)]);
  const token = await connToken('alice', {}, undefined, SECRETS.hmac);
  let adminToken = '';
  try {
    await proc.waitForLine((l) => l.text.includes(String(port)), `the server to listen on ${port}`);
    const api = (key: string) =>
      fetch(`http://127.0.0.1:${port}/api/publish`, { method: 'POST', headers: { 'X-API-Key': key }, body: JSON.stringify({ channel: 'room', data: {} }) });
    assert.equal((await api('wrong-key')).status, 401);
    assert.equal((await api(SECRETS.apiKey)).status, 200);

    const login = (password: string) => fetch(`http://127.0.0.1:${port}/admin/auth`, { method: 'POST', body: new URLSearchParams({ password }) });
    assert.equal((await login(`${SECRETS.adminPassword}-wrong`)).status, 400);
    const granted = await login(SECRETS.adminPassword);
    assert.equal(granted.status, 200);
    adminToken = ((await granted.json()) as { token: string }).token;
    const info = await fetch(`http://127.0.0.1:${port}/admin/api`, {
      method: 'POST',
      headers: { Authorization: `token ${adminToken}` },
      body: JSON.stringify({ method: 'info', params: {} }),
    });
    assert.equal(info.status, 200);
    assert.ok('result' in ((await info.json()) as object), 'the admin API answered with the token');

    const good = await RawClient.open(`ws://127.0.0.1:${port}/connection/websocket`);
    assert.equal(typeof (await good.connect(token)).connect?.client, 'string');
    good.close();
    const forged = await RawClient.open(`ws://127.0.0.1:${port}/connection/websocket`);
    const forgedToken = `${token.slice(0, -4)}AAAA`;
    forged.send({ id: 1, connect: { token: forgedToken } });
    await forged.closed;
    // No token: the connect proxy is asked, and its backend is down (error 100, logged).
    const proxied = await RawClient.open(`ws://127.0.0.1:${port}/connection/websocket`);
    proxied.send({ id: 1, connect: {} });
    assert.equal((await proxied.next((m: { id?: number }) => m.id === 1)).error?.code, 100);
    await proc.waitForLine((l) => /connect proxy .* failed/.test(l.text), 'the proxy failure line');
    proxied.close();
  } finally {
    proc.signal('SIGTERM');
    await proc.exited;
    tmp.cleanup();
  }
  assert.notEqual(adminToken, '', 'an admin token was issued');
  // The admin token's signature is its secret part (its first part is an expiry anyone can read).
  const leaked = [...Object.values(SECRETS), token, token.split('.')[2]!, adminToken, adminToken.split('.')[1]!].filter((s) => proc.output.includes(s));
  assert.deepEqual(leaked, [], `secrets in the log:\n${proc.output}`);
  assert.ok(proc.lines.length > 5, 'the server did log (at trace level)');
});
