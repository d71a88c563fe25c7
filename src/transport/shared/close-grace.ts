/**
 * How long a closing connection may take to finish on its own before it is cut. Every transport
 * ends connections politely first (a close frame, the end of a response body) and then depends on
 * the client to read; one that stopped reading would otherwise hold its socket and buffered
 * output for as long as it keeps the TCP connection open.
 */

/** The grace, ms. */
export const CLOSE_GRACE_MS = 5000;

/** Runs `cut` once the grace has passed; the timer does not keep the process alive. */
export function afterCloseGrace(cut: () => void): void {
  setTimeout(cut, CLOSE_GRACE_MS).unref();
}
