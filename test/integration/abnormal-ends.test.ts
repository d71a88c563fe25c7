/**
 * Connections and requests that end abnormally release what they held: a connect whose own
 * reply overflows the queue, a streaming request pipelined behind another, an oversized body.
 * Also: the zero values of `client.channel_limit` and `client.queue_max_size` mean the defaults.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { connToken, withServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';
import { closedWithin } from '../helpers/error-paths.js';
import { until, withCfConnect } from '../helpers/transport-kit.js';
import { DisconnectCode } from '../../src/protocol/codes.js';
import { API_KEY } from '../helpers/server.js';

const CHAT = { channel: { namespaces: [{ name: 'chat', allow_subscribe_for_client: true }] } };

test('a connect reply over queue_max_size closes with 3008 and leaves nothing on the ping wheel or in the hub', async () => {
  await withServer({ ...CHAT, client: { queue_max_size: 64 } }, async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    c.send({ id: 1, connect: { token: await connToken('u1') } });
    assert.deepEqual(await closedWithin(c), { code: DisconnectCode.slow.code, reason: DisconnectCode.slow.reason });
    const node = srv.app.node;
    await until(() => node.hub.numClients === 0, 'the session to leave the hub');
    assert.equal(node.pingWheel?.size, 0, 'the closed session is not pinged forever');
  });
});

test('client.channel_limit: 0 and client.queue_max_size: 0 mean the defaults (128 channels, 1 MiB), as in Centrifugo', async () => {
  await withServer({ ...CHAT, client: { channel_limit: 0, queue_max_size: 0 } }, async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    const rep = await c.connect(await connToken('u1'));
    assert.equal(typeof rep.connect?.client, 'string', JSON.stringify(rep));
    c.send({ id: 2, subscribe: { channel: 'chat:a' } });
    assert.deepEqual(await c.next((m) => m.id === 2), { id: 2, subscribe: {} });
    c.close();
  });
});

test('a uni_sse request pipelined behind another on one connection ends with the connection', async () => {
  await withServer({ ...CHAT, uni_sse: { enabled: true } }, async (srv) => {
    const url = new URL(withCfConnect(`${srv.httpUrl}/connection/uni_sse`, { token: await connToken('u1') }));
    const get = `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
    const sock = net.connect(srv.port, '127.0.0.1');
    await new Promise((resolve) => sock.once('connect', resolve));
    sock.write(get + get);
    let text = '';
    sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
    // Both requests are handled: the first streams, the second waits behind it with a session.
    await until(() => text.includes('"connect"') && srv.app.node.hub.numClients === 2, 'two sessions from one connection');
    sock.destroy();
    await until(() => srv.app.node.hub.numClients === 0, 'both sessions to end with the connection');
  });
});

test('413 for an oversized API body closes the connection instead of reading the rest', async () => {
  await withServer({ http_api: { key: API_KEY } }, async (srv) => {
    const sock = net.connect(srv.port, '127.0.0.1');
    await new Promise((resolve) => sock.once('connect', resolve));
    // Far over the 10 MiB limit, announced up front; only a little of it is ever sent.
    sock.write(`POST /api/publish HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: ${API_KEY}\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{"channel":"a","data":"`);
    let text = '';
    sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
    const ended = new Promise<void>((resolve) => sock.once('end', resolve));
    await until(() => text.includes('\r\n\r\n'), 'the response head');
    assert.match(text, /^HTTP\/1\.1 413 /);
    assert.match(text, /\r\nconnection: close\r\n/i);
    await ended;
    sock.destroy();
  });
});

test('a parallel API batch subscribing and unsubscribing one user: no ghost presence, no subscribe push after the unsubscribe', async () => {
  const ns = { channel: { namespaces: [{ name: 'chat', allow_subscribe_for_client: true, presence: true }] } };
  await withServer(ns, async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    const rep = await c.connect(await connToken('u1'));
    assert.equal(typeof rep.connect?.client, 'string', JSON.stringify(rep));
    const batch = await srv.api('batch', {
      parallel: true,
      commands: [{ subscribe: { user: 'u1', channel: 'chat:x' } }, { unsubscribe: { user: 'u1', channel: 'chat:x' } }],
    });
    assert.equal(batch.status, 200, JSON.stringify(batch.body));
    await c.next((m) => m.push?.unsubscribe !== undefined);
    // A round trip through the connection: anything the batch still sent has arrived by its reply.
    c.send({ id: 9, presence_stats: { channel: 'chat:none' } });
    await c.next((m) => m.id === 9);
    const pushes = c.messages().filter((m) => m.push?.channel === 'chat:x').map((m) => Object.keys(m.push).filter((k) => k !== 'channel')[0]);
    assert.notEqual(pushes.at(-1), 'subscribe', `pushes for chat:x: ${pushes.join(', ')}`);
    const presence = await srv.api('presence', { channel: 'chat:x' });
    assert.deepEqual(presence.body, { result: { presence: {} } });
    c.close();
  });
});

test('an API disconnect whose reason or code no close frame can carry still ends the connection and frees its slot', async () => {
  await withServer({ client: { user_connection_limit: 1 } }, async (srv) => {
    const node = srv.app.node;
    // 200 characters, a 3-byte one straddling the 123-byte cut: the reason is cut before it.
    const reason = `${'r'.repeat(122)}✓${'x'.repeat(77)}`;
    const a = await RawClient.open(srv.wsUrl);
    await a.connect(await connToken('u1'));
    const r1 = await srv.api('disconnect', { user: 'u1', disconnect: { code: 4000, reason } });
    assert.deepEqual(r1.body, { result: {} });
    assert.deepEqual(await closedWithin(a), { code: 4000, reason: 'r'.repeat(122) });
    await until(() => node.hub.numClients === 0, 'the session to leave the hub');
    // A code outside the close-frame ranges: the socket is cut (1006 at the client).
    const b = await RawClient.open(srv.wsUrl);
    await b.connect(await connToken('u1'));
    const r2 = await srv.api('disconnect', { user: 'u1', disconnect: { code: 5000, reason: 'x' } });
    assert.deepEqual(r2.body, { result: {} });
    assert.equal((await closedWithin(b)).code, 1006);
    await until(() => node.hub.numClients === 0, 'the session to leave the hub');
    // The user's one slot is free again.
    const c = await RawClient.open(srv.wsUrl);
    const rep = await c.connect(await connToken('u1'));
    assert.equal(typeof rep.connect?.client, 'string', JSON.stringify(rep));
    c.close();
  });
});
