/**
 * History call semantics (spec §5.1–§5.3) through the server HTTP API, plus client `history`
 * clamping by `client.history_max_publication_limit`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, connToken, type TestServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';
import type { ConfigInput } from '../../src/config/schema.js';

const NS: ConfigInput = {
  channel: {
    namespaces: [
      { name: 'h', history_size: 10, history_ttl: '300s' },
      { name: 'nohist' },
      { name: 'short', history_size: 10, history_ttl: '1s' },
      { name: 'sub', allow_subscribe_for_client: true, allow_history_for_subscriber: true, history_size: 10, history_ttl: '300s' },
    ],
  },
};

async function withServer(overrides: ConfigInput, fn: (srv: TestServer) => Promise<void>): Promise<void> {
  const srv = await startServer({ ...NS, ...overrides });
  try {
    await fn(srv);
  } finally {
    await srv.stop();
  }
}

/** Publishes `n` publications {i} and returns the epoch of the stream. */
async function publishN(srv: TestServer, channel: string, n: number, from = 1): Promise<string> {
  let epoch = '';
  for (let i = from; i < from + n; i++) {
    const r = await srv.api('publish', { channel, data: { i } });
    assert.equal(r.status, 200);
    assert.equal(r.body.result.offset, i);
    assert.equal(typeof r.body.result.epoch, 'string');
    if (epoch !== '') assert.equal(r.body.result.epoch, epoch);
    epoch = r.body.result.epoch;
  }
  return epoch;
}

async function history(srv: TestServer, body: Record<string, unknown>): Promise<any> {
  const r = await srv.api('history', body);
  assert.equal(r.status, 200);
  return r.body;
}

/**
 * A top-only history result: `{offset, epoch}` and no publications. Centrifugo's API JSON may
 * carry an empty `publications` array or omit it; both mean "no publications".
 */
function assertTopOnly(body: any, offset: number, epoch: string): void {
  const { publications, ...rest } = body.result;
  assert.deepEqual(body, { result: { ...rest, ...(publications === undefined ? {} : { publications }) } });
  assert.deepEqual(publications ?? [], []);
  assert.deepEqual(rest, { offset, epoch });
}

function offsets(body: any): number[] {
  return (body.result.publications ?? []).map((p: any) => p.offset);
}

test('history limit/reverse/since semantics on a 5-publication stream', async () => {
  await withServer({}, async (srv) => {
    const ch = 'h:a';
    const epoch = await publishN(srv, ch, 5);
    assert.equal(epoch.length, 8);

    // limit 0 and omitted limit: only the top position.
    assertTopOnly(await history(srv, { channel: ch, limit: 0 }), 5, epoch);
    assertTopOnly(await history(srv, { channel: ch }), 5, epoch);

    // forward limit: oldest N, with exact publication shapes.
    assert.deepEqual(await history(srv, { channel: ch, limit: 2 }), {
      result: {
        publications: [
          { data: { i: 1 }, offset: 1 },
          { data: { i: 2 }, offset: 2 },
        ],
        offset: 5,
        epoch,
      },
    });
    // reverse: newest N, newest first.
    assert.deepEqual(offsets(await history(srv, { channel: ch, limit: 2, reverse: true })), [5, 4]);
    // -1: all.
    assert.deepEqual(offsets(await history(srv, { channel: ch, limit: -1 })), [1, 2, 3, 4, 5]);
    // since forward.
    const since2 = await history(srv, { channel: ch, limit: -1, since: { offset: 2, epoch } });
    assert.deepEqual(offsets(since2), [3, 4, 5]);
    assert.equal(since2.result.offset, 5);
    assert.equal(since2.result.epoch, epoch);
    // since + reverse: strictly below since.offset, descending.
    assert.deepEqual(offsets(await history(srv, { channel: ch, limit: -1, reverse: true, since: { offset: 4, epoch } })), [3, 2, 1]);
    // since beyond the top: nothing.
    const beyond = await history(srv, { channel: ch, limit: -1, since: { offset: 99, epoch } });
    assert.deepEqual(offsets(beyond), []);
    assert.equal(beyond.result.offset, 5);
    assert.equal(beyond.result.epoch, epoch);
    // huge limit: all 5 (server API uncapped).
    assert.deepEqual(offsets(await history(srv, { channel: ch, limit: 1_000_000 })), [1, 2, 3, 4, 5]);
    // Any negative limit means "all" (Centrifugo treats limit < 0 like -1).
    assert.deepEqual(offsets(await history(srv, { channel: ch, limit: -7 })), [1, 2, 3, 4, 5]);
  });
});

test('history since with a foreign epoch → 112 unrecoverable position', async () => {
  await withServer({}, async (srv) => {
    await publishN(srv, 'h:b', 3);
    const r = await srv.api('history', { channel: 'h:b', limit: -1, since: { offset: 1, epoch: 'zzzzzzzz' } });
    assert.equal(r.status, 200);
    assert.equal(r.body.error?.code, 112);
    assert.equal(r.body.error?.message, 'unrecoverable position');
  });
});

test('history reverse with since.offset 0 → 107 bad request', async () => {
  await withServer({}, async (srv) => {
    const epoch = await publishN(srv, 'h:c', 3);
    const r = await srv.api('history', { channel: 'h:c', limit: -1, reverse: true, since: { offset: 0, epoch } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { error: { code: 107, message: 'bad request' } });
  });
});

test('history on an unknown namespace → 102, on a namespace without history → 108', async () => {
  await withServer({}, async (srv) => {
    assert.deepEqual((await srv.api('history', { channel: 'nope:x', limit: -1 })).body, { error: { code: 102, message: 'unknown channel' } });
    assert.deepEqual((await srv.api('history', { channel: 'nohist:x', limit: -1 })).body, { error: { code: 108, message: 'not available' } });
  });
});

test('history_size trims the stream: 12 into size 10 leaves offsets 3..12', async () => {
  await withServer({}, async (srv) => {
    const epoch = await publishN(srv, 'h:trim', 12);
    const all = await history(srv, { channel: 'h:trim', limit: -1 });
    assert.deepEqual(offsets(all), [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    assert.equal(all.result.offset, 12);
    assert.equal(all.result.epoch, epoch);
    // since an evicted offset returns from the oldest available one.
    assert.deepEqual(offsets(await history(srv, { channel: 'h:trim', limit: -1, since: { offset: 1, epoch } })), [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });
});

test('history_ttl expires publications but keeps offset and epoch', async () => {
  await withServer({}, async (srv) => {
    const epoch = await publishN(srv, 'short:a', 2);
    assert.deepEqual(offsets(await history(srv, { channel: 'short:a', limit: -1 })), [1, 2]);
    await new Promise((r) => setTimeout(r, 1300));
    assertTopOnly(await history(srv, { channel: 'short:a', limit: -1 }), 2, epoch);
  });
});

test('history_remove clears publications but keeps offset and epoch', async () => {
  await withServer({}, async (srv) => {
    const epoch = await publishN(srv, 'h:rm', 3);
    assert.deepEqual((await srv.api('history_remove', { channel: 'h:rm' })).body, { result: {} });
    assertTopOnly(await history(srv, { channel: 'h:rm', limit: -1 }), 3, epoch);
    // The stream continues from the kept top.
    const r = await srv.api('publish', { channel: 'h:rm', data: { i: 4 } });
    assert.deepEqual(r.body, { result: { offset: 4, epoch } });
  });
});

test('idempotency_key: a duplicate publish returns the same result and adds nothing', async () => {
  await withServer({}, async (srv) => {
    const a = await srv.api('publish', { channel: 'h:idem', data: { x: 1 }, idempotency_key: 'k1' });
    const b = await srv.api('publish', { channel: 'h:idem', data: { x: 1 }, idempotency_key: 'k1' });
    assert.equal(a.body.result.offset, 1);
    assert.deepEqual(b.body, a.body);
    const h = await history(srv, { channel: 'h:idem', limit: -1 });
    assert.deepEqual(h, { result: { publications: [{ data: { x: 1 }, offset: 1 }], offset: 1, epoch: a.body.result.epoch } });
  });
});

test('skip_history: no offset in the result and nothing in history', async () => {
  await withServer({}, async (srv) => {
    const r = await srv.api('publish', { channel: 'h:skip', data: { x: 1 }, skip_history: true });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { result: {} });
    const h = await history(srv, { channel: 'h:skip', limit: -1 });
    assert.deepEqual(offsets(h), []);
    assert.equal(h.result.offset ?? 0, 0);
  });
});

test('tags and b64data round-trip through history', async () => {
  await withServer({}, async (srv) => {
    await srv.api('publish', { channel: 'h:tags', data: { x: 1 }, tags: { kind: 'a', n: '1' } });
    const bytes = Buffer.from([0, 1, 2, 250, 255]);
    const b64 = bytes.toString('base64');
    const p2 = await srv.api('publish', { channel: 'h:tags', b64data: b64 });
    assert.equal(p2.body.result.offset, 2);
    const h = await history(srv, { channel: 'h:tags', limit: -1 });
    const pubs = h.result.publications;
    assert.equal(pubs.length, 2);
    assert.deepEqual(pubs[0], { data: { x: 1 }, offset: 1, tags: { kind: 'a', n: '1' } });
    // The spec does not pin how the JSON API returns non-JSON bytes; Rotor returns the base64
    // string in `data`. The bytes must survive unchanged.
    assert.deepEqual(pubs[1], { data: b64, offset: 2 });
    assert.deepEqual(Buffer.from(pubs[1].data, 'base64'), bytes);
  });
});

test('client history command: limit above history_max_publication_limit is clamped', async () => {
  await withServer({ client: { history_max_publication_limit: 3 } }, async (srv) => {
    await publishN(srv, 'sub:a', 5);
    const c = await RawClient.open(srv.wsUrl);
    try {
      const rep = await c.connect(await connToken('u1'));
      assert.equal(typeof rep.connect?.client, 'string');
      c.send({ id: 2, subscribe: { channel: 'sub:a' } });
      await c.next((m) => m.id === 2);
      c.send({ id: 3, history: { channel: 'sub:a', limit: 10 } });
      const h = await c.next((m) => m.id === 3);
      assert.deepEqual(
        h.history.publications.map((p: any) => p.offset),
        [1, 2, 3],
      );
      assert.equal(h.history.offset, 5);
      c.send({ id: 4, history: { channel: 'sub:a', limit: -1, reverse: true } });
      const h2 = await c.next((m) => m.id === 4);
      assert.deepEqual(
        h2.history.publications.map((p: any) => p.offset),
        [5, 4, 3],
      );
    } finally {
      c.close();
    }
  });
});
