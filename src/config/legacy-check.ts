/**
 * Finding Centrifugo v1/v5 flat keys (legacy-keys.ts) in a config file's content. A v1 file is read
 * through its v6 form (migrate.ts); any other file with such keys is refused, not warned about:
 * Centrifugo v6 ignores flat keys, so the server would start without a token key, namespaces or
 * history and every client would be turned away.
 */
import { ConfigError } from './errors.js';
import { CHANNEL_OPTIONS, LEGACY_KEYS, type LegacyKey } from './legacy-keys.js';
import { configSchema } from './schema.js';
import { isRecord, metaOf } from './schema/define.js';

export interface LegacyFinding {
  /** Where the key is in the file: `token_hmac_secret_key`, `namespaces[0].history_lifetime`. */
  readonly path: string;
  /** Where its value belongs in v6 (`channel.namespaces[0].history_ttl`); null when v6 has no place. */
  readonly v6: string | null;
  readonly entry: LegacyKey;
}

/** The v6 name of a channel option in the table, or undefined when the key is not one. */
function channelOptionName(entry: LegacyKey): string | null | undefined {
  if (entry.v6?.startsWith(CHANNEL_OPTIONS) === true) return entry.v6.slice(CHANNEL_OPTIONS.length);
  return entry.channelOption === true ? null : undefined;
}

/** Legacy channel options inside one namespace object (or `channel.without_namespace`). */
function scanChannelOptions(value: unknown, path: string, v6Path: string, out: LegacyFinding[]): void {
  if (!isRecord(value)) return;
  for (const key of Object.keys(value)) {
    const entry = LEGACY_KEYS[key];
    if (entry === undefined) continue;
    const name = channelOptionName(entry);
    // Names v6 kept (presence, history_size) are fine inside a namespace.
    if (name === undefined || name === key) continue;
    out.push({ path: `${path}.${key}`, v6: name === null ? null : `${v6Path}.${name}`, entry });
  }
}

function scanNamespaces(value: unknown, path: string, v6Path: string, out: LegacyFinding[]): void {
  if (!Array.isArray(value)) return;
  value.forEach((item, i) => scanChannelOptions(item, `${path}[${i}]`, `${v6Path}[${i}]`, out));
}

/**
 * Every legacy key in `raw` (a config file's content), in file order. A top-level key counts
 * when v6 has no such key, or when v6 has a section of that name and the file gives it a scalar
 * (`"admin": true`, `"engine": "redis"`). Channel options are also checked inside namespaces.
 */
export function findLegacyKeys(raw: Record<string, unknown>): LegacyFinding[] {
  const sections = metaOf(configSchema)?.fields ?? {};
  const out: LegacyFinding[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const entry = LEGACY_KEYS[key];
    const section = Object.hasOwn(sections, key) ? sections[key] : undefined;
    if (entry !== undefined) {
      const scalarForSection = section !== undefined && metaOf(section)?.kind === 'object' && value !== null && !isRecord(value);
      if (section === undefined || scalarForSection) out.push({ path: key, v6: entry.v6, entry });
    }
    if (key === 'namespaces' && section === undefined) scanNamespaces(value, key, 'channel.namespaces', out);
  }
  const channel = raw['channel'];
  if (isRecord(channel)) {
    scanChannelOptions(channel['without_namespace'], 'channel.without_namespace', 'channel.without_namespace', out);
    scanNamespaces(channel['namespaces'], 'channel.namespaces', 'channel.namespaces', out);
  }
  return out;
}

function versions(entry: LegacyKey): string {
  return entry.from.join(' and ');
}

/** `token_hmac_secret_key is a Centrifugo v5 key; in v6 it is client.token.hmac_secret_key` */
export function describeLegacyKey(f: LegacyFinding): string {
  const { entry } = f;
  const where =
    entry.proxyField !== undefined
      ? `in v6 it is ${entry.proxyField} of each proxy (client.proxy.connect, client.proxy.refresh, channel.proxy.<type>, rpc.proxy, proxies[])`
      : f.v6 === null
        ? 'v6 has no equivalent'
        : `in v6 it is ${f.v6}`;
  return `${f.path} is a Centrifugo ${versions(entry)} key; ${where}${entry.note === undefined ? '' : ` (${entry.note})`}`;
}

/**
 * The error for a file with legacy keys, or undefined when it has none. The message has one
 * line per key after the summary line, so a long v5 file stays readable.
 */
export function legacyKeysError(raw: Record<string, unknown>): ConfigError | undefined {
  const found = findLegacyKeys(raw);
  if (found.length === 0) return undefined;
  const lines = found.map(describeLegacyKey);
  const summary =
    'invalid config: Centrifugo v1/v5 keys; Rotor reads the Centrifugo v6 layout, where they have other places ' +
    '(`rotor config migrate -c FILE` writes it; docs/config.md, "Migrating from Centrifugo v5 or v1 configs"):';
  return new ConfigError(
    [summary, ...lines.map((l) => `  ${l}`)].join('\n'),
    found.map((f, i) => ({ path: f.path, message: lines[i] ?? '' })),
  );
}
