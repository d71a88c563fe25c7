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
 * be an attacker's Origin header. A pattern from a request (the `channels` API) is also bounded
 * in size (`GlobLimits`): a 200 KB pattern of `{a,*}` made each of 100 channel names cost
 * hundreds of thousands of steps per character, tens of seconds per request.
 */
export class GlobSyntaxError extends Error {}

/** A pattern over the `GlobLimits` it was compiled with; the message names the limit. */
export class GlobLimitError extends GlobSyntaxError {}

/**
 * Size bounds for a pattern that comes from a request. A character of the pattern adds at most
 * two states (a `{` one more per alternative), so a step of the match visits at most about
 * 2 × maxLength states, and a step the matcher has cached (see Machine) costs one lookup; the
 * wildcard bound limits the branching that keeps many states live at once.
 */
export interface GlobLimits {
  /** Longest pattern, in characters (code points). */
  readonly maxLength: number;
  /** Most wildcards and alternatives: each `*` run, `?` and `[…]` class counts one, each alternative of a `{…}` one. */
  readonly maxWildcards: number;
}

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

/**
 * Throws GlobSyntaxError, whose message names the problem and its position, and GlobLimitError
 * when `limits` are given and the pattern exceeds them.
 */
export function compileGlob(pattern: string, limits?: GlobLimits): GlobMatcher {
  // A code point is at most 2 UTF-16 units: refuse a huge pattern before splitting it.
  if (limits !== undefined && pattern.length > 2 * limits.maxLength) throw tooLong(limits);
  const chars = Array.from(pattern);
  if (limits !== undefined && chars.length > limits.maxLength) throw tooLong(limits);
  const maxWildcards = limits?.maxWildcards ?? Infinity;
  /** Wildcards and alternatives seen so far (see GlobLimits). */
  let wildcards = 0;
  const wildcard = (n: number): void => {
    if ((wildcards += n) > maxWildcards) throw new GlobLimitError(`pattern has more than ${maxWildcards} wildcards and alternatives`);
  };
  const states: State[] = [{ kind: Kind.Match, a: 0, out: -1, alt: -1, negated: false, ranges: [] }];
  const add = (s: Partial<State> & { kind: Kind }): number => states.push({ a: 0, out: -1, alt: -1, negated: false, ranges: [], ...s }) - 1;
  let i = 0;
  /** Braces open around `i`. */
  let nesting = 0;

  /** Compiles alternatives up to `}` (inside braces) or the end, each continuing at `next`. */
  const alternatives = (next: number, inBraces: boolean): number => {
    const starts: number[] = [];
    for (;;) {
      if (inBraces) wildcard(1);
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
        wildcard(1);
        while (chars[i] === '*') i++;
        items.push((then) => {
          const split = add({ kind: Kind.Split, alt: then });
          states[split]!.out = add({ kind: Kind.Any, out: split });
          return split;
        });
      } else if (ch === '?') {
        wildcard(1);
        items.push((then) => add({ kind: Kind.Any, out: then }));
      } else if (ch === '[') {
        wildcard(1);
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

function tooLong(limits: GlobLimits): GlobLimitError {
  return new GlobLimitError(`pattern is longer than ${limits.maxLength} characters`);
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

/**
 * Most sets of live states (DFA states) a matcher keeps with their transitions, and most state
 * ids over all of them: about 64 Ki × 4 bytes plus 512 bytes per set, whatever the inputs. Past
 * either, the rest of the input is stepped on the live states directly.
 */
const MAX_DFA_STATES = 256;
const MAX_DFA_ENTRIES = 64 * 1024;

/** A set of live states and the sets it leads to, built the first time a code point is read from it. */
interface DfaState {
  /** The states of the set (consuming ones and Match), sorted. Empty: no match is possible any more. */
  readonly live: Int32Array;
  readonly match: boolean;
  /** Next set for ASCII code points (-1: not built yet), and for the others. */
  readonly ascii: Int32Array;
  other: Map<number, number> | undefined;
}

/**
 * Runs the state machine on every live state at once (Thompson's construction), caching each set
 * of live states and its transitions as it is first met (a lazily built DFA): an input whose
 * steps are cached costs one table lookup per code point, and any step costs at most the
 * machine's size.
 */
class Machine implements GlobMatcher {
  // Work buffers, reused by every test() (it is synchronous).
  private current: Int32Array;
  private next: Int32Array;
  /** mark[s] === step when s is already in the list being built for that step. */
  private readonly mark: Int32Array;
  private readonly stack: number[] = [];
  /** Steps taken over all calls: marks from earlier calls are all below it. */
  private step = 0;
  private readonly dfa: DfaState[] = [];
  /** DFA state index by its `live` ids joined with ",". */
  private readonly dfaIndex = new Map<string, number>();
  private dfaEntries = 0;
  private readonly startDfa: number;

  constructor(
    private readonly states: readonly State[],
    start: number,
  ) {
    this.current = new Int32Array(states.length);
    this.next = new Int32Array(states.length);
    this.mark = new Int32Array(states.length).fill(-1);
    const size = this.close(start, this.next, 0, this.mark, ++this.step, this.stack);
    this.startDfa = this.intern(this.next, size, true);
  }

  test(input: string): boolean {
    if (this.step > 0x3fffffff - input.length) {
      this.mark.fill(-1);
      this.step = 0;
    }
    let d = this.dfa[this.startDfa]!;
    for (let pos = 0; pos < input.length && d.live.length > 0; ) {
      const cp = input.codePointAt(pos)!;
      pos += cp > 0xffff ? 2 : 1;
      let n = cp < 128 ? d.ascii[cp]! : (d.other?.get(cp) ?? -1);
      if (n < 0) {
        const size = this.stepFrom(d.live, d.live.length, cp, this.next);
        n = this.intern(this.next, size, false);
        if (n < 0) {
          const t = this.current;
          this.current = this.next;
          this.next = t;
          return this.runFrom(size, input, pos);
        }
        if (cp < 128) d.ascii[cp] = n;
        else (d.other ??= new Map()).set(cp, n);
      }
      d = this.dfa[n]!;
    }
    return d.match;
  }

  /** The DFA state of the set `list[0..size)`, added if new; -1 when the cache is full (unless `force`). */
  private intern(list: Int32Array, size: number, force: boolean): number {
    const live = list.slice(0, size).sort();
    const key = live.join(',');
    const known = this.dfaIndex.get(key);
    if (known !== undefined) return known;
    if (!force && (this.dfa.length >= MAX_DFA_STATES || this.dfaEntries + size > MAX_DFA_ENTRIES)) return -1;
    let match = false;
    for (const id of live) if (this.states[id]!.kind === Kind.Match) match = true;
    this.dfa.push({ live, match, ascii: new Int32Array(128).fill(-1), other: undefined });
    this.dfaEntries += size;
    this.dfaIndex.set(key, this.dfa.length - 1);
    return this.dfa.length - 1;
  }

  /** Without the cache: continues from the live states in `current[0..size)` at `pos`. */
  private runFrom(size: number, input: string, pos: number): boolean {
    while (pos < input.length && size > 0) {
      const cp = input.codePointAt(pos)!;
      pos += cp > 0xffff ? 2 : 1;
      size = this.stepFrom(this.current, size, cp, this.next);
      const t = this.current;
      this.current = this.next;
      this.next = t;
    }
    for (let k = 0; k < size; k++) if (this.states[this.current[k]!]!.kind === Kind.Match) return true;
    return false;
  }

  /** Fills `out` with the states reached from `live[0..size)` by reading `cp`; returns their number. */
  private stepFrom(live: Int32Array, size: number, cp: number, out: Int32Array): number {
    const step = ++this.step;
    let outSize = 0;
    for (let k = 0; k < size; k++) {
      const s = this.states[live[k]!]!;
      if (consumes(s, cp)) outSize = this.close(s.out, out, outSize, this.mark, step, this.stack);
    }
    return outSize;
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
