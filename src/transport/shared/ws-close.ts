/** Closing a `ws` socket the way both WebSocket transports do. */
import type { WebSocket } from 'ws';
import type { Disconnect } from '../../protocol/errors.js';
import { afterCloseGrace } from './close-grace.js';

/** A close frame's payload is at most 125 bytes: the 2-byte code and up to 123 bytes of reason. */
const MAX_REASON_BYTES = 123;

/**
 * Sends a close frame with the disconnect code and reason, and cuts the socket after the grace.
 * A code no close frame may carry (outside 1000–1014 and 3000–4999, or 1004–1006; the server API
 * accepts any) cuts the socket at once, as Centrifugo does when its close frame cannot be written.
 * A reason over 123 bytes is cut at a character boundary.
 */
export function closeWithDisconnect(ws: WebSocket, d: Disconnect): void {
  if (ws.readyState === 1 && sendableCode(d.code)) {
    ws.close(d.code, fitReason(d.reason));
    afterCloseGrace(() => ws.terminate());
  } else ws.terminate();
}

/** The close codes `ws` accepts in a close frame (RFC 6455 §7.4). */
function sendableCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

function fitReason(reason: string): string {
  // Byte length is at most 3 per UTF-16 unit: short reasons need no encoding.
  if (reason.length * 3 <= MAX_REASON_BYTES || Buffer.byteLength(reason) <= MAX_REASON_BYTES) return reason;
  const bytes = Buffer.from(reason);
  let end = MAX_REASON_BYTES;
  // Back off continuation bytes (10xxxxxx) so no character is split.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}
