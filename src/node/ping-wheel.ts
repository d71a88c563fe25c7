/**
 * One timer for every connection's pings. Sessions sit in the slots of a ring that turns once per
 * ping interval; each tick pings the sessions of one slot and checks the pongs that fell due.
 * Compared with a timer per connection this keeps no Timeout object and closure per session, and
 * re-arms nothing per ping: at 100 ms resolution the whole node wakes up ten times a second.
 *
 * A session joins at a random slot between half a ring and a whole ring ahead of the cursor, so its
 * first ping comes between half an interval and one interval after connecting, as in Centrifugo
 * (which randomises the first ping so a mass reconnect does not ping, and check pongs, in one
 * burst every interval thereafter). Nothing is pinged within half an interval of connecting.
 * A pong is due `pongTimeout` after the ping, rounded up to
 * the tick; a session still waiting then is told so and disconnects with 3012.
 */

/** What the wheel calls on a session. */
export interface PingTarget {
  /** Sends a ping; returns true when a pong is expected for it. */
  sendPing(): boolean;
  /** Whether the pong for the last ping is still missing. */
  readonly awaitingPong: boolean;
  /** Called when the pong did not arrive in time. */
  pongTimedOut(): void;
  /**
   * The wheel's bookkeeping: the slot this target sits in, -1 when it is not on a wheel. Start
   * it at -1 and leave it to the wheel. A field instead of a Map entry per connection.
   */
  pingSlot: number;
}

/** Ticks per interval; the resolution is interval / SLOTS, clamped to [10 ms, 1 s]. */
const SLOTS = 250;

export class PingWheel<T extends PingTarget> {
  private readonly tickMs: number;
  private readonly slots: Set<T>[];
  /** Sessions waiting for a pong, by the slot index at which the wait ends. */
  private readonly pongDue: Set<T>[];
  private readonly pongTicks: number;
  private count = 0;
  private cursor = 0;
  private timer: NodeJS.Timeout | undefined;

  /** `intervalMs` > 0; `pongTimeoutMs` 0 disables pong checks. */
  constructor(intervalMs: number, pongTimeoutMs: number) {
    this.tickMs = Math.min(1000, Math.max(10, Math.floor(intervalMs / SLOTS)));
    const n = Math.max(1, Math.round(intervalMs / this.tickMs));
    this.slots = Array.from({ length: n }, () => new Set<T>());
    this.pongDue = Array.from({ length: n }, () => new Set<T>());
    this.pongTicks = pongTimeoutMs > 0 ? Math.max(1, Math.ceil(pongTimeoutMs / this.tickMs)) : 0;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  add(t: T): void {
    if (t.pingSlot >= 0) return;
    const n = this.slots.length;
    // k ticks ahead, k in [n - ceil(n/2) + 1, n]: tick() advances the cursor before serving a slot.
    const k = n - Math.floor(Math.random() * Math.ceil(n / 2));
    const i = (this.cursor + k) % n;
    this.slots[i]!.add(t);
    t.pingSlot = i;
    this.count++;
  }

  remove(t: T): void {
    const i = t.pingSlot;
    if (i < 0 || !this.slots[i]!.delete(t)) return;
    t.pingSlot = -1;
    this.count--;
    // A pending pong check is left in place: it finds the session gone or no longer waiting.
  }

  get size(): number {
    return this.count;
  }

  private tick(): void {
    const n = this.slots.length;
    this.cursor = (this.cursor + 1) % n;
    const due = this.pongDue[this.cursor]!;
    if (due.size > 0) {
      for (const t of due) if (t.pingSlot >= 0 && t.awaitingPong) t.pongTimedOut();
      due.clear();
    }
    const pongSlot = this.pongTicks > 0 ? this.pongDue[(this.cursor + this.pongTicks) % n]! : undefined;
    for (const t of this.slots[this.cursor]!) if (t.sendPing() && pongSlot !== undefined) pongSlot.add(t);
  }
}
