/**
 * Regular expressions configured in Go's syntax (`channel_regex`, `issuer_regex`,
 * `audience_regex`). Go spells named groups `(?P<name>…)`, JavaScript `(?<name>…)`; that is the
 * one spelling this rewrites, so a pattern that passes `checkconfig` compiles the same everywhere.
 * Throws SyntaxError for a pattern JavaScript cannot compile.
 */
export function goRegExp(source: string): RegExp {
  return new RegExp(source.replace(GO_NAMED_GROUP, '(?<'));
}

const GO_NAMED_GROUP = /\(\?P</g;
