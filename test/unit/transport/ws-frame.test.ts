import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFrame, frameCache, OPCODE_BINARY, OPCODE_TEXT } from '../../../src/transport/shared/ws-frame.js';

/** Reads server frames per RFC 6455 §5.2 (unmasked, final): what a client sees. */
function parse(buf: Buffer): { data: Buffer; binary: boolean }[] {
  const out: { data: Buffer; binary: boolean }[] = [];
  let off = 0;
  while (off < buf.length) {
    const b0 = buf[off]!;
    const b1 = buf[off + 1]!;
    assert.equal(b0 & 0xf0, 0x80, 'FIN set, no RSV bits');
    assert.equal(b1 & 0x80, 0, 'server frames are unmasked');
    let len = b1 & 0x7f;
    let p = off + 2;
    if (len === 126) {
      len = buf.readUInt16BE(p);
      assert.ok(len >= 126, 'minimal length encoding');
      p += 2;
    } else if (len === 127) {
      len = Number(buf.readBigUInt64BE(p));
      assert.ok(len >= 65536, 'minimal length encoding');
      p += 8;
    }
    assert.ok(p + len <= buf.length, 'frame not truncated');
    out.push({ data: buf.subarray(p, p + len), binary: (b0 & 0x0f) === OPCODE_BINARY });
    off = p + len;
  }
  return out;
}

const bytes = (s: string): Uint8Array => Buffer.from(s);

test('buildFrame: JSON messages joined by newline in one text frame', () => {
  const msgs = [bytes('{"a":1}'), bytes('{"b":2}'), bytes('{}')];
  const got = parse(buildFrame(OPCODE_TEXT, msgs, 0, 3, true));
  assert.deepEqual(got.map((m) => [m.data.toString(), m.binary]), [['{"a":1}\n{"b":2}\n{}', false]]);
});

test('buildFrame: a sub-range, binary messages concatenated without separators', () => {
  const msgs = [Uint8Array.of(9), Uint8Array.of(1, 2), Uint8Array.of(3), Uint8Array.of(8)];
  const got = parse(buildFrame(OPCODE_BINARY, msgs, 1, 3, false));
  assert.equal(got.length, 1);
  assert.equal(got[0]!.binary, true);
  assert.deepEqual([...got[0]!.data], [1, 2, 3]);
});

test('buildFrame: 7-bit, 16-bit and 64-bit length forms at their boundaries', () => {
  for (const n of [0, 125, 126, 65535, 65536, 200_000]) {
    const payload = Buffer.alloc(n, 0x61);
    const frame = buildFrame(OPCODE_TEXT, [payload], 0, 1, true);
    const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
    assert.equal(frame.length, head + n, `length ${n}`);
    const got = parse(frame);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.data.length, n);
  }
});

test('frameCache: the same messages give the very same Buffer; different ones a new frame', () => {
  const cache = frameCache(OPCODE_TEXT, true);
  const a = bytes('{"a":1}');
  const b = bytes('{"b":2}');
  const f1 = cache.bytesFor([a, b], 0, 2);
  assert.equal(cache.bytesFor([a, b], 0, 2), f1, 'identical run: shared frame');
  assert.equal(cache.bytesFor([b, a, b], 1, 3), f1, 'identity, not position, is the key');
  const f2 = cache.bytesFor([a], 0, 1);
  assert.notEqual(f2, f1);
  assert.equal(parse(f2)[0]!.data.toString(), '{"a":1}');
  // Equal bytes in a different object must not be trusted to be the same message.
  const aCopy = bytes('{"a":1}');
  assert.notEqual(cache.bytesFor([aCopy], 0, 1), f2);
  assert.equal(parse(cache.bytesFor([b, a], 0, 2))[0]!.data.toString(), '{"b":2}\n{"a":1}');
});
