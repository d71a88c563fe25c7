/**
 * The shard function must be Centrifugo's exactly, or a channel would live on different shards
 * under Rotor and Centrifugo with the same address list. FNV-1a-64 against the FNV reference test
 * vectors; jump hash against values from an independent implementation of Lamping and Veach's
 * algorithm (Python, arbitrary-precision integers and float64 as in Go's code), over UTF-8 bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fnv1a64, jumpHash, shardIndex } from '../../../src/engine/redis/hash.js';

test('FNV-1a 64 matches the reference vectors', () => {
  assert.equal(fnv1a64(''), 0xcbf29ce484222325n);
  assert.equal(fnv1a64('a'), 0xaf63dc4c8601ec8cn);
  assert.equal(fnv1a64('foobar'), 0x85944171f73967e8n);
  // UTF-8 bytes, not UTF-16 code units.
  assert.equal(fnv1a64('тест'), 0x6af597f8cd7d77ccn);
});

test('jump consistent hash over FNV-1a 64 picks the shards the reference implementation picks', () => {
  const expected: Record<string, number[]> = {
    '': [1, 1, 1, 1, 90],
    a: [1, 2, 2, 2, 31],
    foobar: [1, 1, 1, 5, 33],
    'chat:index': [0, 0, 0, 0, 78],
    news: [1, 2, 3, 3, 81],
    '$user:42': [1, 1, 4, 4, 92],
    'тест': [1, 2, 2, 2, 85],
  };
  for (const [channel, shards] of Object.entries(expected)) {
    assert.deepEqual([2, 3, 5, 10, 100].map((n) => shardIndex(channel, n)), shards, channel);
  }
  assert.equal(shardIndex('anything', 1), 0);
});

test('adding a shard moves about 1/N of the channels, and only to the new shard', () => {
  let moved = 0;
  for (let i = 0; i < 10_000; i++) {
    const key = fnv1a64(`channel-${i}`);
    const before = jumpHash(key, 4);
    const after = jumpHash(key, 5);
    if (before !== after) {
      moved++;
      assert.equal(after, 4);
    }
  }
  // Expected 2,000 (1/5); the bound is loose so it checks the property, not the sample.
  assert.ok(moved > 1_500 && moved < 2_500, `moved ${moved}`);
});
