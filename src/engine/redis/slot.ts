/**
 * Redis Cluster's key slot: CRC16 (XMODEM: polynomial 0x1021, initial 0) of the key's hash tag
 * (the part between the first `{` and the next `}`, when not empty) or of the whole key, mod
 * 16384. A sharded PUB/SUB channel lives on the master that owns its name's slot.
 */
export const CLUSTER_SLOTS = 16384;

export function keySlot(key: string): number {
  let bytes = Buffer.from(key, 'utf8');
  const open = bytes.indexOf('{');
  if (open >= 0) {
    const close = bytes.indexOf('}', open + 1);
    if (close > open + 1) bytes = bytes.subarray(open + 1, close);
  }
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % CLUSTER_SLOTS;
}
