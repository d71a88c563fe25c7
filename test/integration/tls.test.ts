/**
 * TLS on the listeners (`http_server.tls`, `internal_tls`, `tls_external`, mutual TLS through
 * `client_ca_pem`), over real sockets: WSS clients, HTTPS API calls, and the startup errors for
 * unusable certificate settings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { request as plainRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { App } from '../../src/app/app.js';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import type { Logger } from '../../src/util/logger.js';
import { API_KEY, BASE_CONFIG, connToken } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';
import { within } from '../helpers/error-paths.js';
import WebSocket from 'ws';
import { Centrifuge } from 'centrifuge';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/tls/${name}`, import.meta.url));
const CA = readFileSync(fixture('server.crt'), 'utf8');
const noop = (): void => {};
const log: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop };
const CHAT = { channel: { namespaces: [{ name: 'chat', allow_subscribe_for_client: true }] } } satisfies ConfigInput;
const TLS = { enabled: true, cert_pem: fixture('server.crt'), key_pem: fixture('server.key') };

function appWith(extra: ConfigInput): Promise<App> {
  const base = BASE_CONFIG as Record<string, unknown>;
  const raw = { ...base, ...CHAT, ...extra, http_server: { port: 0, ...(extra.http_server ?? {}) }, client: { ...(base.client as object), allowed_origins: [] } };
  return App.create(configSchema.parse(raw), log);
}

interface Answer {
  status: number;
  body: string;
}

type Requester = typeof request | typeof plainRequest;

/** POST with the API key; `options` adds TLS settings (CA, client certificate) for HTTPS. */
function post(send: Requester, port: number, path: string, body: string, options: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = send({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'X-API-Key': API_KEY }, ...options }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** POST over HTTPS trusting the test CA; extra TLS options for client certificates. */
const httpsPost = (port: number, path: string, body: string, tls: Record<string, string> = {}): Promise<Answer> =>
  post(request, port, path, body, { ca: CA, servername: 'localhost', ...tls });
const plainPost = (port: number, path: string, body: string): Promise<Answer> => post(plainRequest, port, path, body);

test('http_server.tls: WSS clients connect and receive what the HTTPS API publishes; plain HTTP is refused', async () => {
  const app = await appWith({ http_server: { tls: TLS } });
  const { port } = await app.start();
  try {
    const c = await RawClient.open(`wss://localhost:${port}/connection/websocket`, { ca: CA });
    assert.equal(typeof (await c.connect(await connToken('u1'))).connect?.client, 'string');
    c.send({ id: 2, subscribe: { channel: 'chat:tls' } });
    await c.next((m) => m.id === 2 && m.subscribe !== undefined);
    const r = await httpsPost(port, '/api/publish', JSON.stringify({ channel: 'chat:tls', data: { over: 'tls' } }));
    assert.deepEqual([r.status, JSON.parse(r.body)], [200, { result: {} }]);
    assert.deepEqual((await c.next((m) => m.push?.pub !== undefined)).push.pub.data, { over: 'tls' });
    c.close();
    await assert.rejects(plainPost(port, '/api/publish', '{}'), 'a plain HTTP request to the TLS port gets no HTTP answer');
    await assert.rejects(RawClient.open(`wss://localhost:${port}/connection/websocket`), /self-signed|certificate/, 'an untrusting client refuses the certificate');
  } finally {
    await app.stop(2000);
  }
});

test('the official centrifuge SDK connects over wss:// and receives a publication', async () => {
  const app = await appWith({ http_server: { tls: TLS } });
  const { port } = await app.start();
  // The SDK takes a WebSocket class; this one trusts the test CA, as a browser would trust a real one.
  class TrustingWebSocket extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { ca: CA });
    }
  }
  const client = new Centrifuge(`wss://localhost:${port}/connection/websocket`, { websocket: TrustingWebSocket, token: await connToken('sdk-user') });
  try {
    const connected = new Promise<{ transport: string }>((resolve) => client.once('connected', resolve));
    client.connect();
    assert.equal((await within(connected, 5000, 'connected')).transport, 'websocket');
    const sub = client.newSubscription('chat:sdk-tls');
    const publication = new Promise<{ data: unknown }>((resolve) => sub.once('publication', resolve));
    const subscribed = new Promise<void>((resolve) => sub.once('subscribed', () => resolve()));
    sub.subscribe();
    await within(subscribed, 5000, 'subscribed');
    assert.equal((await httpsPost(port, '/api/publish', JSON.stringify({ channel: 'chat:sdk-tls', data: { secure: true } }))).status, 200);
    assert.deepEqual((await within(publication, 5000, 'the publication')).data, { secure: true });
  } finally {
    client.disconnect();
    await app.stop(2000);
  }
});

test('PEM values may be raw PEM text or base64-encoded PEM as well as file paths', async () => {
  const cert = readFileSync(fixture('server.crt'), 'utf8');
  const key = readFileSync(fixture('server.key'), 'utf8');
  for (const [what, c, k] of [
    ['raw PEM', cert, key],
    ['base64 PEM', Buffer.from(cert).toString('base64'), Buffer.from(key).toString('base64')],
  ] as const) {
    const app = await appWith({ http_server: { tls: { enabled: true, cert_pem: c, key_pem: k } } });
    const { port } = await app.start();
    try {
      assert.equal((await httpsPost(port, '/api/info', '{}')).status, 200, what);
    } finally {
      await app.stop(2000);
    }
  }
});

test('tls_external: the external port speaks TLS, the internal port plain HTTP', async () => {
  const app = await appWith({ http_server: { tls: TLS, tls_external: true, internal_port: '0' } });
  const { port, internalPort } = await app.start();
  try {
    assert.notEqual(port, internalPort);
    assert.equal((await plainPost(internalPort, '/api/info', '{}')).status, 200);
    const c = await RawClient.open(`wss://localhost:${port}/connection/websocket`, { ca: CA });
    assert.equal(typeof (await c.connect(await connToken('u1'))).connect?.client, 'string');
    c.close();
  } finally {
    await app.stop(2000);
  }
});

test('client_ca_pem: mutual TLS admits only clients with a certificate the CA signed', async () => {
  const app = await appWith({ http_server: { tls: { ...TLS, client_ca_pem: fixture('client-ca.crt') } } });
  const { port } = await app.start();
  try {
    await assert.rejects(httpsPost(port, '/api/info', '{}'), 'no client certificate: handshake refused');
    const withCert = { cert: readFileSync(fixture('client.crt'), 'utf8'), key: readFileSync(fixture('client.key'), 'utf8') };
    assert.equal((await httpsPost(port, '/api/info', '{}', withCert)).status, 200);
    // A certificate the CA did not sign (the server's own) is refused too.
    const stranger = { cert: readFileSync(fixture('server.crt'), 'utf8'), key: readFileSync(fixture('server.key'), 'utf8') };
    await assert.rejects(httpsPost(port, '/api/info', '{}', stranger));
  } finally {
    await app.stop(2000);
  }
});

test('unusable TLS settings stop startup with an error naming the key', async () => {
  await assert.rejects(appWith({ http_server: { tls: { enabled: true, key_pem: fixture('server.key') } } }), /http_server\.tls\.cert_pem: required/);
  await assert.rejects(appWith({ http_server: { tls: { ...TLS, cert_pem: '/nonexistent/cert.pem' } } }), /http_server\.tls\.cert_pem: neither PEM text/);
  await assert.rejects(appWith({ http_server: { tls: { ...TLS, key_pem: fixture('client.key') } } }), /http_server\.tls: cannot use cert_pem\/key_pem/);
  await assert.rejects(appWith({ http_server: { internal_tls: { enabled: true } } }), /http_server\.internal_tls\.cert_pem: required/);
});
