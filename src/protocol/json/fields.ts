/**
 * Typed reads of the fields of a parsed JSON object (the output of `parseJsonWithRaw`): the server
 * API's requests today, a proxy's backend answers and `rules/` later. Each reader takes the object
 * and a key. An absent or `null` field reads as its zero value (`''`, `false`, `0`, `[]` or
 * undefined), as Go's decoder leaves an absent field; a field of the wrong type throws
 * `JsonFieldError`. Payloads arrive as `RawJson` (kept byte for byte) or as base64 under
 * `b64<key>`.
 */
import { ErrorCode } from '../codes.js';
import { ReplyError } from '../errors.js';
import { RawJson } from './raw-json.js';
import { decodeStdBase64 } from '../../util/base64.js';

export type Obj = Record<string, unknown>;

/**
 * A field of the wrong JSON type. It is a 107 "bad request" `ReplyError`, so the server API
 * answers it as Centrifugo does without catching it; `field` and `cause` say what was wrong (for
 * logs; the wire message stays Centrifugo's plain one). A caller for whom a malformed object is
 * not the client's fault (a proxy reading its backend's answer) catches it and answers otherwise.
 */
export class JsonFieldError extends ReplyError {
  constructor(
    readonly field: string,
    why: string,
    /**
     * `type`: the field holds the wrong kind of JSON value, which Centrifugo's decoder refuses
     * before any method runs (its HTTP API answers 400); `value`: the right kind with a value the
     * method refuses (a base64 string that does not decode), a 107 like other bad values.
     */
    readonly kind: 'type' | 'value' = 'type',
  ) {
    super(ErrorCode.badRequest.code, ErrorCode.badRequest.message);
    this.cause = why;
  }
}

/** The value as an object: absent and `null` give `{}`; arrays, scalars and raw payloads throw. */
export function asObject(v: unknown, what = 'request'): Obj {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v) || v instanceof RawJson) throw new JsonFieldError(what, `${what} must be an object`);
  return v as Obj;
}

export function str(o: Obj, key: string): string {
  const v = o[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new JsonFieldError(key, `${key} must be a string`);
  return v;
}

export function bool(o: Obj, key: string): boolean {
  const v = o[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new JsonFieldError(key, `${key} must be a boolean`);
  return v;
}

/** A JSON number without a fraction; its range is the caller's to check. */
export function int(o: Obj, key: string): number {
  const v = o[key];
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new JsonFieldError(key, `${key} must be an integer`);
  return v;
}

/** An integer of 0 or more (Go's `uint64` fields: a negative value is the wrong type there). */
export function uint(o: Obj, key: string): number {
  const v = int(o, key);
  if (v < 0) throw new JsonFieldError(key, `${key} must not be negative`);
  return v;
}

export function strList(o: Obj, key: string): string[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new JsonFieldError(key, `${key} must be an array of strings`);
  return v as string[];
}

/** An object of strings; undefined when absent or `null`. */
export function strMap(o: Obj, key: string): Record<string, string> | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  const m = asObject(v, key);
  for (const x of Object.values(m)) if (typeof x !== 'string') throw new JsonFieldError(key, `${key} values must be strings`);
  return m as Record<string, string>;
}

/**
 * A payload given as raw JSON (`key`, which the parser must have kept raw) or base64 (`b64key`,
 * which wins when both are set). Undefined when neither is set, or the JSON is `null`.
 */
export function payload(o: Obj, key: string): Uint8Array | undefined {
  const b64 = o[`b64${key}`];
  if (typeof b64 === 'string' && b64 !== '') {
    const bytes = decodeStdBase64(b64);
    if (bytes === undefined) throw new JsonFieldError(`b64${key}`, `b64${key} is not standard base64`, 'value');
    return bytes;
  }
  if (b64 !== undefined && b64 !== null && typeof b64 !== 'string') throw new JsonFieldError(`b64${key}`, `b64${key} must be a string`);
  const raw = o[key];
  if (raw instanceof RawJson) {
    // A JSON null payload counts as absent. The server API's publish data is the exception: there
    // Centrifugo's decoder keeps the bytes `null` and publishes them (api/methods.ts, readPublish).
    if (raw.text.trim() === 'null') return undefined;
    return new Uint8Array(Buffer.from(raw.text, 'utf8'));
  }
  return undefined;
}

/** A stream position `{offset, epoch}`; undefined when absent or `null`. */
export function position(o: Obj, key: string): { offset: number; epoch: string } | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  const p = asObject(v, key);
  return { offset: uint(p, 'offset'), epoch: str(p, 'epoch') };
}

/** A Protobuf BoolValue in its JSON form, `{"value": true}`; undefined when absent or `null`. */
export function boolValue(o: Obj, key: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  const bv = asObject(v, key);
  return bool(bv, 'value');
}
