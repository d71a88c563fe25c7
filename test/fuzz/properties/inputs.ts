/**
 * Input arbitraries shared by the properties: valid JSON payload text, hostile near-JSON text,
 * protocol-shaped objects with wrong types in them, byte-level mutations of valid encodings, and
 * inputs grown to the size limit by repeating a generated unit (the shapes that make a decoder
 * nest, loop or backtrack).
 */
import fc from 'fast-check';
import { MAX_INPUT_BYTES } from './harness.js';
import { RawText, setMember, writeJson, type Wire, type WireObject } from './wire.js';

const te = new TextEncoder();
export const utf8 = (s: string): Uint8Array => te.encode(s);

// ---------------------------------------------------------------- valid JSON payloads

/** Insignificant JSON whitespace; `newlines` allows `\n` (not inside a newline-framed command). */
export const gap = (newlines: boolean): fc.Arbitrary<string> =>
  fc.constantFrom('', '', ' ', '\t', '\r', ' \t', ...(newlines ? ['\n', '\r\n  '] : []));

/** Texts `JSON.stringify` cannot produce but a payload may hold: the decoder must keep them exact. */
const SPECIAL_PAYLOADS = [
  '12345678901234567890',
  '-0',
  '1e400',
  '0.1e-7',
  '"\\ud800"',
  '"\\u0000\\/\\b"',
  '{"a":1,"a":2}',
  '{"__proto__":{"x":1}}',
  '[[[[[]]]]]',
  '"😀"',
];

/** Valid JSON text other than `null` (a `null` payload decodes as absent). */
export function jsonPayloadText(newlines: boolean): fc.Arbitrary<string> {
  const written = fc
    .tuple(fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' }), gap(newlines))
    .map(([v, g]) => writeJson(v as Wire<RawText>, g));
  return fc.oneof({ weight: 4, arbitrary: written }, { weight: 1, arbitrary: fc.constantFrom(...SPECIAL_PAYLOADS) }).filter((t) => t !== 'null');
}

export const jsonPayload = (newlines: boolean): fc.Arbitrary<Uint8Array> => jsonPayloadText(newlines).map(utf8);

// ---------------------------------------------------------------- hostile text

/** Characters that steer a JSON scanner, plus a few that must be refused. */
const JSONISH = [...'{}[]",:\\/0123456789-+.eEtrufalsn \t\r\nabcdu', '\u0000', '\u001f', '\u2028', '\ud800', '😀', 'é'];
export const jsonishText = fc.string({ unit: fc.constantFrom(...JSONISH), maxLength: 200 });

/** Any text: well-formed Unicode, lone surrogates, JSON-ish soup. */
export const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 100 }), fc.string({ maxLength: 100 }), jsonishText);

// ---------------------------------------------------------------- shaped garbage

/** Every member name the decoders and the server API look at. */
export const VOCABULARY = [
  'id', 'connect', 'subscribe', 'unsubscribe', 'publish', 'presence', 'presence_stats', 'history', 'ping', 'send', 'rpc',
  'refresh', 'sub_refresh', 'channel', 'token', 'data', 'subs', 'name', 'version', 'headers', 'flag', 'recover', 'epoch',
  'offset', 'positioned', 'recoverable', 'join_leave', 'delta', 'tf', 'op', 'key', 'cmp', 'val', 'vals', 'nodes', 'limit',
  'since', 'reverse', 'method', 'node', 'session', 'params', 'commands', 'info', 'b64data', 'b64info', 'user', 'client',
  'channels', 'pattern', 'override', 'value', 'disconnect', 'code', 'reason', 'whitelist', 'expire_at', 'expired',
  'idempotency_key', 'tags', 'skip_history', 'version_epoch', 'recover_since', 'parallel', 'broadcast', 'history_remove',
  'batch', '__proto__', 'constructor', 'toString', '',
];

const garbageLeaf: fc.Arbitrary<Wire<RawText>> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.constantFrom(0, -1, 1, 0.5, -0, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 64, 1e300, -1e300),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(...VOCABULARY, 'fossil', 'and', 'eq', 'PUBLISH', 'chat', 'ns:chat', '*'),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom(...SPECIAL_PAYLOADS).map((t) => new RawText(t)),
);

/** A JSON tree whose member names come from the protocol's vocabulary and whose values are anything. */
export const shapedGarbage: fc.Arbitrary<Wire<RawText>> = fc.letrec<{ value: Wire<RawText>; object: Wire<RawText> }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', maxDepth: 6 }, garbageLeaf, fc.array(tie('value'), { maxLength: 4 }), tie('object')),
  object: fc.array(fc.tuple(fc.constantFrom(...VOCABULARY), tie('value')), { maxLength: 6 }).map((entries) => {
    const o: WireObject<RawText> = {};
    for (const [k, v] of entries) setMember(o, k, v);
    return o;
  }),
})).object;

/** One edit of a wire tree: the n-th node (in walk order) is replaced, dropped or given a member. */
interface TreeEdit {
  at: number;
  how: 'replace' | 'drop' | 'add';
  key: string;
  value: Wire<RawText>;
}
const treeEdit: fc.Arbitrary<TreeEdit> = fc.record({
  at: fc.nat(),
  how: fc.constantFrom('replace', 'drop', 'add'),
  key: fc.constantFrom(...VOCABULARY),
  value: fc.oneof(garbageLeaf, shapedGarbage),
});

function isObject(v: Wire<RawText>): v is WireObject<RawText> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof RawText);
}

/** Containers of a tree with the member (or index) holding each value, in walk order. */
function slots(root: Wire<RawText>): { parent: WireObject<RawText> | Wire<RawText>[]; key: string | number }[] {
  const out: { parent: WireObject<RawText> | Wire<RawText>[]; key: string | number }[] = [];
  const walk = (v: Wire<RawText>): void => {
    if (Array.isArray(v)) v.forEach((x, i) => (out.push({ parent: v, key: i }), walk(x)));
    else if (isObject(v)) for (const k of Object.keys(v)) out.push({ parent: v, key: k }), walk(v[k]);
  };
  walk(root);
  return out;
}

/** Applies edits to a deep copy of `tree` (which must be an object). */
function applyEdits(tree: WireObject<RawText>, edits: readonly TreeEdit[]): WireObject<RawText> {
  const copy = structuredCopy(tree) as WireObject<RawText>;
  for (const e of edits) {
    const all = slots(copy);
    if (all.length === 0 || e.how === 'add') {
      const objects = [copy, ...all.map((s) => (Array.isArray(s.parent) ? s.parent[s.key as number] : s.parent[s.key as string]))].filter(isObject);
      setMember(objects[e.at % objects.length]!, e.key, e.value);
      continue;
    }
    const s = all[e.at % all.length]!;
    if (Array.isArray(s.parent)) {
      if (e.how === 'drop') s.parent.splice(s.key as number, 1);
      else s.parent[s.key as number] = e.value;
    } else if (e.how === 'drop') delete s.parent[s.key as string];
    else setMember(s.parent, s.key as string, e.value);
  }
  return copy;
}

function structuredCopy(v: Wire<RawText>): Wire<RawText> {
  if (Array.isArray(v)) return v.map(structuredCopy);
  if (!isObject(v)) return v;
  const o: WireObject<RawText> = {};
  for (const k of Object.keys(v)) setMember(o, k, structuredCopy(v[k]));
  return o;
}

/** Valid trees with 1-3 edits: wrong types and missing or stray members where the decoder looks. */
export function editedTree(valid: fc.Arbitrary<WireObject<RawText>>): fc.Arbitrary<WireObject<RawText>> {
  return fc.tuple(valid, fc.array(treeEdit, { minLength: 1, maxLength: 3 })).map(([t, edits]) => applyEdits(t, edits));
}

// ---------------------------------------------------------------- byte mutations

interface ByteEdit {
  how: 'set' | 'insert' | 'delete' | 'truncate' | 'duplicate';
  at: number;
  len: number;
  bytes: Uint8Array;
}
const byteEdit: fc.Arbitrary<ByteEdit> = fc.record({
  how: fc.constantFrom('set', 'insert', 'delete', 'truncate', 'duplicate'),
  at: fc.nat(),
  len: fc.integer({ min: 1, max: 8 }),
  bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }),
});

function applyByteEdits(input: Uint8Array, edits: readonly ByteEdit[]): Uint8Array {
  let b = Buffer.from(input);
  for (const e of edits) {
    const at = b.length === 0 ? 0 : e.at % (b.length + 1);
    switch (e.how) {
      case 'set':
        b = Buffer.concat([b.subarray(0, at), e.bytes, b.subarray(at + e.bytes.length)]);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), e.bytes, b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.len)]);
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'duplicate':
        b = Buffer.concat([b.subarray(0, at + e.len), b.subarray(at)]);
        break;
    }
  }
  return new Uint8Array(b);
}

/** Valid encodings with 1-4 byte-level edits (flips, inserts, deletions, truncation, repeats). */
export function mutatedBytes(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(valid, fc.array(byteEdit, { minLength: 1, maxLength: 4 })).map(([b, edits]) => applyByteEdits(b, edits));
}

// ---------------------------------------------------------------- inputs at the size limit

/**
 * `prefix + unit×n + middle + closer×n + suffix`, with n as large as fits `MAX_INPUT_BYTES`
 * (bytes, as UTF-8): nesting (`[` … `]`), long runs (digits, escapes, members) and unclosed input
 * all come out of this one shape. The parts are drawn from `part`.
 */
export function grownText(part: fc.Arbitrary<string>, fixed: readonly (readonly [string, string, string, string, string])[]): fc.Arbitrary<string> {
  const generated = fc.tuple(part, part.filter((u) => u !== ''), part, part, part);
  return fc.oneof(fc.constantFrom(...fixed), generated).chain(([prefix, unit, middle, closer, suffix]) => {
    const fixedBytes = Buffer.byteLength(prefix + middle + suffix);
    const perRepeat = Buffer.byteLength(unit + closer);
    const max = Math.max(1, Math.floor((MAX_INPUT_BYTES - fixedBytes) / perRepeat));
    // Mostly the largest input; sometimes smaller, where a depth or count limit may sit.
    return fc.oneof(fc.constant(max), fc.integer({ min: 1, max })).map((n) => prefix + unit.repeat(n) + middle + closer.repeat(n) + suffix);
  });
}

/** Byte form of `grownText`: a unit repeated to fill `limit` bytes between a prefix and a suffix. */
export function grownBytes(part: fc.Arbitrary<Uint8Array>, limit = MAX_INPUT_BYTES): fc.Arbitrary<Uint8Array> {
  return fc.tuple(part, part.filter((u) => u.length > 0), part).chain(([prefix, unit, suffix]) => {
    const max = Math.max(1, Math.floor((limit - prefix.length - suffix.length) / unit.length));
    return fc.oneof(fc.constant(max), fc.integer({ min: 1, max })).map((n) => {
      const out = new Uint8Array(prefix.length + unit.length * n + suffix.length);
      out.set(prefix, 0);
      for (let i = 0; i < n; i++) out.set(unit, prefix.length + i * unit.length);
      out.set(suffix, prefix.length + unit.length * n);
      return out;
    });
  });
}
