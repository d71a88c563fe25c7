import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SmallMap } from '../../../src/util/small-map.js';

test('SmallMap behaves like a Map through 0, 1 and many entries', () => {
  const m = new SmallMap<string, number>();
  const ref = new Map<string, number>();
  const ops: [string, string, number?][] = [
    ['set', 'a', 1], ['set', 'a', 2], ['set', 'b', 3], ['delete', 'a'], ['set', 'c', 4], ['delete', 'b'],
    ['delete', 'c'], ['delete', 'x'], ['set', 'd', 5], ['delete', 'd'], ['set', 'e', 6], ['set', 'f', 7], ['set', 'g', 8],
  ];
  for (const [op, k, v] of ops) {
    if (op === 'set') {
      m.set(k, v!);
      ref.set(k, v!);
    } else assert.equal(m.delete(k), ref.delete(k), `delete ${k}`);
    assert.equal(m.size, ref.size);
    for (const key of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'x']) {
      assert.equal(m.get(key), ref.get(key));
      assert.equal(m.has(key), ref.has(key));
    }
    assert.deepEqual(m.values().sort(), [...ref.values()].sort());
  }
});
