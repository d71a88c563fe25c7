/** Reading request bodies with a hard size limit, and answering one that was refused. */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';

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
 * After a 413, how much of the rest of the body is read and dropped before the connection closes,
 * at most: bytes, and ms from the answer. A client that sends its whole body before it reads
 * (most do, for bodies this size) finishes within these and then reads the answer; one that goes
 * on past them is cut, which may reset its connection.
 */
export const REFUSED_BODY_DRAIN_BYTES = 16 * 1024 * 1024;
export const REFUSED_BODY_DRAIN_MS = 10_000;

/**
 * Answers with `status` and a plain `body`, then ends the response. With 413 the request body is
 * mostly unread, so the connection cannot serve another request and closes (`Connection: close`),
 * unless the whole request has already arrived.
 * Closing a socket with unread bytes in it makes the kernel reset the connection, and a reset can
 * destroy the answer before the client reads it (or fail the client's upload first). So the whole
 * answer is written at once (its Content-Length is met), and the response, whose end makes Node
 * close the socket, ends only when the client has sent the rest of the body, or after
 * `REFUSED_BODY_DRAIN_BYTES` / `REFUSED_BODY_DRAIN_MS`, whichever comes first. Kept alive instead,
 * Node would read and discard whatever the client goes on sending (a chunked body need never end).
 */
export function endAnswer(res: ServerResponse, status: number, headers: OutgoingHttpHeaders, body: string): void {
  // `complete`: the whole message has come in, so nothing is left unread in the socket.
  const unread = status === PAYLOAD_TOO_LARGE && !res.req.complete;
  res.writeHead(status, { ...headers, 'Content-Length': Buffer.byteLength(body), ...(unread ? { Connection: 'close' } : {}) });
  if (!unread) {
    res.end(body);
    return;
  }
  res.write(body);
  endAfterBody(res.req, res);
}

/** Ends `res` once `req` has been read to its end, or the drain bounds are reached. */
function endAfterBody(req: IncomingMessage, res: ServerResponse): void {
  let discarded = 0;
  const stop = (): void => {
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', end);
    res.off('close', stop);
  };
  const end = (): void => {
    stop();
    res.end();
  };
  const onData = (chunk: Buffer): void => {
    discarded += chunk.length;
    if (discarded > REFUSED_BODY_DRAIN_BYTES) end();
  };
  const timer = setTimeout(end, REFUSED_BODY_DRAIN_MS).unref();
  req.on('data', onData);
  req.once('end', end);
  // The client went away: nothing to end.
  res.once('close', stop);
  req.resume();
}
