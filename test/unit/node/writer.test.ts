import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { FlushScheduler, Writer } from '../../../src/node/client/writer.js';
import { RecordingTransport } from '../../helpers/recording-transport.js';

const tick = () => new Promise((r) => setImmediate(r));
/** End-of-turn flushes, as with `client.write_delay` 0. */
const NOW = new FlushScheduler(0);
const msg = (s: string) => Buffer.from(s);

test('messages queued in one turn leave together, at most maxMessagesInFrame per frame', async () => {
  const t = new RecordingTransport();
  let overflow = 0;
  const w = new Writer(t, { maxQueueBytes: 1 << 20, maxMessagesInFrame: 3, scheduler: NOW }, { onWriterOverflow: () => overflow++ });
  for (let i = 0; i < 7; i++) w.enqueue(msg(`m${i}`));
  assert.equal(t.frames.length, 0, 'nothing is written synchronously');
  await tick();
  assert.deepEqual(t.frames, [['m0', 'm1', 'm2'], ['m3', 'm4', 'm5'], ['m6']]);
  assert.equal(overflow, 0);
});

test('the same bytes object is handed to the transport (no copy for single messages)', async () => {
  const t = new RecordingTransport();
  let seen: Uint8Array | undefined;
  t.write = (m, s) => {
    seen = m[s];
  };
  const w = new Writer(t, { maxQueueBytes: 1024, maxMessagesInFrame: 16, scheduler: NOW }, { onWriterOverflow: () => {} });
  const b = msg('x');
  w.enqueue(b);
  await tick();
  assert.equal(seen, b);
});

test('overflow counts transport-buffered bytes, drops the queue and reports once', async () => {
  const t = new RecordingTransport();
  let overflow = 0;
  const w = new Writer(t, { maxQueueBytes: 100, maxMessagesInFrame: 16, scheduler: NOW }, { onWriterOverflow: () => overflow++ });
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
  const t1 = new RecordingTransport();
  const w1 = new Writer(t1, { maxQueueBytes: 1024, maxMessagesInFrame: 16, scheduler: NOW }, { onWriterOverflow: () => {} });
  w1.enqueue(msg('a'));
  w1.close(true);
  assert.deepEqual(t1.frames, [['a']]);
  const t2 = new RecordingTransport();
  const w2 = new Writer(t2, { maxQueueBytes: 1024, maxMessagesInFrame: 16, scheduler: NOW }, { onWriterOverflow: () => {} });
  w2.enqueue(msg('a'));
  w2.close(false);
  await tick();
  assert.deepEqual(t2.frames, []);
  assert.equal(w2.enqueue(msg('b')), false);
});

test('a backlog that drained since the last flush does not count (the live value decides at the limit)', async () => {
  const t = new RecordingTransport();
  let overflow = 0;
  const w = new Writer(t, { maxQueueBytes: 100, maxMessagesInFrame: 16, scheduler: NOW }, { onWriterOverflow: () => overflow++ });
  w.enqueue(msg('a'));
  t.buffered = 95;
  await tick();
  t.buffered = 0;
  assert.equal(w.enqueue(msg('0123456789')), true);
  assert.equal(overflow, 0);
});

test('flushing reuses its arrays: frames written in successive turns stay intact', async () => {
  const t = new RecordingTransport();
  const w = new Writer(t, { maxQueueBytes: 1 << 20, maxMessagesInFrame: 16, scheduler: NOW }, { onWriterOverflow: () => {} });
  for (let turn = 0; turn < 3; turn++) {
    w.enqueue(msg(`t${turn}a`));
    w.enqueue(msg(`t${turn}b`));
    await tick();
  }
  assert.deepEqual(t.frames, [['t0a', 't0b'], ['t1a', 't1b'], ['t2a', 't2b']]);
});

test('write delay: messages of a window leave together when it closes, one timer for all writers', async () => {
  mock.timers.enable({ apis: ['setTimeout', 'setImmediate'] });
  try {
    const delayed = new FlushScheduler(50);
    const a = new RecordingTransport();
    const b = new RecordingTransport();
    const wa = new Writer(a, { maxQueueBytes: 1 << 20, maxMessagesInFrame: 16, scheduler: delayed }, { onWriterOverflow: () => {} });
    const wb = new Writer(b, { maxQueueBytes: 1 << 20, maxMessagesInFrame: 16, scheduler: delayed }, { onWriterOverflow: () => {} });
    wa.enqueue(msg('a1'));
    mock.timers.tick(20);
    wa.enqueue(msg('a2'));
    wb.enqueue(msg('b1'));
    mock.timers.tick(29);
    assert.deepEqual([a.frames, b.frames], [[], []], 'nothing before the window closes');
    mock.timers.tick(1);
    assert.deepEqual(a.frames, [['a1', 'a2']]);
    assert.deepEqual(b.frames, [['b1']], 'a writer that joined late leaves with the window, not later');
    // The next message opens a new window.
    wa.enqueue(msg('a3'));
    mock.timers.tick(49);
    assert.deepEqual(a.frames, [['a1', 'a2']]);
    mock.timers.tick(1);
    assert.deepEqual(a.frames, [['a1', 'a2'], ['a3']]);
  } finally {
    mock.timers.reset();
  }
});

test('writeNow (reply_without_queue) goes out at once, after what was queued, also with a write delay', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const t = new RecordingTransport();
    const w = new Writer(t, { maxQueueBytes: 1 << 20, maxMessagesInFrame: 16, scheduler: new FlushScheduler(1000) }, { onWriterOverflow: () => {} });
    w.enqueue(msg('push1'));
    assert.equal(w.writeNow(msg('reply')), true);
    assert.deepEqual(t.frames, [['push1', 'reply']]);
    w.enqueue(msg('push2'));
    mock.timers.tick(1000);
    assert.deepEqual(t.frames, [['push1', 'reply'], ['push2']]);
  } finally {
    mock.timers.reset();
  }
});

test('writeNow respects the queue limit', () => {
  const t = new RecordingTransport();
  let overflow = 0;
  const w = new Writer(t, { maxQueueBytes: 10, maxMessagesInFrame: 16, scheduler: NOW }, { onWriterOverflow: () => overflow++ });
  t.buffered = 8;
  assert.equal(w.writeNow(msg('a')), true, '1 + 0 sampled: fits');
  assert.equal(w.writeNow(msg('0123')), false, '4 + 8 buffered > 10');
  assert.equal(overflow, 1);
  assert.deepEqual(t.frames, [['a']]);
});

test('an unlimited frame size (max_messages_in_frame -1) joins everything queued', async () => {
  const t = new RecordingTransport();
  const w = new Writer(t, { maxQueueBytes: 1 << 20, maxMessagesInFrame: Infinity, scheduler: NOW }, { onWriterOverflow: () => {} });
  for (let i = 0; i < 40; i++) w.enqueue(msg(`m${i}`));
  await tick();
  assert.equal(t.frames.length, 1);
  assert.equal(t.frames[0]!.length, 40);
});
