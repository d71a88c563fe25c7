/**
 * Many deadlines, one timer: an indexed binary min-heap of targets keyed by deadline, with a
 * single `setTimeout` armed for the earliest. Used for connection expiry, which every token with
 * `exp` sets: a timer per connection would cost a Timeout object and a closure each.
 *
 * Each target has at most one deadline; it carries its own heap slot (`deadlineSlot`, -1 when not
 * queued) so rescheduling and removal are O(log n) and a closed connection is released at once.
 * Deadlines further than 2^31-1 ms away wait in the heap; the timer is armed for at most that
 * long and re-armed on firing.
 */
export interface DeadlineTarget {
  /** Heap slot owned by the queue; initialise to -1. */
  deadlineSlot: number;
  /** Called once the target's deadline has passed (it is no longer queued then). */
  onDeadline(nowMs: number): void;
}

const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export class DeadlineQueue<T extends DeadlineTarget> {
  private readonly at: number[] = [];
  private readonly targets: T[] = [];
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;

  constructor(private readonly now: () => number = Date.now) {}

  /** Sets (or moves) the target's deadline, ms since the epoch. */
  schedule(target: T, deadlineMs: number): void {
    const i = target.deadlineSlot;
    if (i >= 0) {
      const old = this.at[i]!;
      this.at[i] = deadlineMs;
      if (deadlineMs < old) this.up(i);
      else this.down(i);
    } else {
      this.at.push(deadlineMs);
      this.targets.push(target);
      target.deadlineSlot = this.at.length - 1;
      this.up(this.at.length - 1);
    }
    this.rearmIfNeeded();
  }

  /** Removes the target's deadline, if any. */
  remove(target: T): void {
    const i = target.deadlineSlot;
    if (i < 0) return;
    this.removeAt(i);
    this.rearmIfNeeded();
  }

  get size(): number {
    return this.at.length;
  }

  /** Drops everything and the timer. */
  clear(): void {
    for (const t of this.targets) t.deadlineSlot = -1;
    this.at.length = 0;
    this.targets.length = 0;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }

  /**
   * Arms the timer only when the earliest deadline moved earlier than the armed time. When it moved
   * later (the earliest target was removed or rescheduled, as every connect does to its stale-close
   * deadline), the armed timer stays: firing early finds nothing due and arms for the new earliest.
   * That is one wasted wake-up at most, instead of a clearTimeout and setTimeout per connect.
   */
  private rearmIfNeeded(): void {
    const first = this.at.length > 0 ? this.at[0]! : Infinity;
    if (first >= this.armedFor) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = first;
    if (first === Infinity) return;
    this.timer = setTimeout(() => this.fire(), Math.min(MAX_TIMEOUT_MS, Math.max(0, first - this.now())));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = this.now();
    while (this.at.length > 0 && this.at[0]! <= now) {
      const t = this.targets[0]!;
      this.removeAt(0);
      t.onDeadline(now);
    }
    this.rearmIfNeeded();
  }

  private removeAt(i: number): void {
    const last = this.at.length - 1;
    this.targets[i]!.deadlineSlot = -1;
    if (i !== last) {
      this.at[i] = this.at[last]!;
      this.targets[i] = this.targets[last]!;
      this.targets[i]!.deadlineSlot = i;
    }
    this.at.pop();
    this.targets.pop();
    if (i < this.at.length) {
      this.up(i);
      this.down(i);
    }
  }

  private swap(a: number, b: number): void {
    const at = this.at;
    const ts = this.targets;
    const x = at[a]!;
    at[a] = at[b]!;
    at[b] = x;
    const t = ts[a]!;
    ts[a] = ts[b]!;
    ts[b] = t;
    ts[a]!.deadlineSlot = a;
    ts[b]!.deadlineSlot = b;
  }

  private up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.at[p]! <= this.at[i]!) return;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i: number): void {
    const n = this.at.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) return;
      const r = l + 1;
      const c = r < n && this.at[r]! < this.at[l]! ? r : l;
      if (this.at[c]! >= this.at[i]!) return;
      this.swap(i, c);
      i = c;
    }
  }
}
