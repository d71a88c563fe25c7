/**
 * Server-to-client WebSocket frames built once and written as they are (RFC 6455 §5.2).
 *
 * A server frame is never masked, so without permessage-deflate the frame carrying a publication
 * is byte-for-byte the same for every subscriber: with a `RunCache` it is built once and the
 * same Buffer goes to every socket. `ws.send` would build a header per socket and write header
 * and payload as two buffers.
 */
import { RunCache } from './run-cache.js';

export const OPCODE_TEXT = 0x1;
export const OPCODE_BINARY = 0x2;

const NEWLINE = 0x0a;

/**
 * One final, unmasked frame holding `messages[start..end)`. With `joinLines` (JSON), messages are
 * separated by `\n`; otherwise (Protobuf, varint-delimited already) concatenated.
 */
export function buildFrame(opcode: number, messages: readonly Uint8Array[], start: number, end: number, joinLines: boolean): Buffer {
  let len = joinLines ? end - start - 1 : 0;
  for (let i = start; i < end; i++) len += messages[i]!.byteLength;
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + len);
  frame[0] = 0x80 | opcode;
  if (head === 2) frame[1] = len;
  else if (head === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(len, 2);
  } else {
    frame[1] = 127;
    // Lengths here are bounded by the write queue limit, far below 2^32.
    frame.writeUInt32BE(0, 2);
    frame.writeUInt32BE(len, 6);
  }
  let off = head;
  for (let i = start; i < end; i++) {
    if (joinLines && i > start) frame[off++] = NEWLINE;
    const m = messages[i]!;
    frame.set(m, off);
    off += m.byteLength;
  }
  return frame;
}

/** A `RunCache` of whole frames for one frame type. */
export function frameCache(opcode: number, joinLines: boolean): RunCache {
  return new RunCache((messages, start, end) => buildFrame(opcode, messages, start, end, joinLines));
}
