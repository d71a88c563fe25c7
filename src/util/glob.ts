/**
 * Glob patterns in the syntax Centrifugo takes from gobwas/glob (compiled without separators), for
 * the `channels` API `pattern` and `client.allowed_origins`. Matching is over the whole string.
 *
 * - `*` and `**`: any run of characters, empty included;
 * - `?`: one character (a code point);
 * - `[abc]`, `[a-z]`: one of the characters or ranges; `[!abc]`, `[!a-z]`: any other one;
 * - `{a,b*,c}`: one of the comma-separated alternatives, each a pattern itself (nesting allowed);
 * - `\x`: the character `x` taken literally.
 *
 * `,` and `}` outside braces are literal. An unclosed `[` or `{`, an empty class, a reversed
 * range or a trailing `\` is an error (GlobSyntaxError), as gobwas refuses to compile them.
 *
 * Patterns compile to a state machine run over all its states at once (no backtracking): a match
 * costs at most input length × pattern size steps, whatever the pattern. A backtracking regular
 * expression (`.*` per `*`) takes time exponential in the number of wildcards, and the input can
 * be an attacker's Origin header.
 */
export class GlobSyntaxError extends Error {}

export interface GlobMatcher {
  test(input: string): boolean;
}

const enum Kind {
  /** Consumes the code point `a`. */
  Char,
  /** Consumes any code point. */
  Any,
  /** Consumes a code point in (or, negated, outside) `ranges`. */
  Class,
  /** Consumes nothing; continues at `out` and at `alt`. */
  Split,
  Match,
}

interface State {
  kind: Kind;
  a: number;
  out: number;
  alt: number;
  negated: boolean;
  /** Inclusive code point ranges, flat: [lo0, hi0, lo1, hi1, …]. */
  ranges: number[];
}

/** Deepest `{` nesting accepted: the compiler recurses once per level. */
export const MAX_GLOB_NESTING = 64;

/** Throws GlobSyntaxError, whose message names the problem and its position. */
export function compileGlob(pattern: string): GlobMatcher {
  const states: State[] = [{ kind: Kind.Match, a: 0, out: -1, alt: -1, negated: false, ranges: [] }];
  const add = (s: Partial<State> & { kind: Kind }): number => states.push({ a: 0, out: -1, alt: -1, negated: false, ranges: [], ...s }) - 1;
  const chars = Array.from(pattern);
  let i = 0;
  /** Braces open around `i`. */
  let nesting = 0;

  /** Compiles alternatives up to `}` (inside braces) or the end, each continuing at `next`. */
  const alternatives = (next: number, inBraces: boolean): number => {
    const starts: number[] = [];
    for (;;) {
      starts.push(sequence(next, inBraces));
      if (inBraces && chars[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    if (inBraces) {
      if (chars[i] !== '}') throw new GlobSyntaxError('unclosed "{"');
      i++;
    }
    let start = starts[starts.length - 1]!;
    for (let k = starts.length - 2; k >= 0; k--) start = add({ kind: Kind.Split, out: starts[k]!, alt: start });
    return start;
  };

  /**
   * One alternative: items up to a `,` or `}` that closes the braces, or the end. States are
   * built back to front, each pointing at the one after it, so the items are collected first.
   */
  const sequence = (next: number, inBraces: boolean): number => {
    const items: ((then: number) => number)[] = [];
    while (i < chars.length) {
      const ch = chars[i]!;
      if (inBraces && (ch === ',' || ch === '}')) break;
      i++;
      if (ch === '\\') {
        if (i >= chars.length) throw new GlobSyntaxError('pattern ends with an unfinished escape "\\"');
        const cp = chars[i++]!.codePointAt(0)!;
        items.push((then) => add({ kind: Kind.Char, a: cp, out: then }));
      } else if (ch === '*') {
        while (chars[i] === '*') i++;
        items.push((then) => {
          const split = add({ kind: Kind.Split, alt: then });
          states[split]!.out = add({ kind: Kind.Any, out: split });
          return split;
        });
      } else if (ch === '?') items.push((then) => add({ kind: Kind.Any, out: then }));
      else if (ch === '[') {
        const cls = readClass(chars, i - 1);
        i = cls.end + 1;
        items.push((then) => add({ kind: Kind.Class, negated: cls.negated, ranges: cls.ranges, out: then }));
      } else if (ch === '{') {
        // Parsed at once; its alternatives all continue at `join`, an empty split pointed at
        // whatever follows once that is built.
        if (++nesting > MAX_GLOB_NESTING) throw new GlobSyntaxError(`braces nested deeper than ${MAX_GLOB_NESTING}`);
        const join = add({ kind: Kind.Split });
        const first = alternatives(join, true);
        nesting--;
        items.push((then) => {
          states[join]!.out = states[join]!.alt = then;
          return first;
        });
      } else {
        const cp = ch.codePointAt(0)!;
        items.push((then) => add({ kind: Kind.Char, a: cp, out: then }));
      }
    }
    let start = next;
    for (let k = items.length - 1; k >= 0; k--) start = items[k]!(start);
    return start;
  };

  const start = alternatives(0, false);
  return new Machine(states, start);
}

/**
 * The class opened at `start`: its ranges, negation, and the index of its `]`. As gobwas reads a
 * class: after an optional `!`, either exactly one range `lo-hi` of raw characters (no escapes)
 * closed by `]`, or a list of characters (escapes apply) up to an unescaped `]`. So `[a-z0-9]` and
 * `[a-]` are errors, `[\\a-z]` is the list {a, -, z}, and `[+-]]` is the range `+`..`]`.
 */
function readClass(chars: string[], start: number): { ranges: number[]; negated: boolean; end: number } {
  let i = start + 1;
  const negated = chars[i] === '!';
  if (negated) i++;
  const ranges: number[] = [];
  if (chars[i + 1] === '-' && i + 2 < chars.length) {
    const lo = chars[i]!;
    const hi = chars[i + 2]!;
    if (chars[i + 3] !== ']') throw new GlobSyntaxError(`a range must be the whole class, as in "[a-z]", at position ${start}`);
    if (hi.codePointAt(0)! < lo.codePointAt(0)!) throw new GlobSyntaxError(`reversed range "${lo}-${hi}" at position ${start}`);
    ranges.push(lo.codePointAt(0)!, hi.codePointAt(0)!);
    return { ranges, negated, end: i + 3 };
  }
  for (; i < chars.length && chars[i] !== ']'; i++) {
    let c = chars[i]!;
    if (c === '\\' && i + 1 < chars.length) c = chars[++i]!;
    ranges.push(c.codePointAt(0)!, c.codePointAt(0)!);
  }
  if (i >= chars.length) throw new GlobSyntaxError(`unclosed "[" at position ${start}`);
  if (ranges.length === 0) throw new GlobSyntaxError(`empty character class at position ${start}`);
  return { ranges, negated, end: i };
}

/** Runs the state machine on every live state at once (Thompson's construction). */
class Machine implements GlobMatcher {
  // Work buffers, reused by every test() (it is synchronous): a match allocates nothing.
  private current: Int32Array;
  private next: Int32Array;
  /** mark[s] === step when s is already in the list being built for that step. */
  private readonly mark: Int32Array;
  private readonly stack: number[] = [];
  /** Steps taken over all calls: marks from earlier calls are all below it. */
  private step = 0;

  constructor(
    private readonly states: readonly State[],
    private readonly start: number,
  ) {
    this.current = new Int32Array(states.length);
    this.next = new Int32Array(states.length);
    this.mark = new Int32Array(states.length).fill(-1);
  }

  test(input: string): boolean {
    if (this.step > 0x3fffffff - input.length) {
      this.mark.fill(-1);
      this.step = 0;
    }
    let current = this.current;
    let next = this.next;
    const mark = this.mark;
    const stack = this.stack;
    let step = ++this.step;
    let size = this.close(this.start, current, 0, mark, step, stack);
    for (let pos = 0; pos < input.length && size > 0; ) {
      const cp = input.codePointAt(pos)!;
      pos += cp > 0xffff ? 2 : 1;
      step = ++this.step;
      let nextSize = 0;
      for (let k = 0; k < size; k++) {
        const s = this.states[current[k]!]!;
        if (consumes(s, cp)) nextSize = this.close(s.out, next, nextSize, mark, step, stack);
      }
      const t = current;
      current = next;
      next = t;
      size = nextSize;
    }
    for (let k = 0; k < size; k++) if (this.states[current[k]!]!.kind === Kind.Match) return true;
    return false;
  }

  /** Adds `from` and every state it reaches without consuming to `list`; returns the new size. */
  private close(from: number, list: Int32Array, size: number, mark: Int32Array, step: number, stack: number[]): number {
    stack.push(from);
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (mark[id] === step) continue;
      mark[id] = step;
      const s = this.states[id]!;
      if (s.kind === Kind.Split) stack.push(s.alt, s.out);
      else list[size++] = id;
    }
    return size;
  }
}

function consumes(s: State, cp: number): boolean {
  switch (s.kind) {
    case Kind.Char:
      return s.a === cp;
    case Kind.Any:
      return true;
    case Kind.Class: {
      let inside = false;
      for (let r = 0; r < s.ranges.length && !inside; r += 2) inside = cp >= s.ranges[r]! && cp <= s.ranges[r + 1]!;
      return inside !== s.negated;
    }
    default:
      return false;
  }
}
