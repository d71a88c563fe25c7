import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTagsFilter, MAX_FILTER_DEPTH, MAX_FILTER_NODES } from '../../../src/node/tags-filter.js';
import type { FilterNode } from '../../../src/protocol/types.js';
import { ReplyError } from '../../../src/protocol/errors.js';
import { ErrorCode } from '../../../src/protocol/codes.js';

const leaf = (key: string, cmp: string, val = '', vals: string[] = []): FilterNode => ({ op: '', key, cmp, val, vals, nodes: [] });
const node = (op: string, ...nodes: FilterNode[]): FilterNode => ({ op, key: '', cmp: '', val: '', vals: [], nodes });

test('leaf comparisons', () => {
  const t = { s: 'BTC-USD', n: '42', e: '' };
  const cases: [FilterNode, Record<string, string> | undefined, boolean][] = [
    [leaf('s', 'eq', 'BTC-USD'), t, true],
    [leaf('s', 'neq', 'BTC-USD'), t, false],
    [leaf('missing', 'neq', 'x'), t, true],
    [leaf('s', 'in', '', ['ETH', 'BTC-USD']), t, true],
    [leaf('s', 'nin', '', ['ETH']), t, true],
    [leaf('missing', 'in', '', ['x']), t, false],
    [leaf('s', 'ex'), t, true],
    [leaf('missing', 'nex'), t, true],
    [leaf('s', 'sw', 'BTC'), t, true],
    [leaf('s', 'ew', 'USD'), t, true],
    [leaf('s', 'ct', 'C-U'), t, true],
    [leaf('n', 'gt', '41'), t, true],
    [leaf('n', 'gte', '42'), t, true],
    [leaf('n', 'lt', '42'), t, false],
    [leaf('n', 'lte', '42'), t, true],
    [leaf('s', 'gt', '1'), t, false],
    [leaf('e', 'lt', '1'), t, false],
    [leaf('s', 'eq', 'x'), undefined, false],
  ];
  for (const [f, tags, want] of cases) assert.equal(compileTagsFilter(f)(tags), want, JSON.stringify(f));
});

test('and / or / not', () => {
  const f = node('and', leaf('a', 'eq', '1'), node('or', leaf('b', 'eq', '2'), node('not', leaf('c', 'ex'))));
  const p = compileTagsFilter(f);
  assert.equal(p({ a: '1', b: '2', c: 'x' }), true);
  assert.equal(p({ a: '1', c: 'x' }), false);
  assert.equal(p({ a: '1' }), true);
  assert.equal(p({ a: '2' }), false);
});

test('malformed and oversized trees are 107', () => {
  const bad: FilterNode[] = [
    leaf('', 'eq', 'x'),
    leaf('k', 'like', 'x'),
    node('xor', leaf('a', 'ex')),
    node('and'),
    node('not', leaf('a', 'ex'), leaf('b', 'ex')),
    node('or', ...Array.from({ length: MAX_FILTER_NODES }, () => leaf('a', 'ex'))),
  ];
  let deep = leaf('a', 'ex');
  for (let i = 0; i < MAX_FILTER_DEPTH; i++) deep = node('not', deep);
  bad.push(deep);
  for (const f of bad) {
    assert.throws(() => compileTagsFilter(f), (e: unknown) => e instanceof ReplyError && e.code === ErrorCode.badRequest.code, JSON.stringify(f).slice(0, 80));
  }
});

test('numeric comparisons are exact decimal ones; other notations never match', () => {
  const cases: [string, string, string, boolean][] = [
    ['gt', '9007199254740993', '9007199254740992', true],
    ['lt', '0.1', '0.10000000000000001', true],
    ['gte', '-0', '0', true],
    ['lte', '-12.5', '-12.49', true],
    ['gt', '10', '9.999', true],
    ['gt', '0x10', '15', false],
    ['gt', '1e3', '15', false],
    ['gt', ' 20', '15', false],
    ['gt', 'Infinity', '15', false],
    ['gt', '20', 'abc', false],
  ];
  for (const [cmp, value, bound, want] of cases) {
    assert.equal(compileTagsFilter(leaf('n', cmp, bound))({ n: value }), want, `${value} ${cmp} ${bound}`);
  }
});

test('operand rules as Centrifuge: val for value operators, non-empty vals for in/nin, neither for ex/nex; ex/nex need no key', () => {
  const bad = [leaf('k', 'eq', ''), leaf('k', 'gt', ''), leaf('k', 'eq', 'x', ['y']), leaf('k', 'in'), leaf('k', 'in', 'x', ['y']), leaf('k', 'ex', 'x'), leaf('k', 'nex', '', ['y'])];
  for (const f of bad) {
    assert.throws(() => compileTagsFilter(f), (e: unknown) => e instanceof ReplyError && e.code === ErrorCode.badRequest.code, JSON.stringify(f));
  }
  // A missing tag is the empty string to in/nin.
  assert.equal(compileTagsFilter(leaf('missing', 'in', '', ['', 'x']))({}), true);
  assert.equal(compileTagsFilter(leaf('missing', 'nin', '', ['']))({}), false);
  assert.equal(compileTagsFilter(leaf('', 'ex'))({ '': 'v' }), true);
  assert.equal(compileTagsFilter(leaf('', 'nex'))({}), true);
});
