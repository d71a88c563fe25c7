import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CompactMultiMap, isMany } from '../../../src/util/multimap.js';

test('one value is stored directly, a second switches to a Set, and back', () => {
  const m = new CompactMultiMap<string, { id: number }>();
  const a = { id: 1 };
  const b = { id: 2 };
  assert.equal(m.add('k', a), true);
  assert.equal(m.get('k'), a);
  assert.equal(m.add('k', a), false, 'adding the same value twice keeps one');
  assert.equal(m.count('k'), 1);
  assert.equal(m.add('k', b), false);
  const v = m.get('k')!;
  assert.ok(isMany(v));
  assert.deepEqual([...v], [a, b]);
  assert.equal(m.delete('k', a), true);
  assert.equal(m.get('k'), b, 'back to the direct form');
  assert.equal(m.delete('k', a), false);
  assert.equal(m.delete('k', b), true);
  assert.equal(m.has('k'), false);
  assert.equal(m.size, 0);
});
