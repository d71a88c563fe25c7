/**
 * Loading: defaults < file < env < flags, then schema validation, cross-field checks and a deep
 * freeze. The result is the only config object the process uses; modules get small option
 * objects built from it by app/.
 */
import { existsSync, readFileSync } from 'node:fs';
import { crossChecks } from './checks.js';
import { findOption, getPath, setPath } from './describe.js';
import { applyItemOverrides, readEnv } from './env.js';
import { ConfigError, describeZodIssue, formatPath, type ConfigIssue } from './errors.js';
import { formatOf, parseConfigText } from './formats.js';
import { legacyKeysError } from './legacy-check.js';
import { legacyLayoutOf, migrateConfig } from './migrate.js';
import { configSchema, type Config } from './schema.js';
import { isRecord, metaOf, type OptionSchema } from './schema/define.js';
import { unknownKeyWarnings } from './suggest.js';
import { messageOf } from '../util/message-of.js';

export interface ConfigSources {
  /** Config file (.json, .yaml, .yml or .toml). Absent means no file. */
  file?: string;
  /**
   * When true, a missing `file` is tolerated (defaults are used and a warning is returned).
   * The CLI sets it when `-c` was not given and the default `config.json` is looked up.
   */
  fileOptional?: boolean;
  /** Environment, usually `process.env`. Absent means no env vars are read. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Option overrides keyed by dotted path (`http_server.port`), values already typed. */
  flags?: Readonly<Record<string, unknown>>;
}

export interface LoadedConfig {
  config: Readonly<Config>;
  /** Unknown keys / env vars and other non-fatal findings, to be logged at WARN. */
  warnings: string[];
  /** The unknown-key findings of the config file alone (also in `warnings`); `checkconfig --strict` fails on them. */
  unknownKeys: string[];
}

/** Reads and parses a config file, throwing ConfigError when it is missing or malformed. */
export function readConfigFile(file: string): Record<string, unknown> {
  const format = formatOf(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : messageOf(err);
    throw new ConfigError(`cannot read config file "${file}": ${why}`, [], { cause: err });
  }
  return parseConfigText(text, format, file);
}

/** Freezes an object graph in place and returns it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

const VAR_REF = /\$\{(CENTRIFUGO_VAR_[A-Za-z0-9_]+)\}/g;

/** Expands `${CENTRIFUGO_VAR_X}` inside string maps (static headers/metadata), in place. */
function expandVars(
  value: unknown,
  schema: OptionSchema,
  env: Readonly<Record<string, string | undefined>>,
  warnings: string[],
  path: string,
): void {
  const meta = metaOf(schema);
  if (meta === undefined) return;
  if (meta.kind === 'map' && isRecord(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (typeof v !== 'string') continue;
      value[k] = v.replace(VAR_REF, (_m, name: string) => {
        const found = env[name];
        if (found === undefined) warnings.push(`${path}.${k}: env var ${name} is not set, using an empty string`);
        return found ?? '';
      });
    }
  } else if (meta.kind === 'object' && isRecord(value)) {
    for (const [key, child] of Object.entries(meta.fields ?? {})) expandVars(value[key], child, env, warnings, `${path}${path ? '.' : ''}${key}`);
  } else if (meta.kind === 'list' && Array.isArray(value) && meta.item !== undefined) {
    const itemSchema = meta.item;
    value.forEach((v, i) => expandVars(v, itemSchema, env, warnings, `${path}[${i}]`));
  }
}

/**
 * Validates raw (file-form) data against the schema and the cross-field checks. Returns the
 * typed config (not frozen) and the check warnings; throws ConfigError listing every problem.
 * Centrifugo v1/v5 flat keys are refused first, as their values would otherwise be dropped.
 */
export function validateConfig(raw: Record<string, unknown>): { config: Config; warnings: string[] } {
  const legacy = legacyKeysError(raw);
  if (legacy !== undefined) throw legacy;
  const parsed = configSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    const issues: ConfigIssue[] = parsed.error.issues.map((i) => ({ path: formatPath(i.path), message: describeZodIssue(i) }));
    throw ConfigError.fromIssues(issues);
  }
  const checks = crossChecks(parsed.data);
  if (checks.errors.length > 0) throw ConfigError.fromIssues(checks.errors);
  return { config: parsed.data, warnings: checks.warnings };
}

/** Merges the sources into one raw object (file form), collecting warnings. */
export function mergeSources(sources: ConfigSources): { raw: Record<string, unknown>; warnings: string[]; unknownKeys: string[] } {
  const warnings: string[] = [];
  const unknownKeys: string[] = [];
  let raw: Record<string, unknown> = {};
  if (sources.file !== undefined && sources.file !== '') {
    if (sources.fileOptional === true && !existsSync(sources.file)) {
      warnings.push(`config file "${sources.file}" not found, using defaults`);
    } else {
      raw = readConfigFile(sources.file);
      // Judged before env and flags are merged in: a CENTRIFUGO_ADMIN_ENABLED would replace `"admin": true`.
      if (legacyLayoutOf(raw) === 'v1') raw = readV1(raw, sources.file, warnings);
      const legacy = legacyKeysError(raw);
      if (legacy !== undefined) throw legacy;
      unknownKeys.push(...unknownKeyWarnings(raw));
      warnings.push(...unknownKeys);
    }
  }
  if (sources.env !== undefined) {
    const env = readEnv(sources.env);
    if (env.errors.length > 0) throw ConfigError.fromIssues(env.errors);
    for (const v of env.values) setPath(raw, v.path, v.value);
    const items = applyItemOverrides(env.items, (path) => {
      const list = getPath(raw, path);
      return Array.isArray(list) ? list : undefined;
    });
    if (items.errors.length > 0) throw ConfigError.fromIssues(items.errors);
    warnings.push(...env.warnings, ...items.warnings);
  }
  for (const [path, value] of Object.entries(sources.flags ?? {})) {
    const option = findOption(path);
    if (option === undefined || option.meta.kind === 'object' || option.list !== undefined) {
      throw new ConfigError(`invalid config: unknown flag option "${path}"`, [{ path, message: 'unknown option' }]);
    }
    if (value !== undefined) setPath(raw, path, value);
  }
  return { raw, warnings, unknownKeys };
}

/** A Centrifugo v1 file read through its v6 form (migrate.ts); what it cannot honour is warned about. */
function readV1(raw: Record<string, unknown>, file: string, warnings: string[]): Record<string, unknown> {
  const m = migrateConfig(raw);
  warnings.push(`config file "${file}" is a Centrifugo v1 config: read through its v6 form (\`rotor config migrate -c ${file}\` prints it)`);
  for (const d of m.dropped) warnings.push(`${d.path}: not honoured (${d.why})`);
  // What the v6 form adds or changes (v1's implicit permissions, the API key) is said too.
  for (const n of m.notes) warnings.push(`v1 config: ${n}`);
  return m.config;
}

/**
 * Loads the configuration: defaults < file < env < flags. Throws ConfigError when the file is
 * missing (unless optional) or malformed, or when any value is invalid. The result is deeply
 * frozen.
 */
export function loadConfig(sources: ConfigSources = {}): LoadedConfig {
  const { raw, warnings, unknownKeys } = mergeSources(sources);
  const { config, warnings: checkWarnings } = validateConfig(raw);
  expandVars(config, configSchema, sources.env ?? {}, warnings, '');
  warnings.push(...checkWarnings);
  return { config: deepFreeze(config), warnings, unknownKeys };
}

