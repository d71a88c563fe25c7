/**
 * Go-syntax regexes from config run on RE2 (re2js): Go's syntax and semantics, and matching in
 * time linear in the input. The catastrophic inputs below took JavaScript's backtracking engine
 * 25-48 s at 28 characters and would not finish at 10,000.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GoRegExpSyntaxError, goRegExp } from '../../../src/util/go-regexp.js';
import { configProblems } from '../../helpers/config.js';

test('catastrophic-backtracking patterns answer at once, even on long inputs', () => {
  const issuer = goRegExp('^https://([a-z0-9]+\\.?)+\\.example\\.com$');
  for (const n of [28, 10_000]) {
    assert.equal(issuer.test(`https://${'a'.repeat(n)}.example.comX`), false);
    assert.equal(issuer.namedGroups(`https://${'a'.repeat(n)}.example.comX`), undefined);
    assert.equal(issuer.test(`https://${'a'.repeat(n)}.example.com`), true);
  }
  const channel = goRegExp('^([a-z0-9]+_?)*$');
  for (const n of [28, 10_000]) {
    assert.equal(channel.test(`${'a'.repeat(n)}!`), false);
    assert.equal(channel.test('a_b'.repeat(n)), true);
  }
  assert.equal(goRegExp('(x+x+)+y').test('x'.repeat(10_000)), false);
});

test("Go's matching semantics: unanchored search, $ only at the end, . not newline, inline flags", () => {
  assert.equal(goRegExp('abc').test('xxabcxx'), true, 'MatchString searches');
  assert.equal(goRegExp('^abc$').test('xabc'), false);
  assert.equal(goRegExp('a$').test('a\n'), false, "$ is \\z without (?m), as in Go");
  assert.equal(goRegExp('(?m)a$').test('a\nb'), true);
  assert.equal(goRegExp('a.b').test('a\nb'), false);
  assert.equal(goRegExp('(?s)a.b').test('a\nb'), true);
  assert.equal(goRegExp('(?i)^ABC$').test('abc'), true);
  assert.equal(goRegExp('^.$').test('😀'), true, 'input is read by code point');
  assert.equal(goRegExp('^\\pL+$').test('привет'), true);
  assert.equal(goRegExp('^[[:alpha:]]+$').test('abc'), true);
});

test('named groups: (?P<name>…) and (?<name>…); only groups that took part in the match', () => {
  const re = goRegExp('^https://(?P<tenant>acme|globex)(?<suffix>-eu)?\\.example\\.com(?P<path>/.*)?$');
  assert.deepEqual(re.namedGroups('https://acme.example.com'), new Map([['tenant', 'acme']]));
  assert.deepEqual(
    re.namedGroups('https://globex-eu.example.com/x'),
    new Map([
      ['tenant', 'globex'],
      ['suffix', '-eu'],
      ['path', '/x'],
    ]),
  );
  assert.deepEqual(goRegExp('^a(?P<empty>x*)$').namedGroups('a'), new Map([['empty', '']]), 'an empty capture took part');
  assert.equal(re.namedGroups('https://other.example.com'), undefined);
  assert.deepEqual(goRegExp('^a+$').namedGroups('aa'), new Map(), 'a match without named groups');
  assert.equal(re.source, '^https://(?P<tenant>acme|globex)(?<suffix>-eu)?\\.example\\.com(?P<path>/.*)?$');
});

test('what Go refuses is a GoRegExpSyntaxError with its message: backreferences, lookaround, bad repeats', () => {
  const cases: [string, RegExp][] = [
    ['(a)\\1', /invalid escape sequence: `\\1`/],
    ['a(?=b)', /invalid or unsupported Perl syntax: `\(\?=`/],
    ['a(?!b)', /invalid or unsupported Perl syntax: `\(\?!`/],
    ['(?<=a)b', /invalid named capture/],
    ['a{1001}', /invalid repeat count/],
    ['a**', /invalid nested repetition operator/],
    ['(?P<n>a)(?P<n>b)', /duplicate capture group name/],
    ['^[a-z', /missing closing \]/],
  ];
  for (const [source, message] of cases) {
    assert.throws(() => goRegExp(source), (err: unknown) => err instanceof GoRegExpSyntaxError && err instanceof SyntaxError && message.test(err.message), source);
  }
});


test('checkconfig reports a backreference or lookaround as invalid, naming the key', () => {
  assert.deepEqual(configProblems({ channel: { namespaces: [{ name: 'ns', channel_regex: '^(a)\\1$' }] } }), [
    'channel.namespaces[0].channel_regex: invalid regular expression: error parsing regexp: invalid escape sequence: `\\1`',
  ]);
  assert.deepEqual(configProblems({ channel: { without_namespace: { channel_regex: '^a(?=b)' } } }), [
    'channel.without_namespace.channel_regex: invalid regular expression: error parsing regexp: invalid or unsupported Perl syntax: `(?=`',
  ]);
  const token = configProblems({ client: { token: { issuer_regex: '(?<=x)y', audience_regex: '(?!a)' } } });
  assert.equal(token.length, 2, token.join('\n'));
  assert.match(token.find((p) => p.startsWith('client.token.audience_regex: invalid regular expression')) ?? '', /\(\?!/);
  assert.match(token.find((p) => p.startsWith('client.token.issuer_regex: invalid regular expression')) ?? '', /invalid named capture/);
  assert.deepEqual(configProblems({ client: { token: { issuer_regex: '^https://([a-z0-9]+\\.?)+\\.example\\.com$' } } }), [], 'valid RE2 is accepted');
});
