/**
 * Helpers for the error-path integration tests: bounded waits on close codes and frames, upgrade
 * attempts that are expected to fail with an HTTP status, and Protobuf frame building/parsing
 * (the client side of the codec in src/protocol/protobuf, built from the same descriptor).
 */
import WebSocket from 'ws';
import pb from 'protobufjs/light.js';
import { descriptor } from '../../src/protocol/protobuf/descriptor.generated.js';
import { encodeUvarint32, readUvarint32 } from '../../src/protocol/varint.js';
import type { Closed, RawClient } from './raw-ws.js';

/** Rejects when `p` does not settle within `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

/** Waits (bounded) for the connection to close and returns the close code and reason. */
export function closedWithin(c: RawClient, ms = 5000): Promise<Closed> {
  return within(c.closed, ms, 'the connection to close');
}

/**
 * Waits until `check()` is true, re-checking on every frame received and on close. Bounded.
 * Used for binary frames, which RawClient.next does not look at.
 */
export function frameWhere<T>(c: RawClient, check: () => T | undefined, ms = 5000, what = 'a frame'): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const done = (): boolean => {
      const v = check();
      if (v === undefined) return false;
      cleanup();
      resolve(v);
      return true;
    };
    const onMessage = (): void => {
      done();
    };
    const onClose = (): void => {
      // The close may arrive right after the frame we wait for; give the check one more go.
      if (!done()) {
        cleanup();
        reject(new Error(`connection closed while waiting for ${what}`));
      }
    };
    const t = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out waiting for ${what}`));
    }, ms);
    const cleanup = (): void => {
      clearTimeout(t);
      c.ws.off('message', onMessage);
      c.ws.off('close', onClose);
    };
    c.ws.on('message', onMessage);
    c.ws.on('close', onClose);
    // Listeners added after RawClient's own, so its frame arrays are updated when we run.
    done();
  });
}

/**
 * Opens a WebSocket that the server is expected to refuse before the upgrade; resolves with the
 * HTTP status of the `unexpected-response`. Resolves 101 if the upgrade succeeds instead.
 */
export function upgradeStatus(url: string, headers: Record<string, string> = {}, ms = 5000): Promise<number> {
  return within(
    new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(url, { headers });
      ws.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
        ws.terminate();
      });
      ws.once('open', () => {
        resolve(101);
        ws.terminate();
      });
      ws.once('error', (err) => reject(err));
    }),
    ms,
    'the upgrade answer',
  );
}

// ---------------------------------------------------------------- Protobuf frames

const root = pb.Root.fromJSON(descriptor as unknown as pb.INamespace);
const CommandType = root.lookupType('centrifugal.centrifuge.protocol.Command');
const ReplyType = root.lookupType('centrifugal.centrifuge.protocol.Reply');

/**
 * One WebSocket frame holding the given Commands (protobufjs field names, i.e. camelCase),
 * each prefixed with its varint length.
 */
export function pbFrame(...commands: object[]): Buffer {
  const parts: Uint8Array[] = [];
  for (const c of commands) {
    const err = CommandType.verify(c);
    if (err) throw new Error(`bad test command: ${err}`);
    const body = CommandType.encode(CommandType.fromObject(c)).finish();
    parts.push(encodeUvarint32(body.length), body);
  }
  return Buffer.concat(parts);
}

/** Decodes a varint-delimited frame of Replies into plain objects (camelCase, no defaults). */
export function pbReplies(frame: Uint8Array): any[] {
  const out: any[] = [];
  let pos = 0;
  while (pos < frame.length) {
    const { value: len, end } = readUvarint32(frame, pos);
    if (end + len > frame.length) throw new Error('truncated reply in frame');
    const msg = ReplyType.decode(frame.subarray(end, end + len));
    out.push(ReplyType.toObject(msg, { longs: Number, defaults: false }));
    pos = end + len;
  }
  return out;
}

/** Every Protobuf Reply received so far on `c` (all binary frames, in order). */
export function allPbReplies(c: RawClient): any[] {
  return c.binaryFrames.flatMap((f) => pbReplies(f));
}

/** Waits for a Protobuf Reply matching `pred`. */
export function nextPb(c: RawClient, pred: (r: any) => boolean, ms = 5000): Promise<any> {
  return frameWhere(c, () => allPbReplies(c).find(pred), ms, 'a protobuf reply');
}
