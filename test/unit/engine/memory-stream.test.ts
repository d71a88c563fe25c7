/**
 * MemoryStream (the ring buffer behind memory history) against a plain-array reference model, plus
 * the epoch generator it uses.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStream } from '../../../src/engine/memory/stream.js';
import { generateEpoch, EPOCH_LENGTH } from '../../../src/util/epoch.js';

const data = (n: number): Uint8Array => Uint8Array.of(n & 0xff);

/** Deterministic PRNG (mulberry32) so a failure replays. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The obvious implementation: an array of offsets, trimmed with splice. */
function modelRead(held: number[], since: number | undefined, limit: number, reverse: boolean): number[] {
  let xs: number[];
  if (!reverse) xs = held.filter((o) => since === undefined || o > since);
  else xs = held.filter((o) => since === undefined || since <= 0 || o < since).reverse();
  return limit < 0 ? xs : xs.slice(0, limit);
}

test('random appends, size changes, clears and reads match the reference model', () => {
  const rand = rng(42);
  const s = new MemoryStream();
  let held: number[] = [];
  let top = 0;
  let size = 5;
  for (let step = 0; step < 5000; step++) {
    const r = rand();
    if (r < 0.6) {
      if (rand() < 0.05) size = 1 + Math.floor(rand() * 8);
      const pub = s.append(data(top + 1), undefined, undefined, step, size);
      top++;
      held.push(top);
      if (held.length > size) held = held.slice(held.length - size);
      assert.equal(pub.offset, top);
    } else if (r < 0.62) {
      s.clear();
      held = [];
    } else {
      const since = rand() < 0.3 ? undefined : Math.floor(rand() * (top + 3)) - 1;
      const limit = Math.floor(rand() * 8) - 1;
      const reverse = rand() < 0.5;
      const got = s.read(since, limit, reverse).map((p) => p.offset);
      assert.deepEqual(got, modelRead(held, since, limit, reverse), `step ${step} since=${since} limit=${limit} reverse=${reverse}`);
    }
    assert.equal(s.length, held.length);
    assert.equal(s.top, top);
    assert.equal(s.last()?.offset, held.at(-1));
  }
});

test('shrinking the size keeps the newest publications in order, growing keeps them all', () => {
  const s = new MemoryStream();
  for (let i = 0; i < 7; i++) s.append(data(i), undefined, undefined, 0, 4); // ring wrapped: holds 4..7
  s.append(data(8), undefined, undefined, 0, 2);
  assert.deepEqual(s.read(undefined, -1, false).map((p) => p.offset), [7, 8]);
  s.append(data(9), undefined, undefined, 0, 10);
  s.append(data(10), undefined, undefined, 0, 10);
  assert.deepEqual(s.read(undefined, -1, false).map((p) => p.offset), [7, 8, 9, 10]);
});

test('stored records are frozen; reads hand out unfrozen shallow copies', () => {
  const s = new MemoryStream();
  const tags = { a: '1' };
  const info = { user: 'u', client: 'c' };
  const stored = s.append(data(1), info, tags, 123, 3);
  assert.ok(Object.isFrozen(stored) && Object.isFrozen(stored.tags) && Object.isFrozen(stored.info));
  assert.notEqual(stored.tags, tags, 'tags are copied');
  assert.notEqual(stored.info, info, 'info is copied');
  const [read] = s.read(undefined, -1, false);
  assert.notEqual(read, stored);
  assert.ok(!Object.isFrozen(read));
  assert.deepEqual(read, { data: data(1), offset: 1, info: { user: 'u', client: 'c' }, tags: { a: '1' } });
});

test('clear keeps top and epoch; the next append continues the offsets', () => {
  const s = new MemoryStream();
  s.append(data(1), undefined, undefined, 0, 3);
  s.append(data(2), undefined, undefined, 0, 3);
  const epoch = s.epoch;
  s.clear();
  assert.equal(s.length, 0);
  assert.equal(s.last(), undefined);
  assert.deepEqual(s.position(), { offset: 2, epoch });
  assert.equal(s.append(data(3), undefined, undefined, 0, 3).offset, 3);
});

test('a ring holds only what it was given, not `size` slots', () => {
  const s = new MemoryStream();
  s.append(data(1), undefined, undefined, 0, 1_000_000);
  assert.equal(s.length, 1);
  assert.deepEqual(s.read(undefined, -1, true).map((p) => p.offset), [1]);
});

test('epochs are 8 letters from [a-zA-Z] and do not repeat', () => {
  const seen = new Set<string>();
  const letters = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const e = generateEpoch();
    assert.match(e, /^[a-zA-Z]{8}$/);
    seen.add(e);
    for (const c of e) letters.add(c);
  }
  assert.equal(EPOCH_LENGTH, 8);
  assert.equal(seen.size, 2000);
  assert.equal(letters.size, 52, '16000 draws cover the whole alphabet');
});
