import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { PingWheel, type PingTarget } from '../../../src/node/ping-wheel.js';

class Target implements PingTarget {
  pings = 0;
  awaitingPong = false;
  pingSlot = -1;
  timedOut = 0;
  constructor(private readonly expectPong: boolean) {}
  sendPing(): boolean {
    this.pings++;
    if (this.expectPong) this.awaitingPong = true;
    return this.expectPong;
  }
  pongTimedOut(): void {
    this.timedOut++;
  }
}

test('every target is pinged once per interval, and a missing pong times out', () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    const w = new PingWheel<Target>(1000, 300);
    const answering = Array.from({ length: 20 }, () => new Target(true));
    const silent = new Target(true);
    for (const t of [...answering, silent]) w.add(t);
    w.start();
    // Answer pongs for `answering` after each tick.
    for (let ms = 0; ms < 3000; ms += 10) {
      mock.timers.tick(10);
      for (const t of answering) t.awaitingPong = false;
    }
    for (const t of answering) {
      assert.equal(t.pings, 3, 'three intervals, three pings');
      assert.equal(t.timedOut, 0);
    }
    assert.ok(silent.timedOut >= 1, 'the silent one timed out');
    w.stop();
  } finally {
    mock.timers.reset();
  }
});

test('removed targets get no pings and no pong checks; no pong expected means no check', () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    const w = new PingWheel<Target>(500, 200);
    const gone = new Target(true);
    const uni = new Target(false);
    w.add(gone);
    w.add(uni);
    w.remove(gone);
    w.start();
    mock.timers.tick(2000);
    assert.equal(gone.pings, 0);
    assert.equal(uni.pings, 4);
    assert.equal(uni.timedOut, 0);
    assert.equal(w.size, 1);
    w.stop();
  } finally {
    mock.timers.reset();
  }
});

test('first pings come between half an interval and one interval after joining, spread over that half', () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    // A 1000 ms interval ticks every 10 ms (the 10 ms floor), so the wheel has 100 slots.
    const w = new PingWheel<Target>(1000, 0);
    w.start();
    mock.timers.tick(375);
    const ts = Array.from({ length: 1000 }, () => new Target(false));
    for (const t of ts) w.add(t);
    const firstAt = new Map<Target, number>();
    for (let ms = 10; ms <= 1500; ms += 10) {
      mock.timers.tick(10);
      for (const t of ts) if (t.pings > 0 && !firstAt.has(t)) firstAt.set(t, ms);
    }
    assert.equal(firstAt.size, ts.length, 'every target was pinged');
    const delays = [...firstAt.values()].map((ms) => ms - 5); // joined 5 ms after the last tick
    assert.ok(Math.min(...delays) >= 500, `no ping within half an interval (earliest ${Math.min(...delays)} ms)`);
    assert.ok(Math.max(...delays) <= 1000, `first ping within one interval (latest ${Math.max(...delays)} ms)`);
    // 1000 targets over 50 possible ticks: all but a few ticks are used (a miss has p ≈ 1e-9).
    assert.ok(new Set(delays).size >= 45, `spread over ${new Set(delays).size} ticks`);
    for (const t of ts) assert.ok(t.pings >= 1 && t.pings <= 2, 'then once per interval');
    w.stop();
  } finally {
    mock.timers.reset();
  }
});
