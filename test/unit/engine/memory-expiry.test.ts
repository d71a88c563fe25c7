/** ExpiryIndex: the coarse deadline index the memory engine sweeps with. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExpiryIndex, NO_BUCKET } from '../../../src/engine/memory/expiry.js';

function drained(index: ExpiryIndex<string>, now: number): string[] {
  const out: string[] = [];
  index.drain(now, (k) => out.push(k));
  return out.sort();
}

test('keys are drained once due, never before their deadline', () => {
  const idx = new ExpiryIndex<string>(100);
  idx.schedule('a', 1050, 1000, NO_BUCKET);
  idx.schedule('b', 1250, 1000, NO_BUCKET);
  assert.deepEqual(drained(idx, 1049), []);
  assert.deepEqual(drained(idx, 1100), ['a']);
  assert.deepEqual(drained(idx, 1100), [], 'a drained key is no longer indexed');
  assert.deepEqual(drained(idx, 1299), []);
  assert.deepEqual(drained(idx, 1300), ['b']);
});

test('rescheduling moves a key; remove forgets it', () => {
  const idx = new ExpiryIndex<string>(100);
  let a = idx.schedule('a', 1050, 1000, NO_BUCKET);
  a = idx.schedule('a', 2050, 1000, a);
  const b = idx.schedule('b', 1050, 1000, NO_BUCKET);
  idx.remove('b', b);
  assert.deepEqual(drained(idx, 1500), []);
  assert.deepEqual(drained(idx, 2100), ['a']);
});

test('far deadlines get wide buckets: at most ~3 % late, and few buckets for constant refreshes', () => {
  const idx = new ExpiryIndex<string>(1000);
  const ttl = 30 * 24 * 3600 * 1000; // 30 days
  let bucket = NO_BUCKET;
  let moves = 0;
  // Refresh every second for a day, as a busy channel's meta would be.
  for (let now = 0; now < 24 * 3600 * 1000; now += 1000) {
    const next = idx.schedule('ch', now + ttl, now, bucket);
    if (next !== bucket) moves++;
    bucket = next;
    assert.ok(bucket > now + ttl && bucket <= now + ttl + ttl / 32);
  }
  assert.ok(moves <= 3, `moved ${moves} times`);
  assert.ok(idx.bucketCount <= 3);
});

test('a near deadline uses the finest resolution', () => {
  const idx = new ExpiryIndex<string>(1000);
  const bucket = idx.schedule('k', 5_500, 5_000, NO_BUCKET);
  assert.equal(bucket, 6_000);
});

test('a zero or negative resolution is rejected', () => {
  assert.throws(() => new ExpiryIndex<string>(0), RangeError);
});
