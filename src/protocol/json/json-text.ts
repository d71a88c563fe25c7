/**
 * JSON text out, with payloads embedded as they are: `RawJson` (a payload parsed from a request,
 * kept verbatim) goes out as its source text, and `JsonBytes` (payload bytes) as JSON when they are
 * valid JSON, else as a base64 string. The server API writes its replies with it; a proxy writes
 * its requests to the backend the same way.
 */
import { RawJson, isValidJson } from './raw-json.js';

/** Payload bytes to embed in JSON text: raw JSON when valid, else a base64 string. */
export class JsonBytes {
  constructor(readonly bytes: Uint8Array) {}
}

/**
 * Serialises plain values, `RawJson` and `JsonBytes`. `undefined` members of an object are left
 * out; `undefined` anywhere else writes `null`.
 */
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

/** Valid JSON goes in as it is (newlines dropped, so one reply stays one line); else base64. */
function bytesToJsonText(b: Uint8Array): string {
  const text = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
  if (text !== '' && isValidJson(text)) return text.replace(/\n/g, '');
  return JSON.stringify(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64'));
}
