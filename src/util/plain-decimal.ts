/**
 * Numbers as Go's `strconv.FormatFloat(f, 'f', -1, 64)` writes them: the shortest digits that
 * read back to the same double, in positional notation (no exponent). Centrifugo uses this form
 * where it turns a number into text (gjson `String()`, mapstructure's weak string decoding).
 */
// JS writes exponents from 1e21 up and 1e-7 down; those are spelled out here.
export function plainDecimal(n: number): string {
  const s = String(n);
  const e = s.indexOf('e');
  if (e < 0) return s;
  const neg = s.startsWith('-');
  const mantissa = s.slice(neg ? 1 : 0, e);
  const exp = Number(s.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = mantissa.replace('.', '');
  const point = (dot < 0 ? mantissa.length : dot) + exp;
  let out: string;
  if (point <= 0) out = '0.' + '0'.repeat(-point) + digits;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = digits.slice(0, point) + '.' + digits.slice(point);
  return neg ? '-' + out : out;
}
