/**
 * JWKS endpoint templates (`client.token.jwks_public_endpoint` with `{{name}}` placeholders), as in
 * Centrifugo: each placeholder is filled from the named group `name` of `issuer_regex` /
 * `audience_regex` (Go syntax `(?P<name>…)`), captured while the token's `iss` / `aud` is checked.
 *
 * The captured values come from claims that are not verified yet (the key to verify them is what
 * the URL fetches), so a permissive group would let any token point the server at a host or path
 * of its choosing. Centrifugo v6.7 therefore refuses to start unless every group used in the
 * template is an explicit list of fixed strings, and `insecure_skip_jwks_endpoint_safety_check`
 * turns that off. `checkTemplateSafety` applies the same rule on the pattern text; `expandTemplate`
 * adds a runtime guard against values that would change the URL's structure.
 */

/** `{{name}}` occurrences in the endpoint, in order (names may repeat); [] for a plain URL. */
export function templatePlaceholders(endpoint: string): string[] {
  const names: string[] = [];
  let rest = endpoint;
  for (;;) {
    const open = rest.indexOf('{{');
    if (open < 0) return names;
    const close = rest.indexOf('}}', open + 2);
    if (close < 0) return names;
    names.push(rest.slice(open + 2, close));
    rest = rest.slice(close + 2);
  }
}

/**
 * Fills the placeholders from `vars`. Returns undefined (the token is then invalid) when a
 * placeholder has no captured value — its group is in neither regex, did not take part in the
 * match, or captured "" — or when a value contains a character that would change the URL's
 * structure (`/ \ ? # @ %`, whitespace or control characters) or is `.`/`..`. Centrifugo guards
 * the path at runtime too; an operator's list of fixed values never needs these characters.
 */
export function expandTemplate(endpoint: string, vars: ReadonlyMap<string, string>): string | undefined {
  let out = '';
  let rest = endpoint;
  for (;;) {
    const open = rest.indexOf('{{');
    const close = open < 0 ? -1 : rest.indexOf('}}', open + 2);
    if (close < 0) return out + rest;
    const value = vars.get(rest.slice(open + 2, close));
    if (value === undefined || value === '' || value === '.' || value === '..' || UNSAFE_VALUE.test(value)) return undefined;
    out += rest.slice(0, open) + value;
    rest = rest.slice(close + 2);
  }
}

// eslint-disable-next-line no-control-regex
const UNSAFE_VALUE = /[/\\?#@%\s\x00-\x1f\x7f]/;

/**
 * Throws (a configuration error) unless every named group that a placeholder uses is an explicit
 * alternation of fixed strings in each regex that defines it, and neither regex contains a
 * character class (`[…]`, `\d \D \w \W \s \S \p \P`), whatever its position. This accepts a
 * subset of what Centrifugo's check (on the parsed Go regexp) accepts and refuses everything it
 * refuses: inside such a group only literal characters, escaped punctuation, `\xHH`, `|` and
 * nested groups (`(…)`, `(?:…)`, named) may appear; `.`, quantifiers (`* + ? {`), anchors
 * (`^ $`), other escapes (`\b`, `\Q`, …) and flag groups (`(?i)`) are refused.
 */
export function checkTemplateSafety(endpoint: string, regexes: readonly { option: string; source: string | undefined }[]): void {
  const used = new Set(templatePlaceholders(endpoint));
  if (used.size === 0) return;
  for (const { option, source } of regexes) {
    if (source === undefined || source === '') continue;
    const classAt = characterClassAt(source);
    if (classAt !== undefined) {
      throw new Error(
        `${option} contains a character class (${classAt}), not allowed when jwks_public_endpoint is a template; ` +
          'use an explicit list of allowed values (value1|value2|value3)',
      );
    }
    for (const name of used) {
      for (const start of namedGroupStarts(source, name)) {
        if (!isFixedAlternation(source, start)) {
          throw new Error(
            `${option}: named group "${name}" is used in the jwks_public_endpoint template; ` +
              'only an explicit list of allowed values is permitted (value1|value2|value3)',
          );
        }
      }
    }
  }
}

/** The first character-class construct in `source` (`[` or a class escape), or undefined. */
function characterClassAt(source: string): string | undefined {
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '[') return '[';
    if (c === '\\' && i + 1 < source.length) {
      const e = source[i + 1]!;
      if ('dDwWsSpP'.includes(e)) return `\\${e}`;
      i++;
    }
  }
  return undefined;
}

/** Indexes just after `(?P<name>` / `(?<name>` for each group named `name` (escapes skipped). */
function namedGroupStarts(source: string, name: string): number[] {
  const starts: number[] = [];
  for (let i = 0; i < source.length; i++) {
    if (source[i] === '\\') {
      i++;
      continue;
    }
    for (const open of [`(?P<${name}>`, `(?<${name}>`]) {
      if (source.startsWith(open, i)) starts.push(i + open.length);
    }
  }
  return starts;
}

const HEX = /^[0-9a-fA-F]{2}$/;
const NAMED_OPEN = /^\(\?P?<[A-Za-z_][A-Za-z0-9_]*>/;

/** Scans the group body starting at `start` up to its closing parenthesis. */
function isFixedAlternation(source: string, start: number): boolean {
  let depth = 1;
  for (let i = start; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      const e = source[i + 1];
      if (e === undefined) return false;
      if (e === 'x' && HEX.test(source.slice(i + 2, i + 4))) i += 3;
      else if (/[!-/:-@[-`{-~]/.test(e)) i++;
      else return false;
    } else if (c === '(') {
      if (source.startsWith('(?:', i)) i += 2;
      else {
        const named = NAMED_OPEN.exec(source.slice(i));
        if (named !== null) i += named[0].length - 1;
        else if (source[i + 1] === '?') return false;
      }
      depth++;
    } else if (c === ')') {
      if (--depth === 0) return true;
    } else if ('.*+?{^$'.includes(c)) {
      return false;
    }
  }
  return false;
}
