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

function leaf(n: FilterNode): TagsPredicate {
  if (n.key === '' || !LEAF_CMPS.has(n.cmp) || n.nodes.length > 0) throw errors.badRequest();
  const { key, val } = n;
  const vals = new Set(n.vals);
  const num = Number(val);
  const get = (t: Readonly<Record<string, string>> | undefined): string | undefined => (t !== undefined && Object.hasOwn(t, key) ? t[key] : undefined);
  // Numeric comparisons skip values that are not numbers (the publication does not match).
  const numeric = (t: Readonly<Record<string, string>> | undefined, cmp: (a: number) => boolean): boolean => {
    const v = get(t);
    if (v === undefined || v.trim() === '' || val.trim() === '') return false;
    const x = Number(v);
    return Number.isFinite(x) && Number.isFinite(num) && cmp(x);
  };
  switch (n.cmp) {
    case 'eq':
      return (t) => get(t) === val;
    case 'neq':
      return (t) => get(t) !== val;
    case 'in':
      return (t) => {
        const v = get(t);
        return v !== undefined && vals.has(v);
      };
    case 'nin':
      return (t) => {
        const v = get(t);
        return v === undefined || !vals.has(v);
      };
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
      return (t) => numeric(t, (x) => x < num);
    case 'lte':
      return (t) => numeric(t, (x) => x <= num);
    case 'gt':
      return (t) => numeric(t, (x) => x > num);
    default:
      return (t) => numeric(t, (x) => x >= num);
  }
}
