/**
 * Unknown-key detection with "did you mean" suggestions. Unknown keys are warnings, not errors
 * (as in Centrifugo): a typo must not take a cluster down, but it must be visible in the log.
 */
import { configOptions } from './describe.js';
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

/** The closest candidate within `maxDistance`, or undefined. Ties go to the earlier candidate. */
export function nearest(word: string, candidates: Iterable<string>, maxDistance: number): string | undefined {
  let best: string | undefined;
  let bestDistance = maxDistance + 1;
  for (const c of candidates) {
    const d = levenshtein(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** v5 flat keys whose v6 home is not found by spelling alone (§10.6 of the reference). */
const LEGACY_KEYS: Readonly<Record<string, string>> = {
  address: 'http_server.address',
  port: 'http_server.port',
  internal_address: 'http_server.internal_address',
  internal_port: 'http_server.internal_port',
  api_key: 'http_api.key',
  api_insecure: 'http_api.insecure',
  api_disable: 'http_api.disabled',
  admin_password: 'admin.password',
  admin_secret: 'admin.secret',
  admin_insecure: 'admin.insecure',
  redis_address: 'engine.redis.address',
  redis_prefix: 'engine.redis.prefix',
  name: 'node.name',
  separate_subscription_token_config: 'client.subscription_token.enabled',
  user_subscribe_to_personal: 'client.subscribe_to_user_personal_channel.enabled',
};

function suggestionFor(path: string, parent: string, key: string, siblings: readonly string[]): string | undefined {
  if (parent === '' && LEGACY_KEYS[key] !== undefined) return LEGACY_KEYS[key];
  if (parent === '' && key.startsWith('token_')) return `client.token.${key.slice('token_'.length)}`;
  const sibling = nearest(key, siblings, Math.max(1, Math.floor(key.length / 3)));
  if (sibling !== undefined) return parent === '' ? sibling : `${parent}.${sibling}`;
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
      const childSchema = fields[key];
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
