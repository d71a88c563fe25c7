import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writer } from '../../../src/node/client/writer.js';
import type { Transport } from '../../../src/node/transport.js';
import type { Disconnect } from '../../../src/protocol/errors.js';

class FakeTransport implements Transport {
  readonly name = 'fake';
  readonly protocol = 'json' as const;
  readonly unidirectional = false;
  readonly emulation = false;
  readonly pingStyle = 'app' as const;
  readonly closeFrameDisconnect = true;
  frames: string[][] = [];
  buffered = 0;
  closedWith: Disconnect | undefined;
  write(messages: readonly Uint8Array[], start: number, end: number): void {
    this.frames.push(messages.slice(start, end).map((m) => Buffer.from(m).toString()));
  }
  bufferedBytes(): number {
    return this.buffered;
  }
  close(d: Disconnect): void {
    this.closedWith = d;
  }
}

const tick = () => new Promise((r) => setImmediate(r));
const msg = (s: string) => Buffer.from(s);

test('messages queued in one turn leave together, at most maxMessagesInFrame per frame', async () => {
  const t = new FakeTransport();
  let overflow = 0;
  const w = new Writer(t, { maxQueueBytes: 1 << 20, maxMessagesInFrame: 3 }, { onWriterOverflow: () => overflow++ });
  for (let i = 0; i < 7; i++) w.enqueue(msg(`m${i}`));
  assert.equal(t.frames.length, 0, 'nothing is written synchronously');
  await tick();
  assert.deepEqual(t.frames, [['m0', 'm1', 'm2'], ['m3', 'm4', 'm5'], ['m6']]);
  assert.equal(overflow, 0);
});

test('the same bytes object is handed to the transport (no copy for single messages)', async () => {
  const t = new FakeTransport();
  let seen: Uint8Array | undefined;
  t.write = (m, s) => {
    seen = m[s];
  };
  const w = new Writer(t, { maxQueueBytes: 1024, maxMessagesInFrame: 16 }, { onWriterOverflow: () => {} });
  const b = msg('x');
  w.enqueue(b);
  await tick();
  assert.equal(seen, b);
});

test('overflow counts transport-buffered bytes, drops the queue and reports once', async () => {
  const t = new FakeTransport();
  let overflow = 0;
  const w = new Writer(t, { maxQueueBytes: 100, maxMessagesInFrame: 16 }, { onWriterOverflow: () => overflow++ });
  // The transport backlog grows through our own writes; each flush samples it.
  w.enqueue(msg('a'));
  t.buffered = 90;
  await tick();
  assert.deepEqual(t.frames, [['a']]);
  assert.equal(w.enqueue(msg('0123456789')), true);
  assert.equal(w.enqueue(msg('x')), false);
  assert.equal(w.enqueue(msg('y')), false);
  await tick();
  assert.equal(overflow, 1);
  assert.deepEqual(t.frames, [['a']], 'nothing queued is written after an overflow');
  assert.equal(w.isClosed, true);
});

test('close(flush=true) writes what is queued; close(false) drops it', async () => {
  const t1 = new FakeTransport();
  const w1 = new Writer(t1, { maxQueueBytes: 1024, maxMessagesInFrame: 16 }, { onWriterOverflow: () => {} });
  w1.enqueue(msg('a'));
  w1.close(true);
  assert.deepEqual(t1.frames, [['a']]);
  const t2 = new FakeTransport();
  const w2 = new Writer(t2, { maxQueueBytes: 1024, maxMessagesInFrame: 16 }, { onWriterOverflow: () => {} });
  w2.enqueue(msg('a'));
  w2.close(false);
  await tick();
  assert.deepEqual(t2.frames, []);
  assert.equal(w2.enqueue(msg('b')), false);
});

test('a backlog that drained since the last flush does not count (the live value decides at the limit)', async () => {
  const t = new FakeTransport();
  let overflow = 0;
  const w = new Writer(t, { maxQueueBytes: 100, maxMessagesInFrame: 16 }, { onWriterOverflow: () => overflow++ });
  w.enqueue(msg('a'));
  t.buffered = 95;
  await tick();
  t.buffered = 0;
  assert.equal(w.enqueue(msg('0123456789')), true);
  assert.equal(overflow, 0);
});

test('flushing reuses its arrays: frames written in successive turns stay intact', async () => {
  const t = new FakeTransport();
  const w = new Writer(t, { maxQueueBytes: 1 << 20, maxMessagesInFrame: 16 }, { onWriterOverflow: () => {} });
  for (let turn = 0; turn < 3; turn++) {
    w.enqueue(msg(`t${turn}a`));
    w.enqueue(msg(`t${turn}b`));
    await tick();
  }
  assert.deepEqual(t.frames, [['t0a', 't0b'], ['t1a', 't1b'], ['t2a', 't2b']]);
});
