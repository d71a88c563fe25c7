/**
 * A Transport without a socket for unit tests: records each frame it is asked to write (one
 * string per message) and the disconnect it is closed with. `buffered` stands for bytes the
 * transport holds but has not handed to the kernel yet.
 */
import type { Transport } from '../../src/node/transport.js';
import type { Disconnect } from '../../src/protocol/errors.js';

export class RecordingTransport implements Transport {
  readonly name = 'recording';
  readonly protocol = 'json' as const;
  readonly unidirectional = false;
  readonly emulation = false;
  readonly pingStyle = 'app' as const;
  readonly closeFrameDisconnect = true;
  frames: string[][] = [];
  buffered = 0;
  closedWith: Disconnect | undefined;

  write(messages: readonly Uint8Array[], start: number, end: number): void {
    this.frames.push(messages.slice(start, end).map((m) => Buffer.from(m).toString()));
  }

  bufferedBytes(): number {
    return this.buffered;
  }

  close(d: Disconnect): void {
    this.closedWith = d;
  }

  /** Every message written so far, JSON-decoded (a message may hold several replies, one per line). */
  replies(): Array<Record<string, unknown>> {
    return this.frames.flat().flatMap((m) => m.split('\n').map((line) => JSON.parse(line) as Record<string, unknown>));
  }
}
