/**
 * Glob patterns from requests (the `channels` API) are bounded in size, and a compiled matcher
 * caches its sets of live states (a lazily built DFA) without changing any answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GlobLimitError, GlobSyntaxError, compileGlob, type GlobLimits } from '../../../src/util/glob.js';
import { CHANNELS_PATTERN_LIMITS } from '../../../src/node/channels.js';
import { readFileSync } from 'node:fs';

const LIMITS: GlobLimits = { maxLength: 10, maxWildcards: 3 };

const refusal = (pattern: string, limits: GlobLimits = LIMITS): string => {
  try {
    compileGlob(pattern, limits);
  } catch (err) {
    assert.ok(err instanceof GlobLimitError && err instanceof GlobSyntaxError, String(err));
    return err.message;
  }
  return 'accepted';
};

test('length: at most maxLength characters, counted in code points', () => {
  assert.equal(refusal('a'.repeat(10)), 'accepted');
  assert.equal(refusal('a'.repeat(11)), 'pattern is longer than 10 characters');
  assert.equal(refusal('😀'.repeat(10)), 'accepted', 'ten code points, twenty UTF-16 units');
  assert.equal(refusal('😀'.repeat(11)), 'pattern is longer than 10 characters');
  assert.equal(refusal('{a,*}'.repeat(40_000)), 'pattern is longer than 10 characters');
});

test('wildcards and alternatives: each * run, ?, class and brace alternative counts one', () => {
  assert.equal(refusal('***a?[ab]'), 'accepted', 'a run of * is one wildcard');
  assert.equal(refusal('*a*b*c*'), 'pattern has more than 3 wildcards and alternatives');
  assert.equal(refusal('{a,b,c}'), 'accepted');
  assert.equal(refusal('{a,b,c,d}'), 'pattern has more than 3 wildcards and alternatives');
  assert.equal(refusal('{a,b}*?'), 'pattern has more than 3 wildcards and alternatives');
  assert.equal(refusal('\\*\\?\\[\\{a'), 'accepted', 'escaped characters are literal');
  assert.equal(refusal('[!a]{b,c}'), 'accepted');
});

test('without limits (config patterns such as allowed_origins) nothing is refused for size', () => {
  assert.equal(compileGlob(`${'{a,*}'.repeat(200)}b`).test('aab'), true);
  assert.equal(compileGlob('*'.repeat(5000) + 'x').test('yyx'), true);
});

test('syntax errors stay GlobSyntaxError, not limit errors', () => {
  assert.throws(
    () => compileGlob('{a', LIMITS),
    (err: unknown) => err instanceof GlobSyntaxError && !(err instanceof GlobLimitError),
  );
});

test('the channels API limits are the ones docs/config.md states', () => {
  const doc = readFileSync(new URL('../../../docs/config.md', import.meta.url), 'utf8');
  const { maxLength, maxWildcards } = CHANNELS_PATTERN_LIMITS;
  assert.match(doc, new RegExp(`\`pattern\` of at most ${maxLength} characters with at most ${maxWildcards} wildcards and alternatives`));
});

test('one matcher over many inputs, past its cache of live-state sets, agrees with a direct check', () => {
  // "the 9th character from the end is a": 2^9 sets of live states, more than the matcher caches.
  const ninth = compileGlob(`*a${'?'.repeat(8)}`);
  const endsWithAb = compileGlob('*a*b');
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  for (let round = 0; round < 3000; round++) {
    const input = Array.from({ length: rand(40) }, () => 'ab'[rand(2)]).join('');
    assert.equal(ninth.test(input), input.length >= 9 && input[input.length - 9] === 'a', input);
    assert.equal(endsWithAb.test(input), /a.*b$/.test(input), input);
  }
});

test('non-ASCII input goes through the same cache', () => {
  const g = compileGlob('{чат,news}:[!x]*');
  assert.deepEqual(
    ['чат:1', 'чат:x', 'news:ё', 'чат:😀', 'чаt:1', 'чат:1'].map((s) => g.test(s)),
    [true, false, true, true, false, true],
  );
});
