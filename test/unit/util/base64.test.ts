import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeStdBase64, isStdBase64 } from '../../../src/util/base64.js';

test('standard base64 is the standard alphabet with padding, as Go decodes it', () => {
  for (const ok of ['', 'AA==', 'AAA=', 'AAAA', 'ab+/', 'AP8=']) assert.equal(isStdBase64(ok), true, ok);
  // Node's decoder would accept every one of these (skipping, guessing padding, or reading the URL alphabet).
  for (const bad of ['A', 'AA', 'AA=', 'A===', 'AP-_', 'AP8=AA==', ' AAA', 'AA\n==', '====', 'aGVs!!bG8=']) assert.equal(isStdBase64(bad), false, bad);
});

test('decodeStdBase64 returns the bytes, or undefined for anything else', () => {
  assert.deepEqual(decodeStdBase64('AP8='), new Uint8Array([0, 255]));
  assert.deepEqual(decodeStdBase64(''), new Uint8Array(0));
  assert.equal(decodeStdBase64('AP-_'), undefined);
});
