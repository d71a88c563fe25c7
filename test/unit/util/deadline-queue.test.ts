import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { DeadlineQueue, type DeadlineTarget } from '../../../src/util/deadline-queue.js';

class T implements DeadlineTarget {
  deadlineSlot = -1;
  fired: number[] = [];
  constructor(readonly name: string, private readonly log: string[]) {}
  onDeadline(now: number): void {
    this.fired.push(now);
    this.log.push(this.name);
  }
}

test('fires in deadline order with one timer; reschedule moves, remove cancels', () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  try {
    const log: string[] = [];
    const q = new DeadlineQueue<T>();
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => new T(n, log));
    q.schedule(a!, 300);
    q.schedule(b!, 100);
    q.schedule(c!, 200);
    q.schedule(d!, 150);
    q.schedule(a!, 50); // moved earlier
    q.remove(d!);
    assert.equal(q.size, 3);
    assert.equal(d!.deadlineSlot, -1);
    mock.timers.tick(120);
    assert.deepEqual(log, ['a', 'b']);
    q.schedule(c!, 1000); // moved later
    mock.timers.tick(500);
    assert.deepEqual(log, ['a', 'b']);
    mock.timers.tick(500);
    assert.deepEqual(log, ['a', 'b', 'c']);
    assert.equal(q.size, 0);
  } finally {
    mock.timers.reset();
  }
});

test('heap order holds under random schedules and removals', () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  try {
    const log: string[] = [];
    const q = new DeadlineQueue<T>();
    const ts = Array.from({ length: 200 }, (_, i) => new T(String(i), log));
    const want = new Map<T, number>();
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let k = 0; k < 1000; k++) {
      const t = ts[Math.floor(rnd() * ts.length)]!;
      if (rnd() < 0.2) {
        q.remove(t);
        want.delete(t);
      } else {
        const at = 1 + Math.floor(rnd() * 10_000);
        q.schedule(t, at);
        want.set(t, at);
      }
    }
    mock.timers.tick(20_000);
    const expected = [...want].sort((x, y) => x[1] - y[1]);
    assert.equal(log.length, expected.length);
    const firedAt = new Map(ts.map((t) => [t, t.fired[0]]));
    for (const [t, at] of expected) assert.ok(firedAt.get(t)! >= at, `${t.name} fired before its deadline`);
    for (let i = 1; i < expected.length; i++) assert.ok(want.get(ts[Number(log[i - 1])]!)! <= want.get(ts[Number(log[i])]!)!, 'fired in order');
  } finally {
    mock.timers.reset();
  }
});

test('removing the earliest deadline keeps the armed timer: the early wake-up fires nothing and the next deadline is still on time', () => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  try {
    const log: string[] = [];
    const q = new DeadlineQueue<T>();
    const [a, b] = ['a', 'b'].map((n) => new T(n, log));
    q.schedule(a!, 100);
    q.schedule(b!, 500);
    q.remove(a!);
    mock.timers.tick(100);
    assert.deepEqual(log, [], 'nothing fires at the removed deadline');
    mock.timers.tick(399);
    assert.deepEqual(log, []);
    mock.timers.tick(1);
    assert.deepEqual(log, ['b']);
    assert.deepEqual(b!.fired, [500], 'fired at its own deadline, not late');
    // An empty queue after an armed timer: the wake-up finds nothing and arms nothing.
    q.schedule(a!, 700);
    q.remove(a!);
    mock.timers.tick(1000);
    assert.deepEqual(log, ['b']);
  } finally {
    mock.timers.reset();
  }
});
