/**
 * Environment variables: `CENTRIFUGO_` + upper-cased option path with `.` ⇒ `_`
 * (`CENTRIFUGO_HTTP_SERVER_PORT`). Every name is also accepted with the prefix `ROTOR_`, which
 * wins when both are set. Empty values count as unset.
 *
 * Value syntax by kind: booleans `true/false/1/0` (Go ParseBool spellings), string lists
 * space-separated (or a JSON array), lists of objects and maps as JSON. Named lists
 * (`channel.namespaces`, `rpc.namespaces`, `proxies`, `consumers`) also take space-separated item
 * names when the value does not start with `[` (`CENTRIFUGO_CHANNEL_NAMESPACES="chat news"`), as
 * Centrifugo v6 does; each name becomes an item with only its name set. Their items can be
 * patched one option at a time: `CENTRIFUGO_CHANNEL_NAMESPACES_<NAME>_<OPTION>`, where `<NAME>`
 * is the item name upper cased with `.`/`-` ⇒ `_`. Such patches apply only to items that exist in
 * the file or in the list's own env var.
 */
import {
  configOptions,
  ENV_ALIAS_PREFIX,
  ENV_PREFIX,
  envItemName,
  envName,
  findOption,
  type OptionInfo,
  valueOptions,
} from './describe.js';
import type { ConfigIssue } from './errors.js';
import { isRecord, type OptionMeta } from './schema/define.js';
import { GO_FALSE, GO_TRUE, weakInt } from './schema/weak.js';
import { describeLegacyKey } from './legacy-check.js';
import { LEGACY_KEYS } from './legacy-keys.js';
import { nearest } from './suggest.js';
import { messageOf } from '../util/message-of.js';

/** One env var that set an option, after prefix resolution. */
export interface EnvValue {
  readonly path: string;
  readonly value: unknown;
  /** The variable the value came from, for messages. */
  readonly variable: string;
}

/** A per-item override whose item is resolved later against the merged list. */
export interface EnvItemValue {
  readonly list: OptionInfo;
  /** Env name part after `<LIST>_`: `<NAME>_<OPTION>`. */
  readonly rest: string;
  readonly raw: string;
  readonly variable: string;
}

export interface EnvReadResult {
  readonly values: EnvValue[];
  readonly items: EnvItemValue[];
  readonly errors: ConfigIssue[];
  readonly warnings: string[];
}


/**
 * Converts an env string to the option's kind. Values that do not convert are returned as the
 * string, so schema validation reports them with the key path (`expected number, got "abc"`).
 * Throws a message string for malformed JSON.
 */
export function coerceEnvValue(meta: OptionMeta, raw: string): unknown {
  switch (meta.kind) {
    // As Go's ParseInt(s, 0, 64), the same reading the schema gives file values.
    case 'int':
      return weakInt(raw);
    case 'bool':
      return GO_TRUE.has(raw.trim()) ? true : GO_FALSE.has(raw.trim()) ? false : raw;
    case 'string[]':
      if (raw.trim().startsWith('[')) return parseJson(raw);
      return raw.split(/\s+/).filter((s) => s !== '');
    case 'list':
      if (meta.itemKey !== undefined && !raw.trim().startsWith('[')) return namedItems(meta.itemKey, raw);
      return parseJson(raw);
    case 'map':
    case 'json':
    case 'object':
      return parseJson(raw);
    default:
      return raw;
  }
}

/** `"chat news"` ⇒ `[{name: "chat"}, {name: "news"}]` (whitespace-separated, empty parts dropped). */
function namedItems(itemKey: string, raw: string): Record<string, string>[] {
  return raw
    .split(/\s+/)
    .filter((name) => name !== '')
    .map((name) => ({ [itemKey]: name }));
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch (err) {
    throw new Error(`invalid JSON: ${messageOf(err)}`);
  }
}

/** Kubernetes injects `<SERVICE>_PORT…` and `<SERVICE>_SERVICE_…` vars; they are not options. */
function isIgnored(suffix: string): boolean {
  return suffix.startsWith('VAR_') || /(^|_)PORT(_|$)/.test(suffix) || /(^|_)SERVICE(_|$)/.test(suffix);
}

/** Env vars relevant to us, keyed by the part after the prefix; `ROTOR_` wins over `CENTRIFUGO_`. */
function collect(env: Readonly<Record<string, string | undefined>>): Map<string, { raw: string; variable: string }> {
  const out = new Map<string, { raw: string; variable: string }>();
  for (const prefix of [ENV_PREFIX, ENV_ALIAS_PREFIX]) {
    for (const [variable, raw] of Object.entries(env)) {
      if (!variable.startsWith(prefix) || raw === undefined || raw === '') continue;
      out.set(variable.slice(prefix.length), { raw, variable });
    }
  }
  return out;
}

/** Reads every option-setting env var; unknown ones become warnings with a suggestion. */
export function readEnv(env: Readonly<Record<string, string | undefined>>): EnvReadResult {
  const byName = new Map(valueOptions().map((o) => [envName(o.path, ''), o]));
  const lists = valueOptions().filter((o) => o.meta.kind === 'list' && o.meta.itemKey !== undefined);
  const result: EnvReadResult = { values: [], items: [], errors: [], warnings: [] };
  for (const [suffix, { raw, variable }] of collect(env)) {
    const option = byName.get(suffix);
    if (option !== undefined) {
      try {
        result.values.push({ path: option.path, value: coerceEnvValue(option.meta, raw), variable });
      } catch (err) {
        result.errors.push({ path: option.path, message: `${variable}: ${messageOf(err)}` });
      }
      continue;
    }
    const list = lists.find((l) => suffix.startsWith(`${envName(l.path, '')}_`));
    if (list !== undefined) {
      result.items.push({ list, rest: suffix.slice(envName(list.path, '').length + 1), raw, variable });
      continue;
    }
    if (isIgnored(suffix)) continue;
    // A Centrifugo v5 variable (CENTRIFUGO_TOKEN_HMAC_SECRET_KEY) says where its setting went.
    const legacyKey = suffix.toLowerCase();
    const legacy = LEGACY_KEYS[legacyKey];
    if (legacy !== undefined) {
      const v6 = legacy.v6 !== null ? findOption(legacy.v6) : undefined;
      const finding = describeLegacyKey({ path: legacyKey, v6: legacy.v6, entry: legacy });
      result.warnings.push(`unknown env var "${variable}": ${finding}${v6 !== undefined ? ` (env ${variable.slice(0, variable.length - suffix.length)}${envName(v6.path, '')})` : ''}`);
      continue;
    }
    const hint = nearest(suffix, byName.keys(), 3);
    const prefix = variable.slice(0, variable.length - suffix.length);
    result.warnings.push(`unknown env var "${variable}"${hint !== undefined ? ` (did you mean "${prefix}${hint}"?)` : ''}`);
  }
  return result;
}

/** Item option whose env suffix (relative to the item) is `suffix`, e.g. `HTTP_STATIC_HEADERS`. */
function itemOption(listPath: string, suffix: string): OptionInfo | undefined {
  return configOptions().find(
    (o) => o.list?.path === listPath && o.meta.kind !== 'object' && envName(o.itemPath ?? '', '') === suffix,
  );
}

function setIn(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let cur = target;
  for (const key of keys.slice(0, -1)) {
    const next = cur[key];
    if (isRecord(next)) cur = next;
    else cur = cur[key] = {};
  }
  cur[keys[keys.length - 1] ?? ''] = value;
}

/**
 * Applies per-item overrides to the merged (file + env) raw config. `getList` returns the raw
 * list at a path (undefined when absent or not an array).
 */
export function applyItemOverrides(
  items: readonly EnvItemValue[],
  getList: (path: string) => unknown[] | undefined,
): { errors: ConfigIssue[]; warnings: string[] } {
  const errors: ConfigIssue[] = [];
  const warnings: string[] = [];
  for (const it of items) {
    const key = it.list.meta.itemKey ?? 'name';
    const entries = (getList(it.list.path) ?? []).map((entry, index) => ({ entry, index }));
    let applied = false;
    // Longest names first so `CHAT_ROOM_PRESENCE` prefers item "chat_room" over item "chat".
    const candidates = entries
      .filter((e) => isRecord(e.entry) && typeof e.entry[key] === 'string')
      .sort((a, b) => String((b.entry as Record<string, unknown>)[key]).length - String((a.entry as Record<string, unknown>)[key]).length);
    for (const { entry, index } of candidates) {
      const record = entry as Record<string, unknown>;
      const prefix = `${envItemName(String(record[key]))}_`;
      if (!it.rest.startsWith(prefix)) continue;
      const option = itemOption(it.list.path, it.rest.slice(prefix.length));
      if (option === undefined) continue;
      try {
        setIn(record, option.itemPath ?? '', coerceEnvValue(option.meta, it.raw));
      } catch (err) {
        errors.push({
          path: `${it.list.path}[${index}].${option.itemPath ?? ''}`,
          message: `${it.variable}: ${messageOf(err)}`,
        });
      }
      applied = true;
      break;
    }
    if (!applied) warnings.push(`env var "${it.variable}" matches no ${it.list.path} item option (items are matched by ${key})`);
  }
  return { errors, warnings };
}

/** Env form of a file-form value: lists space-separated, objects and object lists as JSON. */
export function formatEnvValue(meta: OptionMeta, value: unknown): string {
  if (value === undefined || value === null) return '';
  if (meta.kind === 'string[]' && Array.isArray(value)) return value.join(' ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
