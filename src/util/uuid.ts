/**
 * Random (version 4) UUIDs for client and session IDs, as Centrifugo issues them. Same format
 * and randomness source as `crypto.randomUUID`, but formatted into one flat string: Node builds
 * its result by concatenating 20 pieces, about 600 bytes of garbage per ID, and a connection
 * storm makes one or two IDs per connect.
 */
import { randomFillSync } from 'node:crypto';

const UUID_LENGTH = 36;
/** Random bytes fetched per `randomFillSync` call: 256 UUIDs' worth. */
const POOL_BYTES = 16 * 256;

const pool = Buffer.allocUnsafeSlow(POOL_BYTES);
let poolPos = POOL_BYTES;
const out = Buffer.allocUnsafeSlow(UUID_LENGTH);
/** ASCII codes of the two hex digits of each byte value: HEX[2b] high, HEX[2b+1] low. */
const HEX = new Uint8Array(512);
for (let b = 0; b < 256; b++) {
  HEX[2 * b] = '0123456789abcdef'.charCodeAt(b >> 4);
  HEX[2 * b + 1] = '0123456789abcdef'.charCodeAt(b & 15);
}
/** Output position of each of the 16 bytes' hex pairs in `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`. */
const AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
out[8] = out[13] = out[18] = out[23] = 0x2d; // '-'

/** A random UUID, RFC 9562 version 4, lower-case. */
export function randomUuid(): string {
  if (poolPos === POOL_BYTES) {
    randomFillSync(pool);
    poolPos = 0;
  }
  for (let i = 0; i < 16; i++) {
    let b = pool[poolPos + i]!;
    if (i === 6) b = (b & 0x0f) | 0x40; // version 4
    else if (i === 8) b = (b & 0x3f) | 0x80; // variant 10xx
    const at = AT[i]!;
    out[at] = HEX[2 * b]!;
    out[at + 1] = HEX[2 * b + 1]!;
  }
  poolPos += 16;
  return out.toString('latin1', 0, UUID_LENGTH);
}
