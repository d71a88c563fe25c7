/**
 * `swagger.enabled`: Swagger UI served by Rotor (the page, its files, no CDN) and the OpenAPI
 * document of the server API, held to the method table and to api.proto: every method has its
 * path, and each path's request and answer are the method's gRPC request and response messages
 * with the HTTP API's JSON names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../helpers/server.js';
import { METHODS } from '../../src/api/methods.js';
import { API_RPCS } from '../../src/api/grpc/schema.js';
import type { ConfigInput } from '../../src/config/schema.js';

test('swagger: the page and its files from Rotor, and an OpenAPI document matching the method table', async () => {
  const off = await startServer({});
  try {
    assert.equal((await fetch(`${off.httpUrl}/swagger/`)).status, 404);
  } finally {
    await off.stop();
  }
  const srv = await startServer({ swagger: { enabled: true } } as ConfigInput);
  const base = `${srv.httpUrl}/swagger`;
  try {
    const bare = await fetch(base, { redirect: 'manual' });
    assert.deepEqual([bare.status, bare.headers.get('location')], [301, '/swagger/']);
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const html = await page.text();
    assert.ok(!/https?:\/\//.test(html), 'the page loads nothing from elsewhere');
    for (const src of [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!)) {
      const r = await fetch(`${base}/${src}`);
      assert.equal(r.status, 200, src);
      assert.ok((await r.arrayBuffer()).byteLength > 0, src);
    }
    assert.equal((await fetch(`${base}/../../etc/passwd`)).status, 404);
    assert.equal((await fetch(`${base}/package.json`)).status, 404);

    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as any;
    assert.equal(doc.openapi, '3.0.3');
    assert.deepEqual(Object.keys(doc.paths).sort(), Object.keys(METHODS).map((m) => `/api/${m}`).sort());
    for (const [method] of Object.entries(METHODS)) {
      const rpc = API_RPCS.find((r) => r.method === method)!;
      const op = doc.paths[`/api/${method}`].post;
      assert.equal(op.requestBody.content['application/json'].schema.$ref, `#/components/schemas/${rpc.request.name}`);
      assert.equal(op.responses['200'].content['application/json'].schema.$ref, `#/components/schemas/${rpc.response.name}`);
      assert.deepEqual(Object.keys(doc.components.schemas[rpc.request.name].properties), rpc.request.fieldsArray.map((f) => f.name), method);
    }
    const publish = doc.components.schemas.PublishRequest.properties;
    assert.deepEqual([publish.channel.type, publish.skip_history.type, publish.tags.additionalProperties.type, publish.data.type], ['string', 'boolean', 'string', undefined]);
    assert.deepEqual(doc.components.securitySchemes.apiKey, { type: 'apiKey', in: 'header', name: 'X-API-Key' });
  } finally {
    await srv.stop();
  }
});
