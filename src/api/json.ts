/**
 * JSON in and out of the server API. Requests are parsed once with payload fields (`data`, `info`,
 * `params`) kept as raw JSON text, so a publication's bytes are exactly what the backend sent.
 * Replies are written by `toJsonText`, which embeds raw payloads as they are.
 *
 * The field readers and `toJsonText` are not the API's own: they live in `protocol/json/`
 * (`fields.ts`, `json-text.ts`), where `rules/` and a proxy can use them too.
 */
import { parseJsonObjects, parseJsonWithRaw, RawJson, type RawKeyPredicate } from '../protocol/json/raw-json.js';
import { ReplyError } from '../protocol/errors.js';
import { ProtocolDecodeError } from '../protocol/codec.js';
import { ApiErrorCode } from '../protocol/codes.js';
import type { Obj } from '../protocol/json/fields.js';


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
