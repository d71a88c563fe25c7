/**
 * Unsigned base-128 varints as used for Protobuf length prefixes (spec §1.6): little-endian
 * groups of 7 bits, high bit set on every byte but the last. Lengths are uint32, so at most
 * 5 bytes are read.
 */
import { ProtocolDecodeError } from './codec.js';

export interface VarintRead {
  value: number;
  /** Offset of the first byte after the varint. */
  end: number;
}

/** Reads a uint32 varint at `pos`. Throws `ProtocolDecodeError` when truncated or over 2^32-1. */
export function readUvarint32(buf: Uint8Array, pos: number): VarintRead {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    if (pos + i >= buf.length) throw new ProtocolDecodeError('truncated varint');
    const b = buf[pos + i];
    if (i === 4 && b > 0x0f) throw new ProtocolDecodeError('varint exceeds 32 bits');
    // Multiplication instead of shifts: bit 31 would make a shifted value negative.
    value += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) return { value, end: pos + i + 1 };
  }
  throw new ProtocolDecodeError('varint exceeds 32 bits');
}

/** Encodes `value` (an integer in [0, 2^32-1]) as a minimal varint. */
export function encodeUvarint32(value: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) throw new RangeError(`not a uint32: ${value}`);
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}
