/** Number formatting of the benchmark reports: '—' for what is missing. */

/** Thousands separated from 10,000; one digit fewer after the point from 100. */
export function num(v, digits = 1) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  const abs = Math.abs(v);
  if (abs >= 10000) return Math.round(v).toLocaleString('en-US');
  if (abs >= 100) return v.toFixed(Math.max(0, digits - 1));
  return v.toFixed(digits);
}

export const int = (v) => (typeof v === 'number' && Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '—');

/** a / b, or null when either is not a finite number or b is 0. */
export function ratio(a, b) {
  return typeof a === 'number' && typeof b === 'number' && b !== 0 && Number.isFinite(a) && Number.isFinite(b) ? a / b : null;
}

export const x = (r) => (r === null ? '—' : `${r.toFixed(2)}×`);
