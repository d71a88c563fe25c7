/**
 * Unknown-key detection with "did you mean" suggestions. Unknown keys are warnings, not errors
 * (as in Centrifugo): a typo must not take a cluster down, but it must be visible in the log.
 */
import { configOptions } from './describe.js';
import { CHANNEL_OPTIONS, LEGACY_KEYS } from './legacy-keys.js';
import { configSchema } from './schema.js';
import { isRecord, metaOf, type OptionSchema } from './schema/define.js';

/** Classic edit distance (insert, delete, substitute each cost 1). */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/**
 * The closest candidate within `maxDistance`, or undefined. Ties go to the earlier candidate.
 * Candidates whose length alone puts them out of reach are not measured: the distance is at
 * least the difference in length, and a config with many unknown keys checks each against
 * every option path.
 */
export function nearest(word: string, candidates: Iterable<string>, maxDistance: number): string | undefined {
  let best: string | undefined;
  let bestDistance = maxDistance + 1;
  for (const c of candidates) {
    if (Math.abs(c.length - word.length) >= bestDistance) continue;
    const d = levenshtein(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

const CHANNEL_OPTION_OBJECT = /^channel\.(without_namespace|namespaces\[\d+\])$/;

/** The v6 place of a v1/v5 key named `key`; a channel option found in a namespace stays in it. */
function legacyPlace(key: string, parent: string): string | undefined {
  const v6 = LEGACY_KEYS[key]?.v6;
  if (v6 === undefined || v6 === null) return undefined;
  if (v6.startsWith(CHANNEL_OPTIONS) && CHANNEL_OPTION_OBJECT.test(parent)) return `${parent}.${v6.slice(CHANNEL_OPTIONS.length)}`;
  return v6;
}

/**
 * The best guess for an unknown key: a close sibling (a typo), else the v6 place of a Centrifugo
 * v1/v5 flat key of that name (`namespaces` is `channel.namespaces`, not `rpc.namespaces`), else
 * an option elsewhere with the same name, else the nearest full path.
 */
function suggestionFor(path: string, parent: string, key: string, siblings: readonly string[]): string | undefined {
  const legacy = legacyPlace(key, parent);
  if (parent === '' && legacy !== undefined) return legacy;
  const sibling = nearest(key, siblings, Math.max(1, Math.floor(key.length / 3)));
  if (sibling !== undefined) return parent === '' ? sibling : `${parent}.${sibling}`;
  if (legacy !== undefined) return legacy;
  const normalized = path.replace(/\[\d+\]/g, '[]');
  const all = configOptions().map((o) => o.path);
  const sameTail = all
    .filter((p) => p.endsWith(`.${key}`))
    .sort((a, b) => Number(a.includes('[]')) - Number(b.includes('[]')) || a.length - b.length);
  if (sameTail[0] !== undefined) return sameTail[0];
  return nearest(normalized, all, 3);
}

/**
 * Warnings for keys in `raw` (a file's content) that the schema does not know, for example
 * `unknown config key "client.alowed_origins" (did you mean "client.allowed_origins"?)`.
 * Free-form values (maps, experimental sub-configs) are not inspected.
 */
export function unknownKeyWarnings(raw: Record<string, unknown>, schema: OptionSchema = configSchema): string[] {
  const warnings: string[] = [];
  const walk = (value: Record<string, unknown>, node: OptionSchema, path: string): void => {
    const meta = metaOf(node);
    const fields = meta?.kind === 'object' ? (meta.fields ?? {}) : {};
    const known = Object.keys(fields);
    for (const [key, child] of Object.entries(value)) {
      const childPath = path === '' ? key : `${path}.${key}`;
      // Own keys only: `toString` or `constructor` in a file must not find Object's members.
      const childSchema = Object.hasOwn(fields, key) ? fields[key] : undefined;
      if (childSchema === undefined) {
        const hint = suggestionFor(childPath, path, key, known);
        warnings.push(`unknown config key "${childPath}"${hint !== undefined ? ` (did you mean "${hint}"?)` : ''}`);
        continue;
      }
      const childMeta = metaOf(childSchema);
      if (childMeta?.kind === 'object' && isRecord(child)) walk(child, childSchema, childPath);
      if (childMeta?.kind === 'list' && childMeta.item !== undefined && Array.isArray(child)) {
        child.forEach((entry, i) => {
          if (isRecord(entry) && childMeta.item !== undefined) walk(entry, childMeta.item, `${childPath}[${i}]`);
        });
      }
    }
  };
  walk(raw, schema, '');
  return warnings;
}
