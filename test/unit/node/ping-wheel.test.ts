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

test('the first ping comes one interval after joining (to the tick), not sooner', () => {
  mock.timers.enable({ apis: ['setInterval'] });
  try {
    // A 1000 ms interval ticks every 10 ms (the 10 ms floor), so the wheel has 100 slots.
    const w = new PingWheel<Target>(1000, 0);
    w.start();
    mock.timers.tick(375);
    const t = new Target(false);
    w.add(t);
    mock.timers.tick(990 - 5);
    assert.equal(t.pings, 0, 'no ping before the interval is (nearly) over');
    mock.timers.tick(10);
    assert.equal(t.pings, 1, 'pinged one interval after joining');
    mock.timers.tick(1000);
    assert.equal(t.pings, 2, 'then once per interval');
    w.stop();
  } finally {
    mock.timers.reset();
  }
});
