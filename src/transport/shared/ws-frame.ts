/**
 * Server-to-client WebSocket frames built once and written as they are (RFC 6455 §5.2).
 *
 * A server frame is never masked, so without permessage-deflate the frame carrying a publication
 * is byte-for-byte the same for every subscriber. `FrameCache` remembers the last frame built
 * from a list of messages: a broadcast flushes its subscribers one after another with the same
 * encoded message (or the same run of messages, when pushes were batched in one turn), so each
 * frame is built once and the same Buffer goes to every socket. `ws.send` would build a header
 * per socket and write header and payload as two buffers.
 */

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

/**
 * The last frame built, keyed by the identity of the messages in it. Holds at most one frame and
 * the references of its messages (no more than `maxMessagesInFrame`), so memory stays constant.
 */
export class FrameCache {
  private readonly keys: Uint8Array[] = [];
  private frame: Buffer | undefined;

  constructor(
    private readonly opcode: number,
    private readonly joinLines: boolean,
  ) {}

  frameFor(messages: readonly Uint8Array[], start: number, end: number): Buffer {
    const n = end - start;
    const keys = this.keys;
    if (this.frame !== undefined && keys.length === n) {
      let same = true;
      for (let i = 0; i < n; i++) {
        if (keys[i] !== messages[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return this.frame;
    }
    keys.length = n;
    for (let i = 0; i < n; i++) keys[i] = messages[start + i]!;
    return (this.frame = buildFrame(this.opcode, messages, start, end, this.joinLines));
  }
}
