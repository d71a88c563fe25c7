import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GlobSyntaxError, globToRegExp } from '../../../src/util/glob.js';

const matches = (pattern: string, s: string): boolean => globToRegExp(pattern).test(s);

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
    assert.throws(() => globToRegExp(bad), GlobSyntaxError, bad);
  }
});
