/** Closing a `ws` socket the way both WebSocket transports do. */
import type { WebSocket } from 'ws';
import type { Disconnect } from '../../protocol/errors.js';
import { afterCloseGrace } from './close-grace.js';

/** Sends a close frame with the disconnect code and reason, and cuts the socket after the grace. */
export function closeWithDisconnect(ws: WebSocket, d: Disconnect): void {
  if (ws.readyState === 1) {
    ws.close(d.code, d.reason);
    afterCloseGrace(() => ws.terminate());
  } else ws.terminate();
}
