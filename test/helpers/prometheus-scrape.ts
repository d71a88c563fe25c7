/**
 * `/metrics` scraped and parsed with a Prometheus text parser (parse-prometheus-text-format,
 * prom2json's shape), for the metrics tests.
 */
import assert from 'node:assert/strict';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import type { TestServer } from './server.js';

export type Families = ReturnType<typeof parsePrometheusTextFormat>;

/**
 * The exposition, parsed. The parser folds every histogram and summary family into one sample
 * without labels, so their `_count` series are parsed again apart, as untyped series named
 * `<name>_count` with their labels.
 */
export async function scrape(srv: TestServer, path = '/metrics'): Promise<Families> {
  const r = await fetch(`${srv.httpUrl}${path}`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await r.text();
  const families = parsePrometheusTextFormat(text);
  const folded = new Set(families.filter((f) => f.type === 'HISTOGRAM' || f.type === 'SUMMARY').map((f) => `${f.name}_count`));
  const counts = text.split('\n').filter((line) => folded.has(line.split(/[{ ]/, 1)[0]!));
  return [...families, ...parsePrometheusTextFormat(counts.join('\n') + '\n')];
}

/** The value of `name` at exactly these labels (others ignored); undefined when absent. */
export function value(fs: Families, name: string, labels: Record<string, string> = {}): number | undefined {
  const f = fs.find((x) => x.name === name);
  const m = f?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  if (m === undefined) return undefined;
  return Number(m.value ?? m.count);
}
