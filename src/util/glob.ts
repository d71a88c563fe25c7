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
 */
export class GlobSyntaxError extends Error {}

/** Characters with a meaning in a `u`-flag regular expression outside a class. */
const REGEX_SYNTAX = new Set('^$\\.*+?()[]{}|/');
/** Characters that need escaping inside a `u`-flag class. */
const CLASS_SYNTAX = new Set('\\]^-[');

const literal = (ch: string): string => (REGEX_SYNTAX.has(ch) ? `\\${ch}` : ch);
const classChar = (ch: string): string => (CLASS_SYNTAX.has(ch) ? `\\${ch}` : ch);

/** Throws GlobSyntaxError, whose message names the problem and its position. */
export function globToRegExp(pattern: string): RegExp {
  const chars = Array.from(pattern);
  let re = '';
  let depth = 0;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '\\') {
      if (i + 1 >= chars.length) throw new GlobSyntaxError(`pattern ends with an unfinished escape "\\"`);
      re += literal(chars[++i]!);
    } else if (ch === '*') {
      while (chars[i + 1] === '*') i++;
      re += '.*';
    } else if (ch === '?') re += '.';
    else if (ch === '[') i = readClass(chars, i, (part) => (re += part));
    else if (ch === '{') {
      depth++;
      re += '(?:';
    } else if (ch === ',' && depth > 0) re += '|';
    else if (ch === '}' && depth > 0) {
      depth--;
      re += ')';
    } else re += literal(ch);
  }
  if (depth > 0) throw new GlobSyntaxError('unclosed "{"');
  return new RegExp(`^${re}$`, 'su');
}

/** Reads the class opened at `start`; hands its regular expression to `emit`, returns the index of `]`. */
function readClass(chars: string[], start: number, emit: (part: string) => void): number {
  let i = start + 1;
  const negated = chars[i] === '!';
  if (negated) i++;
  let body = '';
  let items = 0;
  for (; i < chars.length && chars[i] !== ']'; i++) {
    let lo = chars[i]!;
    if (lo === '\\' && i + 1 < chars.length) lo = chars[++i]!;
    if (chars[i + 1] === '-' && i + 2 < chars.length && chars[i + 2] !== ']') {
      let hi = chars[i + 2]!;
      i += 2;
      if (hi === '\\' && i + 1 < chars.length) hi = chars[++i]!;
      if (hi.codePointAt(0)! < lo.codePointAt(0)!) throw new GlobSyntaxError(`reversed range "${lo}-${hi}" at position ${start}`);
      body += `${classChar(lo)}-${classChar(hi)}`;
    } else body += classChar(lo);
    items++;
  }
  if (i >= chars.length) throw new GlobSyntaxError(`unclosed "[" at position ${start}`);
  if (items === 0) throw new GlobSyntaxError(`empty character class at position ${start}`);
  emit(`[${negated ? '^' : ''}${body}]`);
  return i;
}
