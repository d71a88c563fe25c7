/**
 * Claim types of connection and subscription JWTs and their strict decoding from a JSON payload.
 *
 * Decoding follows Centrifugo's typed JSON decoding: a claim of the wrong JSON type makes the whole
 * token invalid (it is not silently ignored), `null` is the same as an absent claim, and unknown
 * claims are ignored. Raw JSON claims (`info`, `data`, `meta`, and `info`/`data` of `subs`
 * entries) are handed on as their exact source bytes, as Go's `json.RawMessage` keeps them: the
 * verifier decodes the payload with `rawClaimSelector`, which keeps those members as `RawJson`
 * (big integers such as 12345678901234567891 survive). A payload decoded without it (no marker
 * found, e.g. a key spelled with escapes) still works: values are then re-serialised with
 * `JSON.stringify`, semantically the same JSON.
 */
import { RawJson, type RawKeyPredicate } from '../protocol/json/raw-json.js';
import { InvalidTokenError } from './errors.js';
import { plainDecimal } from '../util/plain-decimal.js';
import { decodeStdBase64 } from '../util/base64.js';

/** Per-subscription overrides of namespace options; an absent field means "use the namespace value". */
export interface SubscribeOverride {
  presence?: boolean;
  joinLeave?: boolean;
  forcePushJoinLeave?: boolean;
  forceRecovery?: boolean;
  forcePositioning?: boolean;
}

/** Options of one server-side subscription from a connection token's `subs` claim. */
export interface ServerSubOptions {
  /** Channel info (`b64info` decoded, else JSON bytes of `info`), shown as `chan_info`. */
  info?: Uint8Array;
  /** Data for the subscribe result (`b64data` decoded, else JSON bytes of `data`). */
  data?: Uint8Array;
  override?: SubscribeOverride;
  // No expiry: Centrifugo's connection-token subs options have no `expire_at` (it is ignored).
}

export interface ConnectTokenClaims {
  /** User ID; "" = anonymous. */
  user: string;
  /** Connection expiry, unix seconds; 0 = never. `expire_at` if present (0 = never), else `exp`, else 0. */
  expireAt: number;
  /** `b64info` decoded (wins), else JSON bytes of `info`. */
  info?: Uint8Array;
  /** Server-side channels; empty when `subs` is non-empty (then `subs` is authoritative). */
  channels: string[];
  /** Server-side subscriptions with options; only set when the claim has at least one entry. */
  subs?: Record<string, ServerSubOptions>;
  /** JSON bytes of `meta`: server-only connection metadata. */
  meta?: Uint8Array;
}

export interface SubscriptionTokenClaims {
  user: string;
  channel: string;
  /** If set, the token is bound to this client ID. */
  client?: string;
  /** Subscription expiry, unix seconds; 0 = never (same precedence rules as for connections). */
  expireAt: number;
  info?: Uint8Array;
  data?: Uint8Array;
  override?: SubscribeOverride;
}

/** The JWT payload as parsed JSON (always an object); raw-kept members are `RawJson`. */
export type Payload = Record<string, unknown>;

/** Which payload members to keep as source text, and the cheap test of whether any may be present. */
export interface RawClaimSelector {
  /**
   * Quoted key spellings (`"info"`); when none occurs in the payload text it is decoded with
   * plain `JSON.parse`, so tokens without raw claims (a connect storm's usual case) pay nothing.
   */
  readonly markers: readonly string[];
  /**
   * After a plain `JSON.parse`: whether a member whose source text matters came out (a number or
   * an object in a custom user ID claim), so the payload is read again by the scanner.
   */
  readonly needsRaw: (payload: Record<string, unknown>) => boolean;
  readonly isRaw: RawKeyPredicate;
}

/** Claims read with a type check by this module. */
const TYPED_CLAIMS: ReadonlySet<string> = new Set(['sub', 'exp', 'nbf', 'iat', 'jti', 'iss', 'aud', 'channel', 'client', 'channels', 'subs', 'b64info', 'b64data', 'expire_at', 'expire', 'override']);

/** Raw members at the top level (depth 0) and inside `subs` entries (depth 2: subs → channel → key). */
const TOP_RAW = new Set(['info', 'data', 'meta']);
const SUB_RAW = new Set(['info', 'data']);

const TOP_RAW_MARKERS: readonly string[] = [...TOP_RAW].map((k) => `"${k}"`);
const NEVER = (): boolean => false;

/**
 * The selector for a verifier. A custom `userIdClaim` is kept raw too, so a numeric user ID keeps
 * its exact digits (Centrifugo reads it with gjson `.String()`, which returns an integer's source
 * text). It is no marker: every token carries it, and only a number or an object in it needs the
 * source text, so the scanner reads the payload again just for those.
 */
export function rawClaimSelector(userIdClaim: string): RawClaimSelector {
  // A claim the token readers type-check (iss, exp, …) stays decoded: they would refuse RawJson.
  const custom = !TOP_RAW.has(userIdClaim) && !TYPED_CLAIMS.has(userIdClaim) ? userIdClaim : undefined;
  return {
    markers: TOP_RAW_MARKERS,
    needsRaw:
      custom === undefined
        ? NEVER
        : (payload) => {
            const v = Object.hasOwn(payload, custom) ? payload[custom] : undefined;
            return typeof v === 'number' || (typeof v === 'object' && v !== null);
          },
    isRaw: (key, depth) => (depth === 0 ? TOP_RAW.has(key) || key === custom : depth === 2 && SUB_RAW.has(key)),
  };
}

/** Registered claims both token kinds share, type-checked. Times are unix seconds (RFC 7519 NumericDate, may be fractional). */
export interface RegisteredClaims {
  exp?: number;
  nbf?: number;
  /** `aud` normalised to a list (a string claim becomes a one-element list; absent = []). */
  aud: string[];
  /** `iss`, "" when absent. */
  iss: string;
  /** Value of the configured user ID claim, "" when absent. */
  user: string;
}

const encoder = new TextEncoder();

function invalid(reason: string): never {
  throw new InvalidTokenError(reason);
}

/**
 * Reads an optional claim; `null` counts as absent (Go decodes JSON null into the zero value).
 * Own claims only: a `user_id_claim` of `constructor` or `toString` must not find Object's members.
 */
function read(p: Payload, name: string): unknown {
  const v = Object.hasOwn(p, name) ? p[name] : undefined;
  return v === null || (v instanceof RawJson && v.text === 'null') ? undefined : v;
}

function optString(p: Payload, name: string): string | undefined {
  const v = read(p, name);
  if (v !== undefined && typeof v !== 'string') invalid(`"${name}" claim must be a string`);
  return v;
}

function optNumericDate(p: Payload, name: string): number | undefined {
  const v = read(p, name);
  if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) invalid(`"${name}" claim must be a number`);
  return v;
}

/** `expire_at` is an int64 in Centrifugo: fractional values are malformed, not rounded. */
function optInteger(p: Payload, name: string): number | undefined {
  const v = read(p, name);
  if (v !== undefined && !Number.isSafeInteger(v)) invalid(`"${name}" claim must be an integer`);
  return v as number | undefined;
}

function isObject(v: unknown): v is Payload {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function jsonBytes(p: Payload, name: string): Uint8Array | undefined {
  const v = read(p, name);
  if (v === undefined) return undefined;
  return encoder.encode(v instanceof RawJson ? v.text : JSON.stringify(v));
}

/**
 * gjson's `Result.String()` of a claim, which Centrifugo uses for a custom `user_id_claim`: a
 * string as is, true/false, an integer's source digits, any other number in plain decimal
 * (Go's `FormatFloat(f, 'f', -1, 64)`: shortest digits, no exponent), an object or array as its
 * JSON text, and "" for null or absent.
 */
function gjsonString(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return plainDecimal(v);
  if (v instanceof RawJson) {
    const t = v.text;
    if (t === 'null') return '';
    if (t === 'true' || t === 'false') return t;
    if (t.startsWith('"')) return JSON.parse(t) as string;
    if (t.startsWith('{') || t.startsWith('[')) return t;
    return /^-?[0-9]+$/.test(t) ? t : plainDecimal(Number(t));
  }
  return JSON.stringify(v);
}


/** `b64<name>` decoded if non-empty (it wins), else JSON bytes of `<name>`, else undefined. */
function binaryOrJson(p: Payload, name: string, where: string): Uint8Array | undefined {
  const b64 = optString(p, `b64${name}`);
  if (b64 !== undefined && b64 !== '') {
    // Copied out of Buffer's shared pool, so cached claims do not pin unrelated memory.
    const bytes = decodeStdBase64(b64);
    if (bytes === undefined) invalid(`"b64${name}"${where} is not valid base64`);
    return bytes;
  }
  return jsonBytes(p, name);
}

/**
 * Reads the registered claims and the user ID. `userIdClaim` is a top-level claim name (the
 * verifier restricts it to `^[a-zA-Z_]+$`). The default `sub` must be a string (it is a typed
 * registered claim in Centrifugo); a custom claim is read like gjson `.String()` (`gjsonString`),
 * so `{"user_id": 42}` is user "42".
 */
export function readRegisteredClaims(p: Payload, userIdClaim: string): RegisteredClaims {
  const exp = optNumericDate(p, 'exp');
  const nbf = optNumericDate(p, 'nbf');
  optNumericDate(p, 'iat');
  optString(p, 'jti');
  const iss = optString(p, 'iss') ?? '';
  const rawAud = read(p, 'aud');
  let aud: string[] = [];
  if (typeof rawAud === 'string') aud = [rawAud];
  else if (Array.isArray(rawAud)) {
    if (!rawAud.every((a): a is string => typeof a === 'string')) invalid('"aud" claim must be a string or an array of strings');
    aud = rawAud;
  } else if (rawAud !== undefined) invalid('"aud" claim must be a string or an array of strings');
  const user = userIdClaim === 'sub' ? (optString(p, 'sub') ?? '') : gjsonString(read(p, userIdClaim));
  const claims: RegisteredClaims = { aud, iss, user };
  if (exp !== undefined) claims.exp = exp;
  if (nbf !== undefined) claims.nbf = nbf;
  return claims;
}

/**
 * Resolves the expiry of a connection or subscription: `expire_at` present ⇒ it wins, and a
 * non-positive value means "never expires" (a long-lived session from a short-lived token); else
 * `exp` (whole seconds); else 0.
 */
function expireAtOf(p: Payload, exp: number | undefined): number {
  const expireAt = optInteger(p, 'expire_at');
  if (expireAt !== undefined) return expireAt > 0 ? expireAt : 0;
  return exp !== undefined ? Math.floor(exp) : 0;
}

const OVERRIDE_FIELDS = [
  ['presence', 'presence'],
  ['join_leave', 'joinLeave'],
  ['force_push_join_leave', 'forcePushJoinLeave'],
  ['force_recovery', 'forceRecovery'],
  ['force_positioning', 'forcePositioning'],
] as const;

/** Parses `override`: each field is `{"value": bool}`; a missing `value` means false (Go omitempty). */
function readOverride(p: Payload, where: string): SubscribeOverride | undefined {
  const raw = read(p, 'override');
  if (raw === undefined) return undefined;
  if (!isObject(raw)) invalid(`"override"${where} must be an object`);
  const out: SubscribeOverride = {};
  let hasField = false;
  for (const [claim, field] of OVERRIDE_FIELDS) {
    const entry = read(raw, claim);
    if (entry === undefined) continue;
    if (!isObject(entry)) invalid(`"override.${claim}"${where} must be an object like {"value": true}`);
    const value = read(entry, 'value') ?? false;
    if (typeof value !== 'boolean') invalid(`"override.${claim}.value"${where} must be a boolean`);
    out[field] = value;
    hasField = true;
  }
  return hasField ? out : undefined;
}

function readServerSub(channel: string, raw: unknown): ServerSubOptions {
  const where = ` in subs["${channel}"]`;
  if (!isObject(raw)) invalid(`subs["${channel}"] must be an object`);
  const opts: ServerSubOptions = {};
  const info = binaryOrJson(raw, 'info', where);
  if (info !== undefined) opts.info = info;
  const data = binaryOrJson(raw, 'data', where);
  if (data !== undefined) opts.data = data;
  const override = readOverride(raw, where);
  if (override !== undefined) opts.override = override;
  return opts;
}

/** True when a connection token carries a non-empty `channel` claim, which only subscription tokens may have. */
export function hasChannelClaim(p: Payload): boolean {
  const channel = optString(p, 'channel');
  return channel !== undefined && channel !== '';
}

/** Builds connection claims from an already verified, time-checked payload. */
export function buildConnectClaims(p: Payload, reg: RegisteredClaims): ConnectTokenClaims {
  const rawSubs = read(p, 'subs');
  let subs: Record<string, ServerSubOptions> | undefined;
  if (rawSubs !== undefined) {
    if (!isObject(rawSubs)) invalid('"subs" claim must be an object');
    const entries = Object.entries(rawSubs);
    if (entries.length > 0) {
      // Null prototype: channel names such as "__proto__" must stay ordinary keys.
      subs = Object.create(null) as Record<string, ServerSubOptions>;
      for (const [channel, raw] of entries) subs[channel] = readServerSub(channel, raw);
    }
  }
  const rawChannels = read(p, 'channels');
  let channels: string[] = [];
  if (rawChannels !== undefined) {
    if (!Array.isArray(rawChannels) || !rawChannels.every((c): c is string => typeof c === 'string')) {
      invalid('"channels" claim must be an array of strings');
    }
    // Centrifugo uses `subs` when it has entries and ignores `channels` then.
    if (subs === undefined) channels = rawChannels;
  }
  const claims: ConnectTokenClaims = { user: reg.user, expireAt: expireAtOf(p, reg.exp), channels };
  const info = binaryOrJson(p, 'info', '');
  if (info !== undefined) claims.info = info;
  if (subs !== undefined) claims.subs = subs;
  const meta = jsonBytes(p, 'meta');
  if (meta !== undefined) claims.meta = meta;
  return claims;
}

/** Builds subscription claims from an already verified, time-checked payload; `channel` is required. */
export function buildSubscriptionClaims(p: Payload, reg: RegisteredClaims): SubscriptionTokenClaims {
  const channel = optString(p, 'channel');
  if (channel === undefined || channel === '') invalid('"channel" claim is required in a subscription token');
  const claims: SubscriptionTokenClaims = { user: reg.user, channel, expireAt: expireAtOf(p, reg.exp) };
  const client = optString(p, 'client');
  if (client !== undefined && client !== '') claims.client = client;
  const info = binaryOrJson(p, 'info', '');
  if (info !== undefined) claims.info = info;
  const data = binaryOrJson(p, 'data', '');
  if (data !== undefined) claims.data = data;
  const override = readOverride(p, '');
  if (override !== undefined) claims.override = override;
  return claims;
}

/** Deep copy, so a caller mutating returned claims cannot corrupt the verified-token cache. */
export function cloneConnectClaims(c: ConnectTokenClaims): ConnectTokenClaims {
  const out: ConnectTokenClaims = { user: c.user, expireAt: c.expireAt, channels: [...c.channels] };
  if (c.info) out.info = c.info.slice();
  if (c.meta) out.meta = c.meta.slice();
  if (c.subs) {
    const subs = Object.create(null) as Record<string, ServerSubOptions>;
    for (const [ch, s] of Object.entries(c.subs)) {
      const copy: ServerSubOptions = {};
      if (s.info) copy.info = s.info.slice();
      if (s.data) copy.data = s.data.slice();
      if (s.override) copy.override = { ...s.override };
      subs[ch] = copy;
    }
    out.subs = subs;
  }
  return out;
}

export function cloneSubscriptionClaims(c: SubscriptionTokenClaims): SubscriptionTokenClaims {
  const out: SubscriptionTokenClaims = { ...c };
  if (c.info) out.info = c.info.slice();
  if (c.data) out.data = c.data.slice();
  if (c.override) out.override = { ...c.override };
  return out;
}
