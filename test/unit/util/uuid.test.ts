import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUuid } from '../../../src/util/uuid.js';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('randomUuid gives distinct version-4 UUIDs across several refills of its random pool', () => {
  const seen = new Set<string>();
  // 256 UUIDs per pool: 2,000 of them cross seven refills.
  for (let i = 0; i < 2000; i++) {
    const id = randomUuid();
    assert.match(id, V4);
    seen.add(id);
  }
  assert.equal(seen.size, 2000);
});

test('randomUuid uses every hex digit in every random position', () => {
  // Over 4,000 IDs each random nibble position sees all 16 digits unless the formatting drops
  // bits (probability of missing one by chance: about 16 · (15/16)^4000, negligible).
  const ids = Array.from({ length: 4000 }, randomUuid);
  for (let pos = 0; pos < 36; pos++) {
    if ([8, 13, 14, 18, 19, 23].includes(pos)) continue;
    const digits = new Set(ids.map((id) => id[pos]));
    assert.equal(digits.size, 16, `position ${pos}`);
  }
  // The variant nibble carries two random bits.
  assert.deepEqual(new Set(ids.map((id) => id[19])), new Set(['8', '9', 'a', 'b']));
});
