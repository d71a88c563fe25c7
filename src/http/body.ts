/** Reading request bodies with a hard size limit. */
import type { IncomingMessage } from 'node:http';

export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

/**
 * Reads the whole body. Rejects with BodyTooLargeError as soon as more than `limit` bytes arrive
 * (or Content-Length announces more), without buffering the excess.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      reject(new BodyTooLargeError(`body of ${declared} bytes exceeds ${limit}`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > limit) {
        done = true;
        req.resume();
        reject(new BodyTooLargeError(`body exceeds ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    req.on('error', (e) => {
      if (done) return;
      done = true;
      reject(e);
    });
  });
}

/** HTTP status answering a body over the limit. */
const PAYLOAD_TOO_LARGE = 413;

/**
 * Response headers for a refusal: with 413 the rest of the oversized body is never read, so the
 * answer closes the connection. Kept alive, Node would read and discard whatever the client goes
 * on sending (a chunked body need never end) before the connection could serve another request.
 */
export function closeIfUnread(status: number, headers: Record<string, string | number>): Record<string, string | number> {
  if (status === PAYLOAD_TOO_LARGE) headers.Connection = 'close';
  return headers;
}
