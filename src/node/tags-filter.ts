/**
 * Publication tags filter (spec §5.9): a client-supplied predicate over a publication's tags,
 * evaluated per subscriber. Filtered publications are skipped but still advance the stream
 * position. It is a bandwidth feature, not a security one.
 *
 * Limits: at most `MAX_FILTER_NODES` nodes and `MAX_FILTER_DEPTH` levels; larger or malformed
 * trees are rejected with 107 bad request.
 */
import { errors } from '../protocol/errors.js';
import type { FilterNode } from '../protocol/types.js';

export const MAX_FILTER_NODES = 64;
export const MAX_FILTER_DEPTH = 8;

export type TagsPredicate = (tags: Readonly<Record<string, string>> | undefined) => boolean;

const LEAF_CMPS = new Set(['eq', 'neq', 'in', 'nin', 'ex', 'nex', 'sw', 'ew', 'ct', 'lt', 'lte', 'gt', 'gte']);

/** Validates and compiles a filter tree; throws 107 when it is malformed or too large. */
export function compileTagsFilter(root: FilterNode): TagsPredicate {
  let count = 0;
  const build = (n: FilterNode, depth: number): TagsPredicate => {
    if (++count > MAX_FILTER_NODES || depth > MAX_FILTER_DEPTH) throw errors.badRequest();
    switch (n.op) {
      case '':
        return leaf(n);
      case 'and': {
        if (n.nodes.length === 0) throw errors.badRequest();
        const parts = n.nodes.map((c) => build(c, depth + 1));
        return (t) => parts.every((p) => p(t));
      }
      case 'or': {
        if (n.nodes.length === 0) throw errors.badRequest();
        const parts = n.nodes.map((c) => build(c, depth + 1));
        return (t) => parts.some((p) => p(t));
      }
      case 'not': {
        if (n.nodes.length !== 1) throw errors.badRequest();
        const inner = build(n.nodes[0]!, depth + 1);
        return (t) => !inner(t);
      }
      default:
        throw errors.badRequest();
    }
  };
  return build(root, 1);
}

/** Operators that take `val` (non-empty) and no `vals`; `in`/`nin` take `vals` only; `ex`/`nex` neither. */
const VAL_CMPS = new Set(['eq', 'neq', 'sw', 'ew', 'ct', 'lt', 'lte', 'gt', 'gte']);

/** Validation as Centrifuge's: the operand fields each operator needs, and a key except for `ex`/`nex`. */
function validLeaf(n: FilterNode): boolean {
  if (!LEAF_CMPS.has(n.cmp) || n.nodes.length > 0) return false;
  if (VAL_CMPS.has(n.cmp)) {
    if (n.val === '' || n.vals.length > 0) return false;
  } else if (n.cmp === 'in' || n.cmp === 'nin') {
    if (n.vals.length === 0 || n.val !== '') return false;
  } else if (n.val !== '' || n.vals.length > 0) return false;
  return n.key !== '' || n.cmp === 'ex' || n.cmp === 'nex';
}

function leaf(n: FilterNode): TagsPredicate {
  if (!validLeaf(n)) throw errors.badRequest();
  const { key, val } = n;
  const vals = new Set(n.vals);
  const bound = parseDecimal(val);
  const get = (t: Readonly<Record<string, string>> | undefined): string | undefined => (t !== undefined && Object.hasOwn(t, key) ? t[key] : undefined);
  // Numeric comparisons are exact decimal ones; a value that is not a plain decimal number (or a
  // missing tag) does not match.
  const numeric = (t: Readonly<Record<string, string>> | undefined, ok: (order: number) => boolean): boolean => {
    const v = get(t);
    if (v === undefined || bound === undefined) return false;
    const x = parseDecimal(v);
    return x !== undefined && ok(compareDecimals(x, bound));
  };
  switch (n.cmp) {
    case 'eq':
      return (t) => get(t) === val;
    case 'neq':
      return (t) => get(t) !== val;
    // A missing tag compares as the empty string, as in Centrifuge.
    case 'in':
      return (t) => vals.has(get(t) ?? '');
    case 'nin':
      return (t) => !vals.has(get(t) ?? '');
    case 'ex':
      return (t) => get(t) !== undefined;
    case 'nex':
      return (t) => get(t) === undefined;
    case 'sw':
      return (t) => get(t)?.startsWith(val) === true;
    case 'ew':
      return (t) => get(t)?.endsWith(val) === true;
    case 'ct':
      return (t) => get(t)?.includes(val) === true;
    case 'lt':
      return (t) => numeric(t, (o) => o < 0);
    case 'lte':
      return (t) => numeric(t, (o) => o <= 0);
    case 'gt':
      return (t) => numeric(t, (o) => o > 0);
    default:
      return (t) => numeric(t, (o) => o >= 0);
  }
}

/** A decimal as sign, integer digits without leading zeros and fraction digits without trailing ones. */
interface Decimal {
  negative: boolean;
  int: string;
  frac: string;
}

/** Plain decimal notation only (`-12.50`, `+3`, `7`): no exponent, hex, spaces or Infinity; at most 19 fraction digits. */
const DECIMAL = /^([+-]?)(\d+)(?:\.(\d{1,19}))?$/;

function parseDecimal(text: string): Decimal | undefined {
  const m = DECIMAL.exec(text);
  if (m === null) return undefined;
  const int = m[2]!.replace(/^0+/, '');
  const frac = (m[3] ?? '').replace(/0+$/, '');
  // Zero has no sign: -0 equals 0.
  return { negative: m[1] === '-' && (int !== '' || frac !== ''), int, frac };
}

/** Exact order of two decimals: negative, zero or positive as a <, =, > b. */
function compareDecimals(a: Decimal, b: Decimal): number {
  if (a.negative !== b.negative) return a.negative ? -1 : 1;
  const sign = a.negative ? -1 : 1;
  if (a.int.length !== b.int.length) return sign * (a.int.length - b.int.length);
  if (a.int !== b.int) return sign * (a.int < b.int ? -1 : 1);
  if (a.frac !== b.frac) return sign * (a.frac < b.frac ? -1 : 1);
  return 0;
}
