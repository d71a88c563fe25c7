/**
 * Building blocks for the option schema.
 *
 * Every option is a zod schema registered (see {@link metaOf}) with an {@link OptionMeta}:
 * its kind, doc string and default as written in a file. Validation and defaults come from zod;
 * env names, CLI flags, `defaultconfig`, `defaultenv` and `docs/config.md` come from walking the
 * same registered schemas (see ../describe.ts). Nothing about an option is written twice.
 *
 * Scalars are read weakly typed, as Centrifugo does (see ./weak.ts): `"8000"` for an int,
 * `"true"` for a bool, `123` for a string, and null anywhere means "unset, use the default".
 */
import { z } from 'zod';
import { DurationSyntaxError, parseDuration } from '../duration.js';
import { unsetNull, weakBool, weakInt, weakString, weakStringList } from './weak.js';

/** How an option is written in files/env and shown in docs. */
export type OptionKind =
  | 'string'
  | 'int'
  | 'bool'
  | 'duration'
  | 'enum'
  | 'string[]'
  | 'map'
  | 'object'
  | 'list'
  | 'json';

export interface OptionMeta {
  readonly kind: OptionKind;
  /** One or two sentences: semantics, units, trade-offs. */
  readonly doc: string;
  /** Default in file form (durations as strings like "25s"); objects have none. */
  readonly default?: unknown;
  /** Allowed values of an `enum` option. */
  readonly values?: readonly string[];
  /** Child options of an `object`. */
  readonly fields?: Readonly<Record<string, OptionSchema>>;
  /** Item schema of a `list` (always an `object`). */
  readonly item?: OptionSchema;
  /** Field naming list items, enabling env overrides `<LIST>_<ITEMNAME>_<OPTION>`. */
  readonly itemKey?: string;
  /** Exposed as a root CLI flag `--<path>`; a string adds that one-letter short alias. */
  readonly flag?: true | string;
  /** Duration where any negative value (written `-1`) means "disabled"; stored as -1. */
  readonly disableable?: boolean;
}

/** Any schema node; the walkers only need its identity to find its meta. */
export type OptionSchema = z.core.$ZodType;

/**
 * Option metadata by schema instance. A plain WeakMap rather than a zod registry: zod's
 * registry typing recurses into metadata that holds schemas. The doc string is also attached
 * with `.describe()`, so zod's own tooling (e.g. `z.toJSONSchema`) sees it.
 */
const optionMeta = new WeakMap<OptionSchema, OptionMeta>();

/** The meta of a schema built with these helpers (undefined for anything else). */
export function metaOf(schema: OptionSchema): OptionMeta | undefined {
  return optionMeta.get(schema);
}

interface Extra {
  flag?: true | string;
}

function reg<T extends z.ZodType>(schema: T, meta: OptionMeta): T {
  const described = schema.describe(meta.doc);
  optionMeta.set(described, meta);
  return described;
}

/** Input accepted where a scalar is expected (before weak conversion); null means unset. */
type Scalar = string | number | boolean | null | undefined;

export function str(doc: string, def = '', extra: Extra = {}) {
  const schema = z.preprocess<unknown, z.ZodDefault<z.ZodString>, Scalar>(weakString, z.string().default(def));
  return reg(schema, { kind: 'string', doc, default: def, ...extra });
}

export function int(doc: string, def = 0, extra: Extra & { min?: number; max?: number } = {}) {
  const { min = 0, max, ...rest } = extra;
  let base = z.number().int().min(min);
  if (max !== undefined) base = base.max(max);
  const schema = z.preprocess<unknown, z.ZodDefault<z.ZodNumber>, Scalar>(weakInt, base.default(def));
  return reg(schema, { kind: 'int', doc, default: def, ...rest });
}

export function bool(doc: string, def = false, extra: Extra = {}) {
  const schema = z.preprocess<unknown, z.ZodDefault<z.ZodBoolean>, Scalar>(weakBool, z.boolean().default(def));
  return reg(schema, { kind: 'bool', doc, default: def, ...extra });
}

/**
 * One of `values`. With `caseInsensitive`, any casing is accepted and stored lower-cased
 * (`values` must then be lower case), as Centrifugo matches `log.level`.
 */
export function oneOf<const V extends readonly [string, ...string[]]>(
  doc: string,
  values: V,
  def: V[number],
  extra: Extra & { caseInsensitive?: boolean } = {},
) {
  const { caseInsensitive = false, ...rest } = extra;
  const coerce = (value: unknown): unknown => {
    const v = weakString(value);
    return caseInsensitive && typeof v === 'string' ? v.toLowerCase() : v;
  };
  const schema = z.preprocess<unknown, z.ZodDefault<z.ZodEnum<z.core.util.ToEnum<V[number]>>>, Scalar>(
    coerce,
    z.enum(values).default(def as never),
  );
  return reg(schema, { kind: 'enum', doc, default: def, values, ...rest });
}

/**
 * A duration: a Go-style string or a number of seconds in, integer milliseconds out.
 * With `disableable`, any negative value means "disabled" and is stored as -1.
 */
export function dur(doc: string, def = '0s', extra: Extra & { disableable?: boolean } = {}) {
  const disableable = extra.disableable === true;
  const schema = z
    .unknown()
    .transform((value, ctx): number => {
      if (typeof value !== 'string' && typeof value !== 'number') {
        ctx.issues.push({ code: 'custom', message: `expected duration, got ${describeValue(value)}`, input: value });
        return z.NEVER;
      }
      let ms: number;
      try {
        ms = parseDuration(value);
      } catch (err) {
        const message = err instanceof DurationSyntaxError ? err.message : String(err);
        ctx.issues.push({ code: 'custom', message, input: value });
        return z.NEVER;
      }
      if (ms < 0) {
        if (disableable) return -1;
        ctx.issues.push({ code: 'custom', message: `must not be negative, got ${describeValue(value)}`, input: value });
        return z.NEVER;
      }
      return ms;
    })
    .prefault(def);
  return reg(z.preprocess(unsetNull, schema), { kind: 'duration', doc, default: def, ...extra });
}

/** List of strings; a single value in a file is taken as a one-element list; items are weak strings. */
export function strList(doc: string, def: readonly string[] = [], extra: Extra = {}) {
  const schema = z.preprocess(weakStringList, z.array(z.string()).prefault([...def]));
  return reg(schema, { kind: 'string[]', doc, default: def, ...extra });
}

/**
 * String-to-string map. Accepts a JSON object (keys lower-cased, as Centrifugo does) or a list
 * of `{key, value}` pairs (keys kept as written). `${CENTRIFUGO_VAR_X}` references in values
 * are expanded by the loader.
 */
export function strMap(doc: string) {
  const schema = z
    .unknown()
    .transform((value, ctx): Record<string, string> => {
      const out: Record<string, string> = {};
      if (Array.isArray(value)) {
        for (const pair of value) {
          if (!isRecord(pair) || typeof pair['key'] !== 'string' || typeof pair['value'] !== 'string') {
            ctx.issues.push({ code: 'custom', message: 'expected a list of {"key": string, "value": string}', input: value });
            return z.NEVER;
          }
          out[pair['key']] = pair['value'];
        }
        return out;
      }
      if (isRecord(value)) {
        for (const [k, raw] of Object.entries(value)) {
          const v = weakString(raw);
          if (typeof v !== 'string') {
            ctx.issues.push({ code: 'custom', message: `expected string value for "${k}", got ${describeValue(v)}`, input: value });
            return z.NEVER;
          }
          out[k.toLowerCase()] = v;
        }
        return out;
      }
      ctx.issues.push({ code: 'custom', message: `expected object, got ${describeValue(value)}`, input: value });
      return z.NEVER;
    })
    .prefault({});
  return reg(z.preprocess(unsetNull, schema), { kind: 'map', doc, default: {} });
}

/** Free-form JSON object kept as given (experimental or not-implemented sub-configs). */
export function json(doc: string) {
  return reg(z.preprocess(unsetNull, z.record(z.string(), z.unknown()).prefault({})), { kind: 'json', doc, default: {} });
}

/** A nested group of options; missing (or null) in the file means "all defaults". */
export function obj<S extends z.ZodRawShape>(doc: string, shape: S) {
  const o = z.object(shape);
  const schema = z.preprocess<unknown, z.ZodPrefault<typeof o>, z.input<typeof o> | null | undefined>(unsetNull, o.prefault({} as z.input<typeof o>));
  return reg(schema, { kind: 'object', doc, fields: shape });
}

/** The object shape of one list item (not defaulted: an item is always written out). */
export function item<S extends z.ZodRawShape>(doc: string, shape: S) {
  return reg(z.object(shape), { kind: 'object', doc, fields: shape });
}

export function list<T extends z.ZodType>(doc: string, itemSchema: T, extra: { itemKey?: string } = {}) {
  const schema = z.preprocess<unknown, z.ZodPrefault<z.ZodArray<T>>, z.input<T>[] | null | undefined>(unsetNull, z.array(itemSchema).prefault([]));
  return reg(schema, { kind: 'list', doc, default: [], item: itemSchema, ...extra });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Short rendering of a bad value for error messages: `"abc"`, `12`, `object`, `array`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return 'object';
  return JSON.stringify(value) ?? String(value);
}

/**
 * A port kept as a string (Centrifugo types `http_server.internal_port` this way): empty means
 * "not set"; numbers in files are accepted and converted.
 */
export function portString(doc: string, extra: Extra = {}) {
  const schema = z
    .unknown()
    .transform((value, ctx): string => {
      if (value === undefined || value === null) return '';
      const text = typeof value === 'number' ? String(value) : value;
      if (typeof text !== 'string' || (text !== '' && !/^\d{1,5}$/.test(text)) || Number(text) > 65535) {
        ctx.issues.push({ code: 'custom', message: `expected a port number or "", got ${describeValue(value)}`, input: value });
        return z.NEVER;
      }
      return text;
    })
    .prefault('');
  return reg(schema, { kind: 'string', doc, default: '', ...extra });
}
