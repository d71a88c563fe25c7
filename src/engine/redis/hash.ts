/**
 * Which shard a channel lives on when several Redis setups are configured: Jump Consistent Hash
 * (Lamping and Veach, 2014) over the FNV-1a 64-bit hash of the channel name's UTF-8 bytes. This is
 * the function Centrifugo uses, so a channel lands on the same shard under Rotor and Centrifugo
 * with the same address list, and adding a shard moves only about 1/N of the channels.
 */

const FNV64_OFFSET = 0xcbf29ce484222325n;
const FNV64_PRIME = 0x100000001b3n;
const JUMP_MULTIPLIER = 2862933555777941757n;
const MASK64 = (1n << 64n) - 1n;

const encoder = new TextEncoder();

/** FNV-1a, 64 bits, of the UTF-8 bytes of `s`. */
export function fnv1a64(s: string): bigint {
  let h = FNV64_OFFSET;
  for (const byte of encoder.encode(s)) {
    h ^= BigInt(byte);
    h = (h * FNV64_PRIME) & MASK64;
  }
  return h;
}

/** Jump Consistent Hash of a 64-bit key into `buckets` buckets: an index in [0, buckets). */
export function jumpHash(key: bigint, buckets: number): number {
  let k = key & MASK64;
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    k = (k * JUMP_MULTIPLIER + 1n) & MASK64;
    j = Math.floor((b + 1) * (2 ** 31 / (Number(k >> 33n) + 1)));
  }
  return b;
}

/** The shard index of `channel` among `n` shards; 0 without hashing when there is one. */
export function shardIndex(channel: string, n: number): number {
  return n <= 1 ? 0 : jumpHash(fnv1a64(channel), n);
}
