/**
 * Shared keep-alive pools (src/proxy/http-pools.ts) through real `HttpProxyCaller`s and a real
 * `node:http` backend: proxies on one origin share a pool and its connections while each keeps its
 * own path and timeout; other TLS options get another pool; the pool closes once, when its last
 * proxy is closed, and a proxy made afterwards opens a fresh one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { HttpPools } from '../../../src/proxy/http-pools.js';
import { HttpProxyCaller } from '../../../src/proxy/http-caller.js';
import type { ConnectProxyRequest } from '../../../src/proxy/types.js';

interface Backend {
  origin: string;
  /** Per request in arrival order: its path and the server-side socket it came over. */
  seen: { path: string; socket: Socket }[];
  /** Sockets the server saw close. */
  closed: Set<Socket>;
  close(): Promise<void>;
}

async function backend(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Backend> {
  const seen: Backend['seen'] = [];
  const closed = new Set<Socket>();
  const s = createServer((req, res) => {
    seen.push({ path: req.url ?? '', socket: req.socket });
    req.resume();
    req.on('end', () => handler(req, res));
  });
  s.on('connection', (sock: Socket) => sock.on('close', () => closed.add(sock)));
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  return { origin, seen, closed, close: () => new Promise((resolve) => { s.closeAllConnections(); s.close(() => resolve()); }) };
}

const request: ConnectProxyRequest = { client: 'c1', transport: 'websocket', protocol: 'json', encoding: 'json', name: '', version: '', channels: [] };
const none = new Map<string, string>();

/**
 * A turn of the event loop between calls. undici marks a connection free again in a microtask
 * after the answer's end, which the caller hears first; a call made in the same turn finds it
 * still busy and opens another. Between real clients' commands there is always a network round
 * trip.
 */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function caller(pools: HttpPools, endpoint: string, timeoutMs = 5_000, tls?: { servername: string }): HttpProxyCaller {
  return new HttpProxyCaller({ name: endpoint, endpoint, timeoutMs, staticHeaders: none, transforms: [], pools, ...(tls !== undefined ? { tls } : {}) });
}

test('http pools - two proxies on one origin send their calls over one kept-alive connection, each to its own path', async () => {
  const b = await backend((_req, res) => res.end('{"result":{"user":"u"}}'));
  const pools = new HttpPools();
  const connect = caller(pools, `${b.origin}/connect`);
  const refresh = caller(pools, `${b.origin}/refresh?x=1`, 1_000);
  try {
    assert.equal(pools.size, 1, 'one pool for the origin');
    // One after another: each call finds the connection the previous one freed.
    for (let i = 0; i < 3; i++) {
      await connect.call('connect', request, none);
      await turn();
      await refresh.call('connect', request, none);
      await turn();
    }
    assert.deepEqual(b.seen.map((s) => s.path), ['/connect', '/refresh?x=1', '/connect', '/refresh?x=1', '/connect', '/refresh?x=1']);
    assert.equal(new Set(b.seen.map((s) => s.socket)).size, 1, 'every call over the same TCP connection');
  } finally {
    await connect.close();
    await refresh.close();
    await b.close();
  }
});

test('http pools - each proxy keeps its own timeout on the shared pool', async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const b = await backend((_req, res) => void held.then(() => res.end('{"result":{}}')));
  const pools = new HttpPools();
  const quick = caller(pools, `${b.origin}/held`, 50);
  const patient = caller(pools, `${b.origin}/held`, 60_000);
  try {
    assert.equal(pools.size, 1);
    await assert.rejects(quick.call('connect', request, none), /no answer within 50 ms/);
    const answer = patient.call('connect', request, none);
    release();
    assert.equal((await answer).kind, 'result', 'the same backend, still waited for under the other timeout');
  } finally {
    await quick.close();
    await patient.close();
    await b.close();
  }
});

test('http pools - other TLS options or another origin get another pool; equal TLS options built apart share one', async () => {
  const pools = new HttpPools();
  const a = caller(pools, 'http://127.0.0.1:1/a');
  const b = caller(pools, 'http://127.0.0.1:1/b', 5_000, { servername: 'one' });
  const c = caller(pools, 'http://127.0.0.1:1/c', 5_000, { servername: 'one' });
  const d = caller(pools, 'http://127.0.0.1:1/d', 5_000, { servername: 'two' });
  const e = caller(pools, 'http://127.0.0.2:1/e');
  try {
    assert.equal(pools.size, 4, 'plain, servername one (shared by b and c), servername two, the other host');
  } finally {
    await Promise.all([a, b, c, d, e].map((x) => x.close()));
  }
  assert.equal(pools.size, 0);
});

test('http pools - the pool closes when its last proxy closes, not before, and closing twice gives up one hold', async () => {
  const b = await backend((_req, res) => res.end('{"result":{}}'));
  const pools = new HttpPools();
  const first = caller(pools, `${b.origin}/one`);
  const second = caller(pools, `${b.origin}/two`);
  try {
    await first.call('connect', request, none);
    await turn();
    const socket = b.seen[0]!.socket;
    await first.close();
    await first.close();
    assert.equal(pools.size, 1, 'still held by the second proxy');
    await second.call('connect', request, none);
    assert.equal(b.seen[1]!.socket, socket, 'the connection outlived the first proxy');
    assert.equal(b.closed.has(socket), false);

    await second.close();
    assert.equal(pools.size, 0, 'the last hold closed the pool');
    const third = caller(pools, `${b.origin}/three`);
    try {
      await third.call('connect', request, none);
      assert.notEqual(b.seen[2]!.socket, socket, 'a fresh pool, a fresh connection');
    } finally {
      await third.close();
    }
  } finally {
    await b.close();
  }
});
