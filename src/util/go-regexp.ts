/**
 * Regular expressions configured in Go's syntax (`channel_regex`, `issuer_regex`,
 * `audience_regex`), run by re2js, a JavaScript port of RE2: the same syntax and leftmost-first
 * semantics as Go's `regexp` package, and matching in time linear in the input whatever the
 * pattern. JavaScript's own engine backtracks, so a pattern such as `^([a-z0-9]+\.?)+\.example\.com$`
 * (fine in Centrifugo) takes time exponential in the length of a crafted input and stalls the
 * event loop: the input is a token claim or a channel name, chosen by the client.
 *
 * As in Go: named groups are `(?P<name>…)` or `(?<name>…)`; flags are inline (`(?i)`, `(?s)`,
 * `(?m)`); `.` does not match `\n` and `$` matches only at the end of the input unless those flags
 * say otherwise; backreferences and lookaround are syntax errors; counted repetition is at most
 * 1000. Input is read by code point.
 */
import { RE2JS, RE2JSException } from 're2js';

/** A pattern that RE2 (and so Go) cannot compile; the message is RE2's, like Go's `error parsing regexp: …`. */
export class GoRegExpSyntaxError extends SyntaxError {}

export interface GoRegExp {
  /** The pattern as configured. */
  readonly source: string;
  /** Whether the pattern matches anywhere in `input` (Go's `MatchString`: unanchored unless the pattern says `^`/`$`). */
  test(input: string): boolean;
  /**
   * The named groups of the leftmost match that took part in it (an empty capture included), or
   * undefined when the pattern does not match. Costs more than `test` (captures are tracked).
   */
  namedGroups(input: string): Map<string, string> | undefined;
}

/** Compiles a Go-syntax pattern; throws GoRegExpSyntaxError for one Go would refuse. */
export function goRegExp(source: string): GoRegExp {
  let re: RE2JS;
  try {
    re = RE2JS.compile(source);
  } catch (err) {
    if (err instanceof RE2JSException) throw new GoRegExpSyntaxError(err.message);
    throw err;
  }
  return new Re2Pattern(source, re);
}

class Re2Pattern implements GoRegExp {
  private readonly hasNames: boolean;

  constructor(
    readonly source: string,
    private readonly re: RE2JS,
  ) {
    this.hasNames = Object.keys(re.namedGroups()).length > 0;
  }

  test(input: string): boolean {
    return this.re.test(input);
  }

  namedGroups(input: string): Map<string, string> | undefined {
    if (!this.hasNames) return this.re.test(input) ? new Map() : undefined;
    const m = this.re.exec(input) as (string[] & { groups?: Record<string, string | undefined> }) | null;
    if (m === null) return undefined;
    const out = new Map<string, string>();
    for (const [name, value] of Object.entries(m.groups ?? {})) if (value !== undefined) out.set(name, value);
    return out;
  }
}
