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
