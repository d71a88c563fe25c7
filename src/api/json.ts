/**
 * JSON in and out of the server API. Requests are parsed once with payload fields (`data`, `info`,
 * `params`) kept as raw JSON text, so a publication's bytes are exactly what the backend sent.
 * Replies are written by `toJsonText`, which embeds raw payloads as they are.
 */
import { RawJson, isValidJson, parseJsonObjects, parseJsonWithRaw, type RawKeyPredicate } from '../protocol/json/raw-json.js';
import { ReplyError } from '../protocol/errors.js';
import { ProtocolDecodeError } from '../protocol/codec.js';
import { ApiErrorCode } from '../protocol/codes.js';

/** Keys whose values are payloads kept verbatim. `params` is RPC's payload. */
const RAW_KEYS = new Set(['data', 'info', 'params']);

/** Parses an API request. */
export function parseApiJson(text: string): unknown {
  return parseJsonWithRaw(text, rawKey);
}

/**
 * The legacy `/api` body: a stream of command objects (see `parseJsonObjects`). There the
 * top-level `params` holds the method's request object, so it is parsed, and only nested payload
 * keys stay raw. Each command's `id` comes back as a number (or undefined when absent or null);
 * one that is not a uint32 makes the whole body malformed (`ProtocolDecodeError`).
 */
export function parseLegacyApiJson(text: string): Obj[] {
  const commands = parseJsonObjects(text, legacyRawKey);
  for (const c of commands) c.id = legacyCommandId(c.id);
  return commands;
}

/** Largest legacy command id: Centrifugo decodes it into a uint32. */
const MAX_LEGACY_ID = 0xffff_ffff;
/** A JSON number Go's decoder takes for an unsigned integer: digits only, no sign, fraction or exponent. */
const UNSIGNED_INTEGER = /^(0|[1-9][0-9]*)$/;

/**
 * The `id` of a legacy command, read from its source text as Go reads a uint32 field: `null` is
 * absent; `1.5`, `1e2`, `-1`, `4294967296`, `1e400` and non-numbers fail. Read as a JS number
 * first, `1e400` would become Infinity and be echoed back as invalid JSON.
 */
function legacyCommandId(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const text = v instanceof RawJson ? v.text : '';
  if (text === 'null') return undefined;
  const id = UNSIGNED_INTEGER.test(text) ? Number(text) : NaN;
  if (!(id <= MAX_LEGACY_ID)) throw new ProtocolDecodeError(`command id ${text} is not a uint32`);
  return id;
}

const rawKey: RawKeyPredicate = (key) => RAW_KEYS.has(key);
/** Payload keys, except the top-level `params`; and the top-level `id`, checked from its text. */
const legacyRawKey: RawKeyPredicate = (key, depth) => (depth === 0 ? key === 'id' || (key !== 'params' && RAW_KEYS.has(key)) : RAW_KEYS.has(key));

export class ApiError extends ReplyError {}

/** 107 bad request. `why` is kept for logs; the wire message is Centrifugo's plain one. */
export function apiBadRequest(why?: string): ApiError {
  const e = apiError(ApiErrorCode.badRequest);
  if (why !== undefined) e.cause = why;
  return e;
}

/** The API error of a code table entry (`ApiErrorCode.notFound`, …). */
export function apiError(e: { readonly code: number; readonly message: string }): ApiError {
  return new ApiError(e.code, e.message);
}

/** Payload bytes to embed in a JSON reply: raw JSON when valid, else marked for base64. */
export class JsonBytes {
  constructor(readonly bytes: Uint8Array) {}
}

/** Serialises plain values, RawJson and JsonBytes (valid JSON embedded, else a base64 string). */
export function toJsonText(v: unknown): string {
  if (v === undefined) return 'null';
  if (v === null || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (v instanceof RawJson) return v.text;
  if (v instanceof JsonBytes) return bytesToJsonText(v.bytes);
  if (Array.isArray(v)) return `[${v.map(toJsonText).join(',')}]`;
  const parts: string[] = [];
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (val === undefined) continue;
    parts.push(`${JSON.stringify(k)}:${toJsonText(val)}`);
  }
  return `{${parts.join(',')}}`;
}

function bytesToJsonText(b: Uint8Array): string {
  const text = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
  if (text !== '' && isValidJson(text)) return text.replace(/\n/g, '');
  return JSON.stringify(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64'));
}

// ---------------------------------------------------------------- field readers

export type Obj = Record<string, unknown>;

export function asObject(v: unknown, what = 'request'): Obj {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v) || v instanceof RawJson) throw apiBadRequest(`${what} must be an object`);
  return v as Obj;
}

export function str(o: Obj, key: string): string {
  const v = o[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw apiBadRequest(`${key} must be a string`);
  return v;
}

export function bool(o: Obj, key: string): boolean {
  const v = o[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw apiBadRequest(`${key} must be a boolean`);
  return v;
}

export function int(o: Obj, key: string): number {
  const v = o[key];
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw apiBadRequest(`${key} must be an integer`);
  return v;
}

export function strList(o: Obj, key: string): string[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw apiBadRequest(`${key} must be an array of strings`);
  return v as string[];
}

export function strMap(o: Obj, key: string): Record<string, string> | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  const m = asObject(v, key);
  for (const x of Object.values(m)) if (typeof x !== 'string') throw apiBadRequest(`${key} values must be strings`);
  return m as Record<string, string>;
}

/** A payload given as raw JSON (`key`) or base64 (`b64key`). Returns undefined when neither. */
export function payload(o: Obj, key: string): Uint8Array | undefined {
  const b64 = o[`b64${key}`];
  if (typeof b64 === 'string' && b64 !== '') return new Uint8Array(Buffer.from(b64, 'base64'));
  if (b64 !== undefined && b64 !== null && typeof b64 !== 'string') throw apiBadRequest(`b64${key} must be a string`);
  const raw = o[key];
  if (raw instanceof RawJson) {
    // A JSON null payload counts as absent, as Centrifugo's decoder does.
    if (raw.text.trim() === 'null') return undefined;
    return new Uint8Array(Buffer.from(raw.text, 'utf8'));
  }
  return undefined;
}

/** `{offset, epoch}` or undefined. */
export function position(o: Obj, key: string): { offset: number; epoch: string } | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  const p = asObject(v, key);
  return { offset: int(p, 'offset'), epoch: str(p, 'epoch') };
}

/** Server API override object: `{presence: {value: true}, ...}` (protobuf BoolValue in JSON). */
export function boolValue(o: Obj, key: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  const bv = asObject(v, key);
  return bool(bv, 'value');
}
