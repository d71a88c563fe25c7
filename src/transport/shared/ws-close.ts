/** Closing a `ws` socket the way both WebSocket transports do. */
import type { WebSocket } from 'ws';
import type { Disconnect } from '../../protocol/errors.js';

/** How long a closing peer may take to answer our close frame before the socket is cut, ms. */
export const CLOSE_GRACE_MS = 5000;

/** Sends a close frame with the disconnect code and reason, and cuts the socket after the grace. */
export function closeWithDisconnect(ws: WebSocket, d: Disconnect): void {
  if (ws.readyState === 1) {
    ws.close(d.code, d.reason);
    setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
  } else ws.terminate();
}
