/**
 * Walks the registered option schemas. Everything derived from the schema (env names, flags,
 * docs, default config, unknown-key detection) goes through these functions, so the option list
 * exists only once: in ./schema/*.ts.
 */
import { formatDuration } from './duration.js';
import { configSchema } from './schema.js';
import { isRecord, metaOf, type OptionMeta, type OptionSchema } from './schema/define.js';

export interface OptionInfo {
  /** Dotted path; fields of list items use `[]`: `channel.namespaces[].presence`. */
  readonly path: string;
  readonly meta: OptionMeta;
  readonly schema: OptionSchema;
  /** For fields of list items: the list's path and the field naming its items. */
  readonly list?: { readonly path: string; readonly itemKey?: string };
  /** Path relative to the list item, for fields of list items (`presence`, `http.static_headers`). */
  readonly itemPath?: string;
}

export const ENV_PREFIX = 'CENTRIFUGO_';
export const ENV_ALIAS_PREFIX = 'ROTOR_';

function mustMeta(schema: OptionSchema, path: string): OptionMeta {
  const meta = metaOf(schema);
  if (meta === undefined) throw new Error(`config schema: option ${path || '<root>'} was not built with the schema helpers`);
  return meta;
}

function join(base: string, key: string): string {
  return base === '' ? key : `${base}.${key}`;
}

/**
 * Every option in schema order, objects before their children. List items are described once,
 * with `[]` in the path.
 */
export function allOptions(root: OptionSchema = configSchema): OptionInfo[] {
  const out: OptionInfo[] = [];
  const visit = (schema: OptionSchema, path: string, list?: OptionInfo['list'], itemPath?: string): void => {
    const meta = mustMeta(schema, path);
    if (path !== '') out.push({ path, meta, schema, ...(list ? { list, itemPath } : {}) });
    if (meta.kind === 'object' && meta.fields) {
      for (const [key, child] of Object.entries(meta.fields)) {
        visit(child, join(path, key), list, list ? join(itemPath ?? '', key) : undefined);
      }
    } else if (meta.kind === 'list' && meta.item) {
      const listInfo = { path, ...(meta.itemKey !== undefined ? { itemKey: meta.itemKey } : {}) };
      const itemMeta = mustMeta(meta.item, `${path}[]`);
      for (const [key, child] of Object.entries(itemMeta.fields ?? {})) {
        visit(child, `${path}[].${key}`, listInfo, key);
      }
    }
  };
  visit(root, '');
  return out;
}

let cached: OptionInfo[] | undefined;
let cachedByPath: Map<string, OptionInfo> | undefined;

/** {@link allOptions} of the real config schema, computed once. */
export function configOptions(): readonly OptionInfo[] {
  cached ??= allOptions();
  return cached;
}

/** Looks an option up by dotted path (`[]` for list item fields). */
export function findOption(path: string): OptionInfo | undefined {
  cachedByPath ??= new Map(configOptions().map((o) => [o.path, o]));
  return cachedByPath.get(path);
}

/**
 * Options that take one value from an env var or a flag: everything except objects, outside
 * list items. Lists and maps count as single values (written as JSON).
 */
export function valueOptions(): OptionInfo[] {
  return configOptions().filter((o) => o.meta.kind !== 'object' && o.list === undefined);
}

/** `client.token.hmac_secret_key` ⇒ `CENTRIFUGO_CLIENT_TOKEN_HMAC_SECRET_KEY`. */
export function envName(path: string, prefix = ENV_PREFIX): string {
  return prefix + path.replace(/\[\]/g, '').replace(/[.-]/g, '_').toUpperCase();
}

/** How a list item's name appears in per-item env var names: upper case, `.`/`-` ⇒ `_`. */
export function envItemName(name: string): string {
  return name.replace(/[.-]/g, '_').toUpperCase();
}

/** Env var documented for an option; item fields show `<NAME>` where the item name goes. */
export function documentedEnvName(info: OptionInfo): string | undefined {
  if (info.meta.kind === 'object') return undefined;
  if (info.list === undefined) return envName(info.path);
  if (info.list.itemKey === undefined || info.itemPath === info.list.itemKey) return undefined;
  return `${envName(info.list.path)}_<NAME>_${envName(info.itemPath ?? '', '')}`;
}

/** Reads a dotted path (no `[]`) from a nested object. */
export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const key of path.split('.')) {
    if (!isRecord(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

/** Writes a dotted path into a nested plain object, creating (or replacing non-object) parents. */
export function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let cur = obj;
  for (const key of keys.slice(0, -1)) {
    const next = cur[key];
    if (isRecord(next)) cur = next;
    else {
      const fresh: Record<string, unknown> = {};
      cur[key] = fresh;
      cur = fresh;
    }
  }
  cur[keys[keys.length - 1] ?? ''] = value;
}

/**
 * Converts a parsed config (or part of it) back to file form: durations become strings like
 * "25s" (disabled ones `-1`), everything else is copied. `schema` describes `value`.
 */
export function toFileForm(value: unknown, schema: OptionSchema = configSchema): unknown {
  const meta = mustMeta(schema, '<value>');
  switch (meta.kind) {
    case 'object': {
      if (!isRecord(value)) return value;
      const out: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(meta.fields ?? {})) {
        if (key in value) out[key] = toFileForm(value[key], child);
      }
      return out;
    }
    case 'list':
      return Array.isArray(value) && meta.item ? value.map((v) => toFileForm(v, meta.item as OptionSchema)) : value;
    case 'duration':
      if (typeof value !== 'number') return value;
      return value < 0 ? -1 : formatDuration(value);
    case 'string[]':
      return Array.isArray(value) ? [...(value as unknown[])] : value;
    case 'map':
    case 'json':
      return isRecord(value) ? structuredClone(value) : value;
    default:
      return value;
  }
}
