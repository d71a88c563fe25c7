/**
 * Between gRPC messages and the method table's objects (`api/methods.ts`), driven by the schema:
 * a decoded request becomes the object an HTTP API request body parses to, and a method's result
 * object becomes the message to encode. Field names are the same on both sides (schema.ts keeps
 * api.proto's snake_case), so only values change:
 *
 * - a `bytes` payload goes to the method as base64 under `b64<name>`, which `payload()` reads
 *   first and decodes to exactly these bytes (JSON text or binary alike). A non-empty `b64<name>`
 *   string the caller set wins over the bytes field, as in Centrifugo;
 * - 64-bit integers become numbers (exact up to 2^53; offsets and versions stay far below);
 * - a message field is present only when it was on the wire (`since`, `override`, a batch
 *   command's method), as Go's decoder leaves a nil pointer; scalars read as their proto3 zero
 *   value when absent, which the method table reads as absent too.
 *
 * Results carry payloads as `JsonBytes` (or `RawJson`, a payload parsed from JSON); both go out
 * as the payload's bytes.
 */
import pb from 'protobufjs/light.js';
import type { Obj } from '../../protocol/json/fields.js';
import { JsonBytes } from '../../protocol/json/json-text.js';
import { RawJson } from '../../protocol/json/raw-json.js';

/** A decoded message: its fields by name (absent ones from the prototype's defaults). */
type Decoded = Record<string, unknown>;

function asDecoded(v: unknown): Decoded {
  return v !== null && typeof v === 'object' ? (v as Decoded) : {};
}

/** A decoded scalar as the method table takes it: 64-bit integers (`Long`) as numbers. */
function scalarToApi(v: unknown): unknown {
  if (v !== null && typeof v === 'object' && 'toNumber' in v && typeof v.toNumber === 'function') return (v as { toNumber(): number }).toNumber();
  return v;
}

function valueToApi(field: pb.Field, v: unknown): unknown {
  return field.resolvedType instanceof pb.Type ? messageToApi(field.resolvedType, asDecoded(v)) : scalarToApi(v);
}

/** A decoded request message as the method table's request object. */
export function messageToApi(type: pb.Type, m: Decoded): Obj {
  const out: Obj = {};
  const payloads: pb.Field[] = [];
  for (const f of type.fieldsArray) {
    const v = m[f.name];
    if (f.map) {
      // Null prototype: a map key may be "__proto__".
      const o: Obj = Object.create(null) as Obj;
      for (const [k, x] of Object.entries(asDecoded(v))) o[k] = valueToApi(f, x);
      out[f.name] = o;
    } else if (f.repeated) {
      out[f.name] = Array.isArray(v) ? v.map((x: unknown) => valueToApi(f, x)) : [];
    } else if (f.resolvedType instanceof pb.Type) {
      if (v !== null && v !== undefined) out[f.name] = messageToApi(f.resolvedType, asDecoded(v));
    } else if (f.type === 'bytes') {
      payloads.push(f);
    } else {
      out[f.name] = scalarToApi(v);
    }
  }
  for (const f of payloads) {
    const v = m[f.name];
    const b64 = `b64${f.name}`;
    if (!(v instanceof Uint8Array) || v.byteLength === 0) continue;
    if (typeof out[b64] === 'string' && out[b64] !== '') continue;
    out[b64] = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  }
  return out;
}

/** A result payload's bytes: `JsonBytes`, `RawJson` text, or bytes as they are. */
function payloadBytes(v: unknown): Uint8Array {
  if (v instanceof JsonBytes) return v.bytes;
  if (v instanceof RawJson) return Buffer.from(v.text, 'utf8');
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  return new Uint8Array(0);
}

function valueToMessage(field: pb.Field, v: unknown): unknown {
  if (field.resolvedType instanceof pb.Type) return apiToMessage(field.resolvedType, v);
  if (field.type === 'bytes') return payloadBytes(v);
  return v;
}

/**
 * A method table result (or any object shaped like `type`) as a plain object `type.encode` takes.
 * Members that are undefined or null are left out; members `type` has no field for are dropped.
 */
export function apiToMessage(type: pb.Type, value: unknown): Decoded {
  const o = asDecoded(value);
  const out: Decoded = {};
  for (const f of type.fieldsArray) {
    const v = o[f.name];
    if (v === undefined || v === null) continue;
    if (f.map) {
      const m: Decoded = {};
      // defineProperty, not assignment: a key "__proto__" must stay an entry.
      for (const [k, x] of Object.entries(asDecoded(v))) Object.defineProperty(m, k, { value: valueToMessage(f, x), enumerable: true, writable: true, configurable: true });
      out[f.name] = m;
    } else if (f.repeated) {
      out[f.name] = Array.isArray(v) ? v.map((x: unknown) => valueToMessage(f, x)) : [];
    } else {
      out[f.name] = valueToMessage(f, v);
    }
  }
  return out;
}

/** Encodes a method table result as a message of `type`. */
export function encodeResult(type: pb.Type, value: unknown): Buffer {
  const bytes = type.encode(apiToMessage(type, value)).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
