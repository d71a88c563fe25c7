/**
 * The bytes last built from a run of encoded messages, keyed by the identity of the messages.
 *
 * Fan-out flushes subscribers one after another with the same encoded messages (the one
 * publication of a broadcast, or the same run when pushes were batched in one turn). A transport
 * whose framing does not depend on the connection (WebSocket without extensions, SSE and NDJSON
 * bodies) builds the framed bytes once per run and writes the same Buffer for every subscriber.
 * Holds one Buffer and at most one run of references (no more than `client.max_messages_in_frame`)
 * until the next write through it: its memory is bounded by the largest frame written. Encoded messages are never mutated once queued, so identity is a
 * safe key; equal bytes in another object build anew.
 */
export type RunBuilder = (messages: readonly Uint8Array[], start: number, end: number) => Buffer;

export class RunCache {
  private readonly keys: Uint8Array[] = [];
  private bytes: Buffer | undefined;

  constructor(private readonly build: RunBuilder) {}

  bytesFor(messages: readonly Uint8Array[], start: number, end: number): Buffer {
    const n = end - start;
    const keys = this.keys;
    if (this.bytes !== undefined && keys.length === n) {
      let same = true;
      for (let i = 0; i < n; i++) {
        if (keys[i] !== messages[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return this.bytes;
    }
    // Built before the keys change: a build that throws must not leave the old bytes under new keys.
    this.bytes = undefined;
    const bytes = this.build(messages, start, end);
    keys.length = n;
    for (let i = 0; i < n; i++) keys[i] = messages[start + i]!;
    return (this.bytes = bytes);
  }
}
