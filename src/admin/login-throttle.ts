/**
 * Failed admin logins, throttled per client address: at most MAX_FAILURES wrong passwords per
 * address in a WINDOW_MS window; past that the address is refused (429) until the window that
 * began with its first failure is over, right password or not, so guessing costs time. A right
 * password clears the address's count. At most MAX_ADDRESSES are tracked (the oldest forgotten),
 * so a flood of addresses cannot grow memory.
 */
import { LRUCache } from 'lru-cache';

export const MAX_FAILURES = 10;
export const WINDOW_MS = 60_000;
const MAX_ADDRESSES = 10_000;

interface Entry {
  failures: number;
  since: number;
}

export class LoginThrottle {
  readonly #by = new LRUCache<string, Entry>({ max: MAX_ADDRESSES });

  /** Milliseconds until `address` may try again; 0 when it may now. */
  blockedFor(address: string, now = Date.now()): number {
    const e = this.#by.get(address);
    if (e === undefined) return 0;
    if (now - e.since >= WINDOW_MS) {
      this.#by.delete(address);
      return 0;
    }
    return e.failures >= MAX_FAILURES ? WINDOW_MS - (now - e.since) : 0;
  }

  failed(address: string, now = Date.now()): void {
    const e = this.#by.get(address);
    if (e === undefined || now - e.since >= WINDOW_MS) this.#by.set(address, { failures: 1, since: now });
    else e.failures++;
  }

  succeeded(address: string): void {
    this.#by.delete(address);
  }
}
