/**
 * Command ids on the legacy `POST /api` (spec §7.3). Centrifugo decodes `id` into a uint32, so an
 * id that is not an integer from 0 to 4294967295 fails the decoding of the body: 400, and no
 * command of that body runs. Rotor used to read ids as JS numbers and echo `1e400` back as
 * `{"id":Infinity,…}`, which is not JSON.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { API_KEY, connToken, withServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';

const CONFIG = { channel: { namespaces: [{ name: 'chat', allow_subscribe_for_client: true }] } };

async function legacy(httpUrl: string, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${httpUrl}/api`, { method: 'POST', headers: { 'X-API-Key': API_KEY }, body });
  return { status: res.status, text: await res.text() };
}

test('legacy POST /api: an id that is not a uint32 (1e400, 1.5, 4294967296, negative, exponent, string) → 400, and nothing in the body runs', async () => {
  await withServer(CONFIG, async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    await c.connect(await connToken('42'));
    c.send({ id: 2, subscribe: { channel: 'chat:a' } });
    await c.next((m) => m.id === 2);
    for (const id of ['1e400', '1.5', '4294967296', '-1', '-0', '1e2', '1.0', '"7"', 'true', '{}']) {
      // A publish before the bad command: refused with it.
      const body = `{"id":1,"method":"publish","params":{"channel":"chat:a","data":{"n":1}}}\n{"id":${id},"method":"info","params":{}}`;
      const r = await legacy(srv.httpUrl, body);
      assert.deepEqual(r, { status: 400, text: 'bad request\n' }, `id ${id}`);
    }
    const ok = await legacy(srv.httpUrl, '{"id":9,"method":"publish","params":{"channel":"chat:a","data":{"n":9}}}');
    assert.equal(ok.status, 200);
    await c.next((m) => m.push?.pub !== undefined);
    assert.deepEqual(
      c.messages().filter((m) => m.push?.pub).map((m) => m.push.pub.data),
      [{ n: 9 }],
      'only the last body published',
    );
    c.close();
  });
});

test('legacy POST /api: ids from 0 to 4294967295 are echoed (0 and null as no id), as valid JSON', async () => {
  await withServer(CONFIG, async (srv) => {
    const body = ['4294967295', '1', '0', 'null'].map((id) => `{"id":${id},"method":"info","params":{}}`).join('\n') + '\n{"method":"info","params":{}}';
    const r = await legacy(srv.httpUrl, body);
    assert.equal(r.status, 200, r.text);
    const replies = r.text.split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(
      replies.map((x) => x.id),
      [4294967295, 1, undefined, undefined, undefined],
    );
    assert.ok(replies.every((x) => Array.isArray(x.result?.nodes)));
    assert.ok(r.text.startsWith('{"id":4294967295,"result":'), r.text.slice(0, 40));
  });
});
