import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedQueue } from '../../../src/notify/queue.js';
import { backoffDelay } from '../../../src/notify/backoff.js';

describe('BoundedQueue', () => {
  it('gives items back oldest first, across growth and wrap-around', () => {
    const q = new BoundedQueue<number>(100);
    for (let i = 0; i < 10; i++) q.push(i);
    assert.deepEqual(q.take(4), [0, 1, 2, 3]);
    for (let i = 10; i < 40; i++) assert.equal(q.push(i), true);
    assert.equal(q.length, 36);
    assert.deepEqual(q.take(1000), Array.from({ length: 36 }, (_, i) => i + 4));
    assert.equal(q.length, 0);
    assert.deepEqual(q.take(5), []);
  });

  it('refuses items over its capacity and keeps the ones it holds', () => {
    const q = new BoundedQueue<string>(3);
    assert.equal(q.push('a'), true);
    assert.equal(q.push('b'), true);
    assert.equal(q.push('c'), true);
    assert.equal(q.push('d'), false);
    assert.deepEqual(q.take(10), ['a', 'b', 'c']);
    assert.equal(q.push('e'), true);
    assert.equal(q.clear(), 1);
    assert.equal(q.length, 0);
  });

  it('rejects a capacity that is not a positive integer', () => {
    assert.throws(() => new BoundedQueue(0), RangeError);
    assert.throws(() => new BoundedQueue(1.5), RangeError);
  });
});

describe('backoffDelay', () => {
  it('doubles from the minimum up to the maximum, half of each step random', () => {
    assert.equal(backoffDelay(1, 100, 10_000, () => 0), 50);
    assert.equal(backoffDelay(1, 100, 10_000, () => 1), 100);
    assert.equal(backoffDelay(3, 100, 10_000, () => 1), 400);
    assert.equal(backoffDelay(3, 100, 10_000, () => 0), 200);
    assert.equal(backoffDelay(20, 100, 10_000, () => 1), 10_000);
    assert.equal(backoffDelay(20, 100, 10_000, () => 0), 5_000);
    // An absurd attempt number does not overflow into Infinity or NaN.
    assert.equal(backoffDelay(5000, 100, 10_000, () => 0.5), 7_500);
  });
});
