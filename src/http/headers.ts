/** A request header as one string: the first of repeated values, '' when absent. */
export function headerString(v: string | string[] | undefined): string {
  if (v === undefined) return '';
  return Array.isArray(v) ? (v[0] ?? '') : v;
}
