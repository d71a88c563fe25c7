/**
 * The connect policy (rules/hooks.ts `connecting`) end to end over a real server and raw
 * WebSocket: client-listed `connect.subs`, token `subs` options, custom user ID claims and raw
 * `info` bytes as other clients see them in presence.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { API_KEY, SECRET, connToken, withServer, type TestServer } from '../../helpers/server.js';
import { RawClient } from '../../helpers/raw-ws.js';
import { closedWithin } from '../../helpers/error-paths.js';
import { DisconnectCode } from '../../../src/protocol/codes.js';
import type { ConfigInput } from '../../../src/config/schema.js';

const NS: ConfigInput = { channel: { namespaces: [{ name: 'chat', presence: true, allow_subscribe_for_client: true }] } };

/** Sends connect; returns the reply, or with `expectClose` the close frame the server answers with. */
async function connectRaw(srv: TestServer, connect: Record<string, unknown>, headers?: Record<string, string>, expectClose = false): Promise<any> {
  const c = await RawClient.open(srv.wsUrl, headers ? { headers } : undefined);
  c.send({ id: 1, connect });
  try {
    return expectClose ? { closed: await closedWithin(c) } : { reply: await c.next((m) => m.id === 1) };
  } finally {
    c.close();
  }
}

test('client-listed subs in an unknown namespace → disconnect 3501; known ones are subscribed', async () => {
  await withServer(NS, async (srv) => {
    const bad = await connectRaw(srv, { token: await connToken('u1'), subs: { 'nope:x': {} } }, undefined, true);
    assert.equal(bad.closed?.code, DisconnectCode.badRequest.code, JSON.stringify(bad));
    const ok = await connectRaw(srv, { token: await connToken('u1'), subs: { 'chat:x': {} } });
    assert.deepEqual(Object.keys(ok.reply?.connect?.subs ?? {}), ['chat:x'], JSON.stringify(ok));
  });
});

test('user from client.user_id_http_header: client-listed subs are ignored (even unknown namespaces)', async () => {
  await withServer({ ...NS, client: { user_id_http_header: 'X-User' } }, async (srv) => {
    for (const subs of [{ 'chat:x': {} }, { 'nope:x': {} }]) {
      const r = await connectRaw(srv, { subs }, { 'X-User': 'hdr' });
      assert.equal(typeof r.reply?.connect?.client, 'string', JSON.stringify(r));
      assert.equal(r.reply.connect.subs, undefined, JSON.stringify(r));
    }
  });
});

test('anonymous connections still get their permitted client-listed subs', async () => {
  const cfg: ConfigInput = {
    client: { allow_anonymous_connect_without_token: true },
    channel: { namespaces: [{ name: 'anon', allow_subscribe_for_client: true, allow_subscribe_for_anonymous: true }] },
  };
  await withServer(cfg, async (srv) => {
    const r = await connectRaw(srv, { subs: { 'anon:x': {} } });
    assert.deepEqual(Object.keys(r.reply?.connect?.subs ?? {}), ['anon:x'], JSON.stringify(r));
  });
});

test('expire_at inside token subs is ignored: a past value neither fails the connect nor makes the sub expire', async () => {
  await withServer(NS, async (srv) => {
    const past = Math.floor(Date.now() / 1000) - 5;
    const r = await connectRaw(srv, { token: await connToken('u2', { subs: { 'chat:x': { expire_at: past } } }) });
    assert.deepEqual(r.reply?.connect?.subs, { 'chat:x': {} }, JSON.stringify(r));
  });
});

// A numeric claim connects as its JSON text; a claim the token readers type-check (iss) still connects.
const USER_ID_CLAIMS: Array<[title: string, claim: string, claims: Record<string, unknown>, user: string]> = [
  ['numeric user_id_claim value connects as its JSON text', 'user_id', { user_id: 42 }, '42'],
  ['user_id_claim naming a claim the token readers type-check (iss) still connects', 'iss', { iss: 'alice', jti: 'j1' }, 'alice'],
];
for (const [title, claim, claims, user] of USER_ID_CLAIMS) {
  test(title, async () => {
    await withServer({ ...NS, client: { token: { user_id_claim: claim } } }, async (srv) => {
      const c = await RawClient.open(srv.wsUrl);
      const rep = await c.connect(await connToken('', claims));
      assert.equal(typeof rep.connect?.client, 'string', JSON.stringify(rep));
      c.send({ id: 2, subscribe: { channel: 'chat:x' } });
      await c.next((m) => m.id === 2);
      const presence = await srv.api('presence', { channel: 'chat:x' });
      assert.deepEqual(Object.values(presence.body.result.presence).map((p: any) => p.user), [user]);
      c.close();
    });
  });
}

test('token info keeps its exact bytes: a big integer reaches presence conn_info unchanged', async () => {
  await withServer(NS, async (srv) => {
    const h = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url');
    const p = Buffer.from('{"sub":"u1","info":{"id":12345678901234567891,"price":1.10}}').toString('base64url');
    const token = `${h}.${p}.${createHmac('sha256', SECRET).update(`${h}.${p}`).digest('base64url')}`;
    const c = await RawClient.open(srv.wsUrl);
    assert.equal(typeof (await c.connect(token)).connect?.client, 'string');
    c.send({ id: 2, subscribe: { channel: 'chat:x' } });
    await c.next((m) => m.id === 2);
    const res = await fetch(`${srv.httpUrl}/api/presence`, { method: 'POST', headers: { 'X-API-Key': API_KEY }, body: '{"channel":"chat:x"}' });
    const body = await res.text();
    assert.ok(body.includes('"conn_info":{"id":12345678901234567891,"price":1.10}'), body);
    c.close();
  });
});
