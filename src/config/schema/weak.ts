/**
 * Weakly typed scalars, as Centrifugo reads its config: viper decodes into the config structs
 * with mapstructure's `WeaklyTypedInput`, so a file may say `port: "8000"`, `enabled: "true"`,
 * `hmac_secret_key: 123456`, and a YAML key with no value (null) leaves the option unset.
 *
 * Each function converts what converts and returns anything else unchanged, so the schema that
 * runs next reports it with the key path (`expected integer, got "abc"`).
 */
import { plainDecimal } from '../../util/plain-decimal.js';

/** Go `strconv.ParseBool` spellings. */
export const GO_TRUE: ReadonlySet<string> = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
export const GO_FALSE: ReadonlySet<string> = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

/** null ⇒ undefined: a key with no value means "use the default". */
export function unsetNull(value: unknown): unknown {
  return value === null ? undefined : value;
}

/**
 * Booleans: Go ParseBool strings; an empty string is false and a number is `!== 0`
 * (mapstructure's weak rules).
 */
export function weakBool(value: unknown): unknown {
  if (typeof value === 'string') {
    if (GO_TRUE.has(value)) return true;
    if (GO_FALSE.has(value) || value === '') return false;
  }
  if (typeof value === 'number') return value !== 0;
  return unsetNull(value);
}

/** Integer text the way Go's `strconv.ParseInt(s, 0, 64)` reads it, minus `_` separators. */
const INT_FORMS: readonly { re: RegExp; radix: number }[] = [
  { re: /^([+-]?)(0|[1-9][0-9]*)$/, radix: 10 },
  { re: /^([+-]?)0[xX]([0-9a-fA-F]+)$/, radix: 16 },
  { re: /^([+-]?)0[oO]?([0-7]+)$/, radix: 8 },
  { re: /^([+-]?)0[bB]([01]+)$/, radix: 2 },
];

/** Integers: numeric strings (decimal, `0x`, `0o`/leading `0`, `0b`), `""` ⇒ 0, booleans ⇒ 1/0. */
export function weakInt(value: unknown): unknown {
  if (typeof value === 'string') {
    if (value === '') return 0;
    for (const { re, radix } of INT_FORMS) {
      const m = re.exec(value);
      if (m === null) continue;
      const n = Number.parseInt(m[2] ?? '', radix);
      return m[1] === '-' ? -n : n;
    }
    return value;
  }
  if (typeof value === 'boolean') return value ? 1 : 0;
  return unsetNull(value);
}

/** Strings: numbers in plain decimal (`1e21` ⇒ "1000000000000000000000"), booleans as "1"/"0" (mapstructure's spelling). */
export function weakString(value: unknown): unknown {
  if (typeof value === 'number' && Number.isFinite(value)) return plainDecimal(value);
  if (typeof value === 'boolean') return value ? '1' : '0';
  return unsetNull(value);
}

/** Lists of strings: a single value is a one-element list; items are weak strings. */
export function weakStringList(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(weakString);
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return [weakString(value)];
  return unsetNull(value);
}
