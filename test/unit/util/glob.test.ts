import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GlobSyntaxError, MAX_GLOB_NESTING, compileGlob } from '../../../src/util/glob.js';

const matches = (pattern: string, s: string): boolean => compileGlob(pattern).test(s);

test('wildcards: * and ** any run (empty included), ? exactly one code point', () => {
  assert.equal(matches('chat:*', 'chat:'), true);
  assert.equal(matches('chat:*', 'chat:a:b/c'), true);
  assert.equal(matches('**:x', 'a:b:x'), true);
  assert.equal(matches('news:?', 'news:a'), true);
  assert.equal(matches('news:?', 'news:ab'), false);
  assert.equal(matches('news:?', 'news:✓'), true);
  assert.equal(matches('news:?', 'news:😀'), true, 'one code point, not one UTF-16 unit');
  assert.equal(matches('chat:*', 'xchat:a'), false, 'the whole name must match');
});

test('character classes, negated classes and ranges', () => {
  assert.equal(matches('news:[ab]', 'news:a'), true);
  assert.equal(matches('news:[ab]', 'news:c'), false);
  assert.equal(matches('news:[!ab]', 'news:c'), true);
  assert.equal(matches('news:[!ab]', 'news:a'), false);
  assert.equal(matches('id:[0-9][0-9]', 'id:42'), true);
  assert.equal(matches('id:[0-9]', 'id:x'), false);
  assert.equal(matches('x[-]', 'x-'), true, 'a lone dash is literal');
  assert.equal(matches('x[\\]]', 'x]'), true, 'an escaped ] inside a class');
  assert.equal(matches('x[^]', 'x^'), true, '^ is literal in a class (gobwas negates with !)');
});

test('alternatives, nested and with wildcards inside', () => {
  assert.equal(matches('{chat,news}:*', 'chat:1'), true);
  assert.equal(matches('{chat,news}:*', 'news:1'), true);
  assert.equal(matches('{chat,news}:*', 'other:1'), false);
  assert.equal(matches('{a{b,c},d*}', 'ac'), true);
  assert.equal(matches('{a{b,c},d*}', 'dxyz'), true);
  assert.equal(matches('{a{b,c},d*}', 'a'), false);
  assert.equal(matches('a,b}', 'a,b}'), true, ', and } outside braces are literal');
});

test('escapes and regular-expression characters are literal', () => {
  assert.equal(matches('a\\*b', 'a*b'), true);
  assert.equal(matches('a\\*b', 'axb'), false);
  assert.equal(matches('a.b+(c)|$^/', 'a.b+(c)|$^/'), true);
  assert.equal(matches('a.b', 'axb'), false);
  assert.equal(matches('https://*.example.com', 'https://a.example.com'), true);
});

test('malformed patterns are refused with GlobSyntaxError', () => {
  for (const bad of ['news:[ab', '{a,b', 'a\\', 'x[]', 'x[!]', 'x[z-a]']) {
    assert.throws(() => compileGlob(bad), GlobSyntaxError, bad);
  }
});

test('patterns that make a backtracking regex explode are matched in linear passes', () => {
  assert.equal(matches('*a*a*a*a*a*a*a*b', 'a'.repeat(40)), false);
  assert.equal(matches(`${'{*,*}'.repeat(10)}b`, 'x'.repeat(20)), false);
  assert.equal(matches(`${'{*,*}'.repeat(10)}b`, `${'x'.repeat(20)}b`), true);
  assert.equal(matches('https://*.*.example.com', `https://${'.'.repeat(30_000)}`), false);
});

test('agrees with a reference backtracking matcher on random patterns and inputs', () => {
  // Reference semantics on a tiny alphabet, by brute force over the parsed pattern.
  type Item = { t: 'lit'; c: string } | { t: 'any' } | { t: 'star' } | { t: 'cls'; set: string; neg: boolean } | { t: 'alt'; alts: Item[][] };
  const atoms = ['a', 'b', '?', '*', '[ab]', '[!a]', '{a,b*}', '{,a?}'];
  const parse = (p: string): Item[] => {
    const out: Item[] = [];
    for (let i = 0; i < p.length; ) {
      if (p.startsWith('[ab]', i)) (out.push({ t: 'cls', set: 'ab', neg: false }), (i += 4));
      else if (p.startsWith('[!a]', i)) (out.push({ t: 'cls', set: 'a', neg: true }), (i += 4));
      else if (p.startsWith('{a,b*}', i)) (out.push({ t: 'alt', alts: [parse('a'), parse('b*')] }), (i += 6));
      else if (p.startsWith('{,a?}', i)) (out.push({ t: 'alt', alts: [[], parse('a?')] }), (i += 5));
      else if (p[i] === '*') (out.push({ t: 'star' }), i++);
      else if (p[i] === '?') (out.push({ t: 'any' }), i++);
      else (out.push({ t: 'lit', c: p[i]! }), i++);
    }
    return out;
  };
  const ref = (items: Item[], s: string): boolean => {
    if (items.length === 0) return s === '';
    const [h, ...rest] = items as [Item, ...Item[]];
    switch (h.t) {
      case 'lit':
        return s[0] === h.c && ref(rest, s.slice(1));
      case 'any':
        return s.length > 0 && ref(rest, s.slice(1));
      case 'cls':
        return s.length > 0 && h.set.includes(s[0]!) !== h.neg && ref(rest, s.slice(1));
      case 'star':
        for (let k = 0; k <= s.length; k++) if (ref(rest, s.slice(k))) return true;
        return false;
      case 'alt':
        return h.alts.some((a) => ref([...a, ...rest], s));
    }
  };
  let seed = 12345;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  for (let round = 0; round < 3000; round++) {
    const pattern = Array.from({ length: 1 + rand(5) }, () => atoms[rand(atoms.length)]).join('');
    const input = Array.from({ length: rand(7) }, () => 'abc'[rand(3)]).join('');
    assert.equal(matches(pattern, input), ref(parse(pattern), input), `${pattern} ~ ${JSON.stringify(input)}`);
  }
});

test('classes as gobwas reads them: one raw range, or a list with escapes', () => {
  assert.equal(matches('[\\a-z]', 'b'), false, 'an escape makes it the list {a, -, z}');
  assert.equal(matches('[\\a-z]', '-'), true);
  assert.equal(matches('[+-]]', 'A'), true, 'the range + to ]');
  for (const bad of ['[a-z0-9]', '[a-]x', '[a-\\z]']) assert.throws(() => compileGlob(bad), GlobSyntaxError, bad);
});

test(`braces nested deeper than ${MAX_GLOB_NESTING} are a syntax error, not a stack overflow`, () => {
  const deep = (n: number) => `${'{'.repeat(n)}a${'}'.repeat(n)}`;
  assert.equal(matches(deep(MAX_GLOB_NESTING), 'a'), true);
  assert.throws(() => compileGlob(deep(5000)), GlobSyntaxError);
});

test('a compiled pattern is reused across inputs without carrying state over', () => {
  const g = compileGlob('{chat,news}:[!x]*');
  const results = ['chat:a1', 'news:x', 'news:y', 'other:a', 'chat:', 'chat:b'].map((s) => g.test(s));
  assert.deepEqual(results, [true, false, true, false, false, true]);
});
