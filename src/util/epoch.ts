/**
 * Stream epochs: the generation tag of a channel stream (spec §5.1). A new epoch is made whenever
 * a stream's meta is (re)created, so a client holding a position from an older generation sees the
 * mismatch and knows its offsets mean nothing any more. Centrifugo uses 8 random letters; clients
 * only compare epochs for equality, so the format matters for compatibility of looks, not logic.
 */
import { randomFillSync } from 'node:crypto';

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
export const EPOCH_LENGTH = 8;
/** Largest multiple of 52 that fits a byte: bytes at or above it are rejected to avoid modulo bias. */
const ACCEPT_BELOW = 256 - (256 % LETTERS.length); // 208

/** Scratch buffer: epochs are made rarely, but there is no reason to allocate for each. */
const scratch = new Uint8Array(32);

/** A random 8-character string from `[a-zA-Z]` (crypto-strength, uniform). */
export function generateEpoch(): string {
  let out = '';
  while (out.length < EPOCH_LENGTH) {
    randomFillSync(scratch);
    for (let i = 0; i < scratch.length && out.length < EPOCH_LENGTH; i++) {
      const b = scratch[i];
      if (b < ACCEPT_BELOW) out += LETTERS[b % LETTERS.length];
    }
  }
  return out;
}
