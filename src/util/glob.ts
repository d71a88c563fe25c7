/**
 * Glob patterns for channel listing (`channels` API `pattern`): `*` any run of characters,
 * `?` one character, everything else literal. Matching is over the whole name.
 */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (const ch of pattern) {
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}
