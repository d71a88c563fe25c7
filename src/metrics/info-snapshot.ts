/**
 * The metrics snapshot `info` carries for each node (`metrics: {interval, items}`), in the form
 * Centrifugo's nodes send and its admin console reads:
 *
 * - keys are the metric name split at its first two `_` and joined by `.`, then for summaries
 *   `sum`, `count` or `quantile.<q>` (q in thousandths without a trailing zero: 50, 99, 999), then
 *   each label's name and value sorted by label name, labels with an empty value left out:
 *   `centrifugo.node.messages_sent_count.channel_namespace.chat.type.publication`,
 *   `centrifugo.client.command_duration_seconds.count.method.connect`;
 * - counters, and summaries' sums and counts, are what was added over the last interval (the whole
 *   value in the first snapshot), so a rate is the value over `interval` seconds; gauges and
 *   quantiles are the current value;
 * - histograms are left out (the summaries beside them carry the same counts), and so is every
 *   series not named `centrifugo_*`.
 */

/** One metric family as prom-client's `getMetricsAsJSON` gives it (the fields read here). */
export interface MetricFamilyJson {
  name: string;
  type: string;
  values: ReadonlyArray<{ metricName?: string; labels: Readonly<Record<string, string | number>>; value: number }>;
}

export interface InfoMetrics {
  /** Seconds between snapshots: the window counter values cover. */
  interval: number;
  items: Record<string, number>;
}

const PREFIX = 'centrifugo_';

/** Builds successive snapshots, remembering the previous counter values to give deltas. */
export class InfoSnapshotter {
  /** Last cumulative value of each counter-like key. */
  readonly #previous = new Map<string, number>();

  constructor(private readonly intervalS: number) {}

  take(families: readonly MetricFamilyJson[]): InfoMetrics {
    const items: Record<string, number> = {};
    for (const f of families) {
      if (!f.name.startsWith(PREFIX)) continue;
      const base = dotted(f.name);
      if (f.type === 'counter') {
        for (const v of f.values) this.#delta(items, `${base}${labelPath(v.labels)}`, v.value);
      } else if (f.type === 'gauge') {
        for (const v of f.values) items[`${base}${labelPath(v.labels)}`] = v.value;
      } else if (f.type === 'summary') {
        for (const v of f.values) {
          const { quantile, ...labels } = v.labels;
          const path = labelPath(labels);
          if (quantile !== undefined) {
            if (!Number.isNaN(v.value)) items[`${base}.quantile.${quantileName(Number(quantile))}${path}`] = v.value;
          } else if (v.metricName === `${f.name}_sum`) this.#delta(items, `${base}.sum${path}`, v.value);
          else if (v.metricName === `${f.name}_count`) this.#delta(items, `${base}.count${path}`, v.value);
        }
      }
    }
    return { interval: this.intervalS, items };
  }

  #delta(items: Record<string, number>, key: string, value: number): void {
    const before = this.#previous.get(key);
    this.#previous.set(key, value);
    // A counter that went down was reset (a label set emptied and refilled): count it afresh.
    items[key] = before === undefined || value < before ? value : value - before;
  }
}

/** `centrifugo_node_messages_sent_count` → `centrifugo.node.messages_sent_count`. */
function dotted(name: string): string {
  const first = name.indexOf('_');
  const second = first < 0 ? -1 : name.indexOf('_', first + 1);
  if (second < 0) return name.replace('_', '.');
  return `${name.slice(0, first)}.${name.slice(first + 1, second)}.${name.slice(second + 1)}`;
}

function labelPath(labels: Readonly<Record<string, string | number>>): string {
  let path = '';
  for (const name of Object.keys(labels).sort()) {
    const value = String(labels[name]);
    if (value !== '') path += `.${name}.${value}`;
  }
  return path;
}

/** 0.5 → `50`, 0.99 → `99`, 0.999 → `999`. */
function quantileName(q: number): string {
  const s = String(Math.trunc(q * 1000 + 1e-9));
  return s.length > 2 && s.endsWith('0') ? s.slice(0, -1) : s;
}
