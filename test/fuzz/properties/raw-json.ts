/**
 * Properties of the raw-JSON scanner (`src/protocol/json/raw-json.ts`), with `JSON.parse` as the
 * oracle: the scanner accepts exactly what `JSON.parse` accepts (below its nesting cap), builds the
 * same values, and hands back raw members as the exact source text of valid JSON. Documented
 * failure: `ProtocolDecodeError`; `isValidJson` never throws.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolDecodeError } from '../../../src/protocol/codec.js';
import { MAX_JSON_DEPTH, RawJson, isValidJson, parseJsonObjects, parseJsonWithRaw } from '../../../src/protocol/json/raw-json.js';
import { MAX_INPUT_BYTES, boundedOnlyThrows, defineProperty, onlyThrows, type FuzzProperty } from './harness.js';
import { anyText, gap, grownText, jsonishText, jsonPayloadText, mutatedBytes, shapedGarbage, utf8 } from './inputs.js';
import { writeJson } from './wire.js';

const DECODE_ERRORS = [ProtocolDecodeError] as const;
const lossy = new TextDecoder('utf-8');

/** Valid JSON values written with random spacing, `data` members among their keys. */
const validText = fc.oneof(
  jsonPayloadText(true),
  fc.tuple(shapedGarbage, gap(true)).map(([t, g]) => writeJson(t, g)),
);

/** Mostly near-valid text; short enough (< 2 characters a level) that JSON.parse's missing cap never matters. */
const anyJsonText = fc
  .oneof(validText, anyText, mutatedBytes(validText.map(utf8)).map((b) => lossy.decode(b)))
  .filter((t) => t.length < 2 * MAX_JSON_DEPTH);

function jsonParse(t: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(t) as unknown };
  } catch {
    return { ok: false };
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof RawJson);

/**
 * Walks the scanner's value beside JSON.parse's: members kept raw must hold source text that
 * parses to JSON.parse's value there (and has no surrounding whitespace); all else is equal.
 */
function assertSameWithRaw(source: string, scanned: unknown, parsed: unknown, where: string): void {
  if (scanned instanceof RawJson) {
    assert.ok(source.includes(scanned.text), `${where}: raw text is a slice of the source`);
    assert.equal(scanned.text, scanned.text.trim(), `${where}: raw text is trimmed`);
    assert.deepStrictEqual(JSON.parse(scanned.text), parsed, `${where}: raw text parses to the value`);
  } else if (Array.isArray(scanned)) {
    assert.ok(Array.isArray(parsed), where);
    assert.equal(scanned.length, parsed.length, where);
    scanned.forEach((v, i) => assertSameWithRaw(source, v, parsed[i], `${where}[${i}]`));
  } else if (isPlainObject(scanned)) {
    assert.ok(isPlainObject(parsed), where);
    assert.deepStrictEqual(Object.keys(scanned), Object.keys(parsed), where);
    for (const k of Object.keys(scanned)) assertSameWithRaw(source, scanned[k], parsed[k], `${where}.${k}`);
  } else {
    assert.deepStrictEqual(scanned, parsed, where);
  }
}

/** Bare-JSON shapes at the size limit: nesting past the cap, long runs, unclosed input. */
const BIG_SHAPES: readonly (readonly [string, string, string, string, string])[] = [
  ['', '[', '0', ']', ''],
  ['', '{"a":', 'null', '}', ''],
  ['', '[{"data":', '1', '}]', ''],
  ['"', '\\ud83d\\ude00', '', '', '"'],
  ['"', 'x', '', '', ''],
  ['[', '-1.5e+300,', '0', '', ']'],
  ['', '1', '', '', ''],
  ['{', '"k":[],', '"z":0', '', '}'],
  ['', '{}', '', '', ''],
  ['', '[', '', '', ''],
];
const bigText = grownText(jsonishText.map((s) => s.slice(0, 12)), BIG_SHAPES).filter((t) => Buffer.byteLength(t) <= MAX_INPUT_BYTES);
const dataKey = (key: string) => key === 'data';

export const rawJsonProperties: readonly FuzzProperty[] = [
  defineProperty('raw JSON: parseJsonWithRaw accepts what JSON.parse accepts and builds the same value', 800, () =>
    fc.property(anyJsonText, (t) => {
      const ours = onlyThrows(DECODE_ERRORS, () => parseJsonWithRaw(t));
      const theirs = jsonParse(t);
      assert.equal(ours.ok, theirs.ok, `accepted by scanner: ${ours.ok}, by JSON.parse: ${theirs.ok}`);
      if (ours.ok && theirs.ok) assert.deepStrictEqual(ours.value, theirs.value);
      assert.equal(isValidJson(t), theirs.ok, 'isValidJson agrees with JSON.parse');
    }),
  ),
  defineProperty('raw JSON: raw members are the exact source text of the value there', 400, () =>
    fc.property(validText, (t) => {
      assertSameWithRaw(t, parseJsonWithRaw(t, dataKey), JSON.parse(t), '$');
    }),
  ),
  defineProperty('raw JSON: parseJsonObjects reads a stream of objects as JSON.parse reads each', 300, () =>
    fc.property(fc.array(fc.tuple(shapedGarbage, gap(true), gap(true)), { minLength: 0, maxLength: 4 }), (parts) => {
      const text = parts.map(([o, g, between]) => writeJson(o, g) + between).join('');
      const objects = parseJsonObjects(text, dataKey);
      assert.equal(objects.length, parts.length);
      objects.forEach((o, i) => assertSameWithRaw(text, o, JSON.parse(writeJson(parts[i]![0])), `#${i}`));
    }),
  ),
  defineProperty('raw JSON: parseJsonObjects takes any text or throws ProtocolDecodeError', 400, () =>
    fc.property(fc.oneof(anyJsonText, fc.array(anyJsonText, { maxLength: 3 }).map((ts) => ts.join(''))), (t) => {
      onlyThrows(DECODE_ERRORS, () => parseJsonObjects(t, dataKey));
    }),
  ),
  defineProperty('raw JSON: inputs up to 64 KiB are scanned in bounded time, with only ProtocolDecodeError', 30, () =>
    fc.property(bigText, (t) => {
      const size = Buffer.byteLength(t);
      boundedOnlyThrows(DECODE_ERRORS, size, () => parseJsonWithRaw(t, dataKey));
      boundedOnlyThrows(DECODE_ERRORS, size, () => parseJsonObjects(t, dataKey));
      boundedOnlyThrows([], size, () => isValidJson(t));
    }),
  ),
];
