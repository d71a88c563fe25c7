/**
 * `http_server.internal_port`: the API, admin, Swagger, metrics, health and debug endpoints move
 * to the internal listener and are not served on the external one; `http_api.external` and
 * `admin.external` keep theirs on the external port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { API_KEY, startServer } from '../helpers/server.js';
import type { ConfigInput } from '../../src/config/schema.js';

const ENDPOINTS = ['/health', '/health/live', '/metrics', '/debug/pprof/', '/admin/init', '/swagger/'];

test('internal_port: operator endpoints live on the internal listener only; the external flags bring the API and admin back', async () => {
  const srv = await startServer({
    http_server: { internal_port: '0' },
    prometheus: { enabled: true },
    debug: { enabled: true },
    admin: { enabled: true, insecure: true },
    swagger: { enabled: true },
  } as ConfigInput);
  try {
    const ext = `http://127.0.0.1:${srv.address.port}`;
    const int = `http://127.0.0.1:${srv.address.internalPort}`;
    assert.notEqual(srv.address.port, srv.address.internalPort);
    for (const p of ENDPOINTS) {
      assert.equal((await fetch(`${int}${p}`)).status, 200, `${p} on the internal port`);
      assert.equal((await fetch(`${ext}${p}`)).status, 404, `${p} not on the external port`);
    }
    const publish = (base: string) => fetch(`${base}/api/info`, { method: 'POST', headers: { 'X-API-Key': API_KEY }, body: '{}' });
    assert.equal((await publish(int)).status, 200);
    assert.equal((await publish(ext)).status, 404);
  } finally {
    await srv.stop();
  }
  const moved = await startServer({ http_server: { internal_port: '0' }, http_api: { external: true }, admin: { enabled: true, insecure: true, external: true }, swagger: { enabled: true } } as ConfigInput);
  try {
    const ext = `http://127.0.0.1:${moved.address.port}`;
    const int = `http://127.0.0.1:${moved.address.internalPort}`;
    assert.equal((await fetch(`${ext}/api/info`, { method: 'POST', headers: { 'X-API-Key': API_KEY }, body: '{}' })).status, 200);
    assert.equal((await fetch(`${ext}/admin/init`)).status, 200);
    // Swagger follows the API, so "Try it out" (the document's server is '/') reaches it.
    assert.equal((await fetch(`${ext}/swagger/`)).status, 200);
    assert.equal((await fetch(`${int}/swagger/`)).status, 404);
  } finally {
    await moved.stop();
  }
});
