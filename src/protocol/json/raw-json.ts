/**
 * A strict JSON parser that can hand back selected values as their exact source text.
 *
 * Centrifugo's `bytes` fields (publication `data`, `info`, RPC payloads...) are raw JSON embedded
 * in the envelope and must reach subscribers byte for byte: `JSON.parse` would round big integers
 * (12345678901234567890), drop duplicate keys and reformat whitespace. This single-pass scanner
 * builds ordinary JS values for everything else and wraps raw-key values in `RawJson`.
 *
 * Strictness follows RFC 8259: no comments, trailing commas, single quotes, NaN/Infinity, leading
 * zeros or raw control characters in strings. Lone surrogate escapes (`"\ud800"`) are accepted,
 * as `JSON.parse` does. Nesting is capped at `MAX_JSON_DEPTH` so hostile input cannot overflow the
 * stack.
 */
import { ProtocolDecodeError } from '../codec.js';

/** The exact source text of a JSON value (trimmed of surrounding whitespace, otherwise untouched). */
export class RawJson {
  constructor(readonly text: string) {}
}

/**
 * Decides which object members are kept raw. `depth` is the nesting level of the object holding
 * `key`: 0 for the top-level object, +1 for every enclosing object or array. For a client command
 * `{"id":1,"publish":{"channel":"c","data":{...}}}` the `data` key is at depth 1.
 */
export type RawKeyPredicate = (key: string, depth: number) => boolean;

/** Deepest object/array nesting accepted (Go's encoding/json allows 10000; real payloads stay far below). */
/** V8's minimum length for sliced strings (shorter slices are copied anyway). */
const SLICED_STRING_MIN = 13;

export const MAX_JSON_DEPTH = 1000;

const neverRaw: RawKeyPredicate = () => false;

/**
 * Parses `text` as one JSON value (surrounding whitespace allowed). Members whose key satisfies
 * `isRawKey` come back as `RawJson` (including `null` values, as `RawJson('null')`), everything
 * else as plain values like `JSON.parse` would return. Throws `ProtocolDecodeError` on any
 * malformed input.
 */
export function parseJsonWithRaw(text: string, isRawKey: RawKeyPredicate = neverRaw): unknown {
  const s = new Scanner(text, isRawKey);
  s.skipWs();
  const value = s.parseValue(0);
  s.skipWs();
  if (s.pos !== text.length) s.fail('unexpected data after JSON value');
  return value;
}

/**
 * A stream of top-level JSON objects, with any whitespace or none between them (`{…}{…}`, one per
 * line, or pretty-printed across lines), as Go's `json.Decoder` reads values until EOF; raw keys as
 * in `parseJsonWithRaw`. Throws `ProtocolDecodeError` when something other than an object starts
 * at the top level or an object is malformed.
 */
export function parseJsonObjects(text: string, isRawKey: RawKeyPredicate = neverRaw): Record<string, unknown>[] {
  const s = new Scanner(text, isRawKey);
  const out: Record<string, unknown>[] = [];
  for (s.skipWs(); s.pos < text.length; s.skipWs()) {
    if (text.charCodeAt(s.pos) !== 0x7b) s.fail("expected '{'");
    out.push(s.parseValue(0) as Record<string, unknown>);
  }
  return out;
}

/**
 * True when `text` is exactly one valid JSON value (surrounding whitespace allowed). Builds no
 * values, so it is cheaper than `JSON.parse` for validating payloads before embedding them.
 */
export function isValidJson(text: string): boolean {
  const s = new Scanner(text, neverRaw);
  try {
    s.skipWs();
    s.skipValue(0);
    s.skipWs();
    return s.pos === text.length;
  } catch (err) {
    if (err instanceof ProtocolDecodeError) return false;
    throw err;
  }
}

const enum Ch {
  Tab = 0x09,
  Lf = 0x0a,
  Cr = 0x0d,
  Space = 0x20,
  Quote = 0x22,
  Plus = 0x2b,
  Comma = 0x2c,
  Minus = 0x2d,
  Dot = 0x2e,
  D0 = 0x30,
  D1 = 0x31,
  D9 = 0x39,
  Colon = 0x3a,
  UpperE = 0x45,
  LBracket = 0x5b,
  Backslash = 0x5c,
  RBracket = 0x5d,
  LowerE = 0x65,
  LBrace = 0x7b,
  RBrace = 0x7d,
}

/** Characters allowed after a backslash, besides `u`: `"` `\` `/` `b` `f` `n` `r` `t`. */
function isSimpleEscape(c: number): boolean {
  return c === 0x22 || c === 0x5c || c === 0x2f || c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 || c === 0x74;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

function isDigit(c: number): boolean {
  return c >= Ch.D0 && c <= Ch.D9;
}

class Scanner {
  pos = 0;
  /** Set by `scanString`: whether the string just scanned contained a backslash escape. */
  private escaped = false;

  constructor(
    private readonly text: string,
    private readonly isRawKey: RawKeyPredicate,
  ) {}

  fail(msg: string): never {
    throw new ProtocolDecodeError(`invalid JSON at offset ${this.pos}: ${msg}`);
  }

  skipWs(): void {
    const t = this.text;
    let p = this.pos;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === Ch.Space || c === Ch.Lf || c === Ch.Cr || c === Ch.Tab) p++;
      else break;
    }
    this.pos = p;
  }

  parseValue(depth: number): unknown {
    const c = this.text.charCodeAt(this.pos);
    switch (c) {
      case Ch.LBrace:
        return this.parseObject(depth);
      case Ch.LBracket:
        return this.parseArray(depth);
      case Ch.Quote:
        return this.parseString();
      case 0x74: // t
        return this.literal('true', true);
      case 0x66: // f
        return this.literal('false', false);
      case 0x6e: // n
        return this.literal('null', null);
      default:
        if (c === Ch.Minus || isDigit(c)) {
          const start = this.pos;
          this.scanNumber();
          return Number(this.text.slice(start, this.pos));
        }
        return this.fail(Number.isNaN(c) ? 'unexpected end of input' : 'unexpected character');
    }
  }

  /** Same grammar as `parseValue`, building nothing. */
  skipValue(depth: number): void {
    const c = this.text.charCodeAt(this.pos);
    switch (c) {
      case Ch.LBrace:
        this.skipObject(depth);
        return;
      case Ch.LBracket:
        this.skipArray(depth);
        return;
      case Ch.Quote:
        this.scanString();
        return;
      case 0x74:
        this.literal('true', true);
        return;
      case 0x66:
        this.literal('false', false);
        return;
      case 0x6e:
        this.literal('null', null);
        return;
      default:
        if (c === Ch.Minus || isDigit(c)) {
          this.scanNumber();
          return;
        }
        this.fail(Number.isNaN(c) ? 'unexpected end of input' : 'unexpected character');
    }
  }

  private literal<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail('invalid literal');
    this.pos += word.length;
    return value;
  }

  private enter(depth: number): void {
    if (depth >= MAX_JSON_DEPTH) this.fail(`nesting deeper than ${MAX_JSON_DEPTH}`);
    this.pos++; // the opening bracket
    this.skipWs();
  }

  /** After a member or element: consumes `,` (returns true) or the closing bracket (false). */
  private next(close: number): boolean {
    this.skipWs();
    const c = this.text.charCodeAt(this.pos);
    if (c === Ch.Comma) {
      this.pos++;
      this.skipWs();
      return true;
    }
    if (c === close) {
      this.pos++;
      return false;
    }
    return this.fail(`expected ',' or '${String.fromCharCode(close)}'`);
  }

  private memberKey(): string {
    if (this.text.charCodeAt(this.pos) !== Ch.Quote) this.fail('expected string key');
    const key = this.parseString();
    this.skipWs();
    if (this.text.charCodeAt(this.pos) !== Ch.Colon) this.fail("expected ':'");
    this.pos++;
    this.skipWs();
    return key;
  }

  private parseObject(depth: number): Record<string, unknown> {
    this.enter(depth);
    const obj: Record<string, unknown> = {};
    if (this.text.charCodeAt(this.pos) === Ch.RBrace) {
      this.pos++;
      return obj;
    }
    do {
      const key = this.memberKey();
      let value: unknown;
      if (this.isRawKey(key, depth)) {
        const start = this.pos;
        this.skipValue(depth + 1);
        value = new RawJson(this.text.slice(start, this.pos));
      } else {
        value = this.parseValue(depth + 1);
      }
      // A plain assignment to `__proto__` would replace the prototype instead of adding a key.
      if (key === '__proto__') {
        Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
      } else {
        obj[key] = value;
      }
    } while (this.next(Ch.RBrace));
    return obj;
  }

  private skipObject(depth: number): void {
    this.enter(depth);
    if (this.text.charCodeAt(this.pos) === Ch.RBrace) {
      this.pos++;
      return;
    }
    do {
      this.memberKey();
      this.skipValue(depth + 1);
    } while (this.next(Ch.RBrace));
  }

  private parseArray(depth: number): unknown[] {
    this.enter(depth);
    const arr: unknown[] = [];
    if (this.text.charCodeAt(this.pos) === Ch.RBracket) {
      this.pos++;
      return arr;
    }
    do arr.push(this.parseValue(depth + 1));
    while (this.next(Ch.RBracket));
    return arr;
  }

  private skipArray(depth: number): void {
    this.enter(depth);
    if (this.text.charCodeAt(this.pos) === Ch.RBracket) {
      this.pos++;
      return;
    }
    do this.skipValue(depth + 1);
    while (this.next(Ch.RBracket));
  }

  private parseString(): string {
    const start = this.pos;
    this.scanString();
    // Escapes were validated by the scan, so JSON.parse cannot fail here. V8 turns a `slice` of 13
    // or more characters into a view that keeps the whole source text alive; decoded values (a
    // token, a channel name) can live as long as a connection, so those get a fresh flat string
    // from JSON.parse instead of pinning the frame they came in.
    if (this.escaped || this.pos - start - 2 >= SLICED_STRING_MIN) return JSON.parse(this.text.slice(start, this.pos)) as string;
    return this.text.slice(start + 1, this.pos - 1);
  }

  /** Moves past a string starting at `pos` (on the opening quote), validating escapes. */
  private scanString(): void {
    const t = this.text;
    const len = t.length;
    let p = this.pos + 1;
    let escaped = false;
    for (;;) {
      if (p >= len) {
        this.pos = p;
        this.fail('unterminated string');
      }
      const c = t.charCodeAt(p);
      if (c === Ch.Quote) break;
      if (c === Ch.Backslash) {
        escaped = true;
        const e = t.charCodeAt(p + 1);
        if (e === 0x75) {
          // \uXXXX
          if (!(isHex(t.charCodeAt(p + 2)) && isHex(t.charCodeAt(p + 3)) && isHex(t.charCodeAt(p + 4)) && isHex(t.charCodeAt(p + 5)))) {
            this.pos = p;
            this.fail('invalid \\u escape');
          }
          p += 6;
        } else if (isSimpleEscape(e)) {
          p += 2;
        } else {
          this.pos = p;
          this.fail('invalid escape');
        }
      } else if (c < Ch.Space) {
        this.pos = p;
        this.fail('control character in string');
      } else {
        p++;
      }
    }
    this.pos = p + 1;
    this.escaped = escaped;
  }

  /** Moves past `-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`. */
  private scanNumber(): void {
    const t = this.text;
    let p = this.pos;
    if (t.charCodeAt(p) === Ch.Minus) p++;
    const first = t.charCodeAt(p);
    if (first === Ch.D0) {
      p++;
    } else if (first >= Ch.D1 && first <= Ch.D9) {
      p++;
      while (isDigit(t.charCodeAt(p))) p++;
    } else {
      this.pos = p;
      this.fail('invalid number');
    }
    if (t.charCodeAt(p) === Ch.Dot) {
      p++;
      if (!isDigit(t.charCodeAt(p))) {
        this.pos = p;
        this.fail('invalid number fraction');
      }
      while (isDigit(t.charCodeAt(p))) p++;
    }
    const e = t.charCodeAt(p);
    if (e === Ch.LowerE || e === Ch.UpperE) {
      p++;
      const sign = t.charCodeAt(p);
      if (sign === Ch.Plus || sign === Ch.Minus) p++;
      if (!isDigit(t.charCodeAt(p))) {
        this.pos = p;
        this.fail('invalid number exponent');
      }
      while (isDigit(t.charCodeAt(p))) p++;
    }
    this.pos = p;
  }
}
