/**
 * The Broker contract (STYLE lesson 2): every engine runs this suite; an engine that passes it is
 * done. It pins the semantics documented on `Broker` in src/engine/types.ts and spec §5.1–§5.3.
 *
 * Plugging an engine in: one entry in engines.test.ts, which calls `brokerContract(name,
 * capabilities, make)` where `make` builds a fresh, isolated broker per test (Redis: a unique key
 * prefix per call) and does not call `run` — the suite runs it with its own `RecordingHandler`.
 * A case that needs a capability the engine lacks (a NATS broker keeps no history) is skipped,
 * saying which capability; the parts of a case that exercise an optional capability run only
 * when the engine has it. `advance(ms)` lets time pass for the broker: an engine with
 * an injectable clock moves it (instant), a real-time engine sleeps. Waits stay below 300 ms and
 * TTLs are in milliseconds, so engines must honour ms TTLs (Redis: PEXPIRE, not EXPIRE).
 *
 * Delivery may be asynchronous (Redis PUB/SUB), so tests wait for what they expect, and prove an
 * absence with a sentinel: a publication to a subscribed channel sent afterwards through the same
 * broker. Once it arrives, anything sent before it would have arrived too.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Broker, BrokerEventHandler, HistoryRetention, PublishOptions } from '../../src/engine/types.js';
import type { ClientInfo, Publication, StreamPosition } from '../../src/protocol/types.js';

export interface BrokerHarness {
  /** A broker nobody else uses, not yet `run`. */
  broker: Broker;
  /** Lets `ms` milliseconds pass as far as the broker's TTLs are concerned. */
  advance(ms: number): Promise<void>;
  /** Closes the broker and removes whatever the test stored (e.g. keys under its prefix). */
  cleanup(): Promise<void>;
  /**
   * Multiplies every TTL and wait of the TTL cases (default 1). A real-time engine sets it so the
   * margins between a TTL and the waits around it (50 ms at 1) outlast scheduling delays on a
   * loaded machine; an injected clock needs none.
   */
  timeScale?: number;
}

export type BrokerEvent =
  | { kind: 'publication'; channel: string; pub: Publication; position: StreamPosition; useDelta: boolean; prevPub: Publication | undefined }
  | { kind: 'join' | 'leave'; channel: string; info: ClientInfo }
  | { kind: 'control'; data: Uint8Array };
type PubEvent = Extract<BrokerEvent, { kind: 'publication' }>;

/** Records everything a broker delivers and lets tests await a condition on the record. */
export class RecordingHandler implements BrokerEventHandler {
  readonly events: BrokerEvent[] = [];
  private waiters: Array<{ check: () => boolean; done: () => void }> = [];

  handlePublication(channel: string, pub: Publication, position: StreamPosition, useDelta: boolean, prevPub: Publication | undefined): void {
    this.record({ kind: 'publication', channel, pub, position, useDelta, prevPub });
  }
  handleJoin(channel: string, info: ClientInfo): void {
    this.record({ kind: 'join', channel, info });
  }
  handleLeave(channel: string, info: ClientInfo): void {
    this.record({ kind: 'leave', channel, info });
  }
  handleControl(data: Uint8Array): boolean {
    this.record({ kind: 'control', data });
    return true;
  }

  publications(channel: string): PubEvent[] {
    return this.events.filter((e): e is PubEvent => e.kind === 'publication' && e.channel === channel);
  }

  /** Resolves once `check()` holds; rejects after `timeoutMs` with `what` in the message. */
  waitFor(what: string, check: () => boolean, timeoutMs = 2000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const waiter = { check, done: () => { clearTimeout(timer); resolve(); } };
      this.waiters.push(waiter);
    });
  }

  private record(e: BrokerEvent): void {
    this.events.push(e);
    const ready = this.waiters.filter((w) => w.check());
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.done();
  }
}

const te = new TextEncoder();
const td = new TextDecoder();
const bytes = (s: string): Uint8Array => te.encode(s);
const text = (b: Uint8Array): string => td.decode(b);
const offsets = (pubs: Publication[]): Array<number | undefined> => pubs.map((p) => p.offset);

/** Long TTLs: nothing expires during a test, even on a real clock. */
const LONG: HistoryRetention = { size: 10, ttlMs: 60_000, metaTtlMs: 120_000 };
/** Short TTLs for the expiry tests: publications live 100 ms, meta 200 ms. */
const SHORT: HistoryRetention = { size: 10, ttlMs: 100, metaTtlMs: 200 };
// The names share a Redis Cluster hash tag: a key `P.client.{{contract}ch}` hashes by "{contract",
// so every channel of a case lives in one slot and its messages travel one path. Across slots a
// cluster keeps no order between channels (they enter the cluster bus at different nodes), and a
// sentinel on another slot could overtake what it is meant to prove absent.
const CH = '{contract}ch';
const SENTINEL = '{contract}sentinel';
const ALICE: ClientInfo = { user: 'alice', client: 'c-alice' };

/**
 * What an engine may lack: `history` (streams, positions, `history`, `removeHistory`, versions and
 * deltas), `presence` (a PresenceManager, see presence.contract.ts), `joinLeave` (`publishJoin` and
 * `publishLeave` reach subscribers), `idempotency` (`idempotencyKey` suppresses repeats).
 */
export type Capability = 'history' | 'presence' | 'joinLeave' | 'idempotency';

interface Ctx {
  broker: Broker;
  /** True when the engine declared `c`. */
  has(c: Capability): boolean;
  rec: RecordingHandler;
  advance(ms: number): Promise<void>;
  /** `n` ms in the harness's time scale, for TTLs given to the broker. */
  ms(n: number): number;
  /** {@link SHORT} in the harness's time scale. */
  short: HistoryRetention;
  /** Publishes `n` publications "0".."n-1" into CH, returning their results. */
  fill(n: number, history?: HistoryRetention): Promise<StreamPosition[]>;
  /** Proves quiescence: sends a sentinel and waits for it (see the file comment). */
  settle(): Promise<void>;
}

export function brokerContract(name: string, capabilities: readonly Capability[], make: () => Promise<BrokerHarness>): void {
  const has = (c: Capability): boolean => capabilities.includes(c);
  /** A case; `needs` are the capabilities without which it cannot run (skipped, saying which). */
  function it(title: string, needs: readonly Capability[], body: (ctx: Ctx) => Promise<void>): void {
    const missing = needs.filter((c) => !has(c));
    const skip = missing.length > 0 ? `${name} has no ${missing.join(', ')}` : false;
    test(title, { skip }, async () => {
      const h = await make();
      const rec = new RecordingHandler();
      const scale = h.timeScale ?? 1;
      let sentinels = 0;
      try {
        await h.broker.run(rec, 'node-a');
        await h.broker.subscribe(SENTINEL);
        const ctx: Ctx = {
          broker: h.broker,
          has,
          rec,
          advance: (ms) => h.advance(ms * scale),
          ms: (n) => n * scale,
          short: { size: SHORT.size, ttlMs: SHORT.ttlMs * scale, metaTtlMs: SHORT.metaTtlMs * scale },
          async fill(n, history = LONG) {
            const out: StreamPosition[] = [];
            for (let i = 0; i < n; i++) out.push((await h.broker.publish(CH, bytes(String(i)), { history })).position);
            return out;
          },
          async settle() {
            const want = ++sentinels;
            await h.broker.publish(SENTINEL, bytes('sentinel'), {});
            await rec.waitFor(`sentinel #${want}`, () => rec.publications(SENTINEL).length >= want);
          },
        };
        await body(ctx);
      } finally {
        await h.cleanup();
      }
    });
  }

  describe(`Broker contract: ${name}`, () => {
    describe('stream positions', () => {
      it('offsets start at 1 and increment by one per publish', ['history'], async ({ broker, fill }) => {
        const positions = await fill(3);
        assert.deepEqual(positions.map((p) => p.offset), [1, 2, 3]);
        const r = await broker.publish(CH, bytes('x'), { history: LONG });
        assert.equal(r.suppressed, false);
        assert.equal(r.position.offset, 4);
      });

      it('the epoch is stable across publishes and reads', ['history'], async ({ broker, fill }) => {
        const positions = await fill(3);
        const epoch = positions[0].epoch;
        assert.ok(epoch.length > 0);
        assert.ok(positions.every((p) => p.epoch === epoch));
        const h = await broker.history(CH, { filter: { limit: -1 } });
        assert.deepEqual(h.position, { offset: 3, epoch });
        const again = await broker.publish(CH, bytes('x'), { history: LONG });
        assert.deepEqual(again.position, { offset: 4, epoch });
      });

      it('a history read creates the meta: epoch at offset 0, kept by the first publish', ['history'], async ({ broker }) => {
        const h = await broker.history(CH, { filter: { limit: 0 } });
        assert.equal(h.position.offset, 0);
        assert.ok(h.position.epoch.length > 0);
        const r = await broker.publish(CH, bytes('x'), { history: LONG });
        assert.deepEqual(r.position, { offset: 1, epoch: h.position.epoch });
      });

      it('without history: offset 0, empty epoch, nothing stored', [], async ({ broker, rec, has }) => {
        await broker.subscribe(CH);
        const r = await broker.publish(CH, bytes('x'), {});
        assert.deepEqual(r, { position: { offset: 0, epoch: '' }, suppressed: false });
        await rec.waitFor('delivery', () => rec.publications(CH).length === 1);
        assert.deepEqual(rec.publications(CH)[0].position, { offset: 0, epoch: '' });
        if (!has('history')) return;
        const h = await broker.history(CH, { filter: { limit: -1 } });
        assert.deepEqual(h.publications, []);
        assert.equal(h.position.offset, 0);
      });
    });

    describe('history reads', () => {
      it('limit 0 returns the position only', ['history'], async ({ broker, fill }) => {
        const [, last] = await fill(2);
        const h = await broker.history(CH, { filter: { limit: 0 } });
        assert.deepEqual(h, { publications: [], position: last });
      });

      it('limit -1 returns everything held, oldest first', ['history'], async ({ broker, fill }) => {
        await fill(5);
        const h = await broker.history(CH, { filter: { limit: -1 } });
        assert.deepEqual(offsets(h.publications), [1, 2, 3, 4, 5]);
        assert.deepEqual(h.publications.map((p) => text(p.data)), ['0', '1', '2', '3', '4']);
      });

      it('limit N forward returns the oldest N', ['history'], async ({ broker, fill }) => {
        await fill(5);
        const h = await broker.history(CH, { filter: { limit: 2 } });
        assert.deepEqual(offsets(h.publications), [1, 2]);
        assert.equal(h.position.offset, 5);
      });

      it('limit N reverse returns the newest N, newest first', ['history'], async ({ broker, fill }) => {
        await fill(5);
        const h = await broker.history(CH, { filter: { limit: 2, reverse: true } });
        assert.deepEqual(offsets(h.publications), [5, 4]);
        const all = await broker.history(CH, { filter: { limit: -1, reverse: true } });
        assert.deepEqual(offsets(all.publications), [5, 4, 3, 2, 1]);
      });

      it('since (forward) returns offsets above since.offset', ['history'], async ({ broker, fill }) => {
        const positions = await fill(5);
        const since = positions[1]; // offset 2
        assert.deepEqual(offsets((await broker.history(CH, { filter: { since, limit: -1 } })).publications), [3, 4, 5]);
        assert.deepEqual(offsets((await broker.history(CH, { filter: { since, limit: 2 } })).publications), [3, 4]);
        const anyEpoch = { offset: 2, epoch: '' };
        assert.deepEqual(offsets((await broker.history(CH, { filter: { since: anyEpoch, limit: -1 } })).publications), [3, 4, 5]);
      });

      it('since + reverse returns offsets below since.offset, descending', ['history'], async ({ broker, fill }) => {
        const positions = await fill(5);
        const since = positions[3]; // offset 4
        assert.deepEqual(offsets((await broker.history(CH, { filter: { since, limit: -1, reverse: true } })).publications), [3, 2, 1]);
        assert.deepEqual(offsets((await broker.history(CH, { filter: { since, limit: 2, reverse: true } })).publications), [3, 2]);
      });

      it('since at or beyond the top returns nothing, with the current position', ['history'], async ({ broker, fill }) => {
        const positions = await fill(3);
        const top = positions[2];
        const atTop = await broker.history(CH, { filter: { since: top, limit: -1 } });
        assert.deepEqual(atTop, { publications: [], position: top });
        const beyond = await broker.history(CH, { filter: { since: { offset: 10, epoch: top.epoch }, limit: -1 } });
        assert.deepEqual(beyond, { publications: [], position: top });
      });

      it('since an evicted offset returns from the oldest held (the gap is the caller’s)', ['history'], async ({ broker, fill }) => {
        const positions = await fill(5, { ...LONG, size: 3 });
        const h = await broker.history(CH, { filter: { since: positions[0], limit: -1 } });
        assert.deepEqual(offsets(h.publications), [3, 4, 5]);
      });

      it('since with another epoch returns no publications and the current position', ['history'], async ({ broker, fill }) => {
        const positions = await fill(3);
        const h = await broker.history(CH, { filter: { since: { offset: 1, epoch: 'otherEpc' }, limit: -1 } });
        assert.deepEqual(h, { publications: [], position: positions[2] });
      });

      it('returned and delivered publications are copies: mutating them changes nothing stored', ['history'], async ({ broker, rec }) => {
        await broker.subscribe(CH);
        const tags = { k: 'v' };
        await broker.publish(CH, bytes('a'), { history: LONG, tags });
        tags.k = 'changed';
        await rec.waitFor('delivery', () => rec.publications(CH).length === 1);
        const delivered = rec.publications(CH)[0].pub;
        delivered.offset = 99;
        delivered.delta = true;
        const first = await broker.history(CH, { filter: { limit: -1 } });
        first.publications[0].offset = 42;
        first.publications[0].channel = 'elsewhere';
        const second = await broker.history(CH, { filter: { limit: -1 } });
        assert.equal(second.publications[0].offset, 1);
        assert.equal(second.publications[0].channel, undefined);
        assert.ok(!second.publications[0].delta);
        assert.deepEqual(second.publications[0].tags, { k: 'v' });
      });
    });

    describe('retention', () => {
      it('the stream is trimmed to size, keeping the newest', ['history'], async ({ broker, fill }) => {
        await fill(7, { ...LONG, size: 3 });
        const h = await broker.history(CH, { filter: { limit: -1 } });
        assert.deepEqual(offsets(h.publications), [5, 6, 7]);
        assert.equal(h.position.offset, 7);
      });

      it('after history ttl the publications are gone but the position stays', ['history'], async ({ broker, fill, advance, short }) => {
        const positions = await fill(2, short);
        await advance(150);
        const h = await broker.history(CH, { filter: { limit: -1 }, metaTtlMs: short.metaTtlMs });
        assert.deepEqual(h, { publications: [], position: positions[1] });
        const next = await broker.publish(CH, bytes('x'), { history: short });
        assert.deepEqual(next.position, { offset: 3, epoch: positions[1].epoch });
      });

      it('after meta ttl a new epoch starts and offsets restart at 1', ['history'], async ({ broker, fill, advance, short }) => {
        const positions = await fill(2, short);
        await advance(250);
        const h = await broker.history(CH, { filter: { limit: -1 }, metaTtlMs: short.metaTtlMs });
        assert.equal(h.position.offset, 0);
        assert.notEqual(h.position.epoch, positions[1].epoch);
        assert.deepEqual(h.publications, []);
        const next = await broker.publish(CH, bytes('x'), { history: short });
        assert.deepEqual(next.position, { offset: 1, epoch: h.position.epoch });
      });

      it('history reads refresh the meta ttl', ['history'], async ({ broker, fill, advance, short }) => {
        const positions = await fill(1, short);
        await advance(120);
        await broker.history(CH, { filter: { limit: 0 }, metaTtlMs: short.metaTtlMs });
        await advance(120); // 240 ms after the publish, 120 ms after the read
        const h = await broker.history(CH, { filter: { limit: 0 }, metaTtlMs: short.metaTtlMs });
        assert.deepEqual(h.position, positions[0]);
      });

      it('removeHistory drops publications and keeps the position', ['history'], async ({ broker, fill }) => {
        const positions = await fill(3);
        await broker.removeHistory(CH);
        const h = await broker.history(CH, { filter: { limit: -1 } });
        assert.deepEqual(h, { publications: [], position: positions[2] });
        const next = await broker.publish(CH, bytes('x'), { history: LONG });
        assert.deepEqual(next.position, { offset: 4, epoch: positions[2].epoch });
      });
    });

    describe('publish options', () => {
      it('an idempotency key repeat returns the first position, suppressed, without delivery', ['idempotency', 'history'], async ({ broker, rec, settle }) => {
        await broker.subscribe(CH);
        const opts: PublishOptions = { history: LONG, idempotencyKey: 'once' };
        const first = await broker.publish(CH, bytes('a'), opts);
        const repeat = await broker.publish(CH, bytes('b'), opts);
        assert.equal(first.suppressed, false);
        assert.deepEqual(repeat, { position: first.position, suppressed: true });
        await settle();
        assert.equal(rec.publications(CH).length, 1);
        const h = await broker.history(CH, { filter: { limit: -1 } });
        assert.deepEqual(h.publications.map((p) => text(p.data)), ['a']);
        const other = await broker.publish('{contract}other', bytes('a'), opts);
        assert.equal(other.suppressed, false, 'idempotency keys are per channel');
      });

      it('an idempotency key is forgotten after idempotentResultTtlMs', ['idempotency', 'history'], async ({ broker, rec, advance, ms }) => {
        await broker.subscribe(CH);
        const opts: PublishOptions = { history: LONG, idempotencyKey: 'k', idempotentResultTtlMs: ms(100) };
        await broker.publish(CH, bytes('a'), opts);
        await advance(150);
        const again = await broker.publish(CH, bytes('b'), opts);
        assert.equal(again.suppressed, false);
        assert.equal(again.position.offset, 2);
        await rec.waitFor('two deliveries', () => rec.publications(CH).length === 2);
      });

      it('version <= last version in the same version epoch is suppressed', ['history'], async ({ broker, rec, settle }) => {
        await broker.subscribe(CH);
        const pub = (v: number, ve: string) => broker.publish(CH, bytes(`${ve}${v}`), { history: LONG, version: v, versionEpoch: ve });
        assert.equal((await pub(2, 'a')).suppressed, false);
        const stale = await pub(2, 'a');
        assert.equal(stale.suppressed, true);
        assert.equal(stale.position.offset, 1, 'a suppressed publish reports the current top');
        assert.equal((await pub(1, 'a')).suppressed, true);
        assert.equal((await pub(3, 'a')).suppressed, false);
        assert.equal((await pub(1, 'b')).suppressed, false, 'a new version epoch starts over');
        assert.equal((await pub(1, '')).suppressed, true, 'no version epoch: compared with the current one');
        assert.equal((await pub(2, '')).suppressed, false);
        assert.equal((await pub(2, 'b')).suppressed, false, "the stored epoch is now '', so 'b' starts over");
        await settle();
        assert.deepEqual(rec.publications(CH).map((e) => text(e.pub.data)), ['a2', 'a3', 'b1', '2', 'b2']);
        const h = await broker.history(CH, { filter: { limit: -1 } });
        assert.deepEqual(offsets(h.publications), [1, 2, 3, 4, 5]);
      });

      it('a delivered publication carries offset, info, tags, time; deltas get the previous one', ['history'], async ({ broker, rec }) => {
        await broker.subscribe(CH);
        await broker.publish(CH, bytes('a'), { history: LONG, useDelta: true });
        const r = await broker.publish(CH, bytes('b'), { history: LONG, clientInfo: ALICE, tags: { t: '1' }, useDelta: true });
        await rec.waitFor('two deliveries', () => rec.publications(CH).length === 2);
        const [first, second] = rec.publications(CH);
        assert.equal(first.prevPub, undefined);
        assert.equal(second.useDelta, true);
        assert.deepEqual(second.position, r.position);
        assert.equal(second.pub.offset, 2);
        assert.deepEqual(second.pub.info, ALICE);
        assert.deepEqual(second.pub.tags, { t: '1' });
        assert.equal(second.pub.time, undefined, 'Publication.time is not set (as Centrifugo)');
        assert.equal(text(second.prevPub?.data ?? bytes('')), 'a');
        assert.equal(second.prevPub?.offset, 1);
      });
    });

    describe('delivery', () => {
      it('a burst of 1000 concurrent publishes is delivered in offset order', ['history'], async ({ broker, rec }) => {
        await broker.subscribe(CH);
        const history = { ...LONG, size: 1000 };
        const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => broker.publish(CH, bytes(String(i)), { history })));
        await rec.waitFor('1000 deliveries', () => rec.publications(CH).length === 1000, 5000);
        const delivered = rec.publications(CH);
        assert.deepEqual(delivered.map((e) => e.position.offset), Array.from({ length: 1000 }, (_, i) => i + 1));
        const dataAt = new Map(results.map((r, i) => [r.position.offset, String(i)]));
        assert.ok(delivered.every((e) => e.pub.offset === e.position.offset && text(e.pub.data) === dataAt.get(e.position.offset)));
      });

      it('nothing is delivered for channels never subscribed', [], async ({ broker, rec, settle, has }) => {
        await broker.publish(CH, bytes('a'), {});
        if (has('history')) await broker.publish(CH, bytes('b'), { history: LONG });
        if (has('joinLeave')) await broker.publishJoin(CH, ALICE);
        await settle();
        assert.deepEqual(rec.events.filter((e) => e.kind !== 'publication' || e.channel !== SENTINEL), []);
      });

      it('nothing is delivered after unsubscribe', [], async ({ broker, rec, settle, has }) => {
        await broker.subscribe(CH);
        await broker.publish(CH, bytes('a'), {});
        // Delivered before the unsubscribe: on a Redis Cluster a PUBLISH is acknowledged before
        // it crossed the cluster bus to the node holding the subscription.
        await rec.waitFor('a', () => rec.publications(CH).length === 1);
        await broker.unsubscribe(CH);
        await broker.publish(CH, bytes('b'), {});
        if (has('joinLeave')) await broker.publishLeave(CH, ALICE);
        await settle();
        assert.deepEqual(rec.publications(CH).map((e) => text(e.pub.data)), ['a']);
        assert.equal(rec.events.filter((e) => e.kind === 'leave').length, 0);
      });

      it('join and leave reach subscribed channels', ['joinLeave'], async ({ broker, rec }) => {
        await broker.subscribe(CH);
        await broker.publishJoin(CH, ALICE);
        await broker.publishLeave(CH, ALICE);
        await rec.waitFor('join and leave', () => rec.events.length === 2);
        assert.deepEqual(rec.events, [
          { kind: 'join', channel: CH, info: ALICE },
          { kind: 'leave', channel: CH, info: ALICE },
        ]);
      });

      it('control messages reach the handler', [], async ({ broker, rec }) => {
        await broker.publishControl(bytes('ctl'));
        await rec.waitFor('control', () => rec.events.some((e) => e.kind === 'control'));
        const e = rec.events.find((x) => x.kind === 'control');
        assert.equal(e?.kind === 'control' ? text(e.data) : undefined, 'ctl');
      });
    });
  });
}
