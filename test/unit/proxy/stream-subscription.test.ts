/**
 * `ProxiedSubscriptionStream`: the node-facing side of a backend subscribe stream, driven here by
 * a stand-in backend stream (the gRPC one is covered against a real backend in
 * proxy-grpc-stream and proxy-subscribe-stream).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { MAX_HELD, ProxiedSubscriptionStream } from '../../../src/proxy/stream-subscription.js';
import { ProxyCallError, type BackendSubscribeStream, type SubscribeStreamEvents } from '../../../src/proxy/types.js';
import type { SubscriptionStreamSink } from '../../../src/node/events.js';

class FakeBackend extends EventEmitter<SubscribeStreamEvents> implements BackendSubscribeStream {
  cancelled = 0;
  sent: Uint8Array[] = [];
  constructor(readonly bidirectional = false) {
    super();
  }
  publish(data: Uint8Array): boolean {
    this.sent.push(data);
    return true;
  }
  cancel(): void {
    this.cancelled++;
  }
}

function recorder(): SubscriptionStreamSink & { seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    publication: (data) => seen.push(Buffer.from(data).toString()),
    ended: (failed) => seen.push(failed ? 'failed' : 'finished'),
  };
}

const pub = (s: string) => ({ data: Buffer.from(s), tags: {} });
const ok = { kind: 'result' as const, result: undefined };

test('stream subscription - the first answer resolves; publications before start are held and handed over in order', async () => {
  const b = new FakeBackend();
  const ends: (ProxyCallError | undefined)[] = [];
  const s = new ProxiedSubscriptionStream(b, (e) => ends.push(e));
  b.emit('response', ok);
  assert.deepEqual(await s.answer, ok);
  b.emit('publication', pub('a'));
  b.emit('publication', pub('b'));
  const sink = recorder();
  s.start(sink);
  b.emit('publication', pub('c'));
  assert.deepEqual(sink.seen, ['a', 'b', 'c']);
  b.emit('end', undefined);
  assert.deepEqual(sink.seen, ['a', 'b', 'c', 'finished']);
  assert.deepEqual(ends, [undefined], 'a finished stream is reported once');
  assert.equal(s.publish, undefined, 'a unidirectional stream takes no publications');
});

test('stream subscription - an end before start is handed over after the held publications', () => {
  const b = new FakeBackend();
  const s = new ProxiedSubscriptionStream(b, () => {});
  b.emit('response', ok);
  b.emit('publication', pub('a'));
  b.emit('end', new ProxyCallError('UNAVAILABLE: gone'));
  const sink = recorder();
  s.start(sink);
  assert.deepEqual(sink.seen, ['a', 'failed']);
});

test('stream subscription - a failure before the answer rejects it and is not reported as an ending', async () => {
  const b = new FakeBackend();
  const ends: unknown[] = [];
  const s = new ProxiedSubscriptionStream(b, (e) => ends.push(e));
  b.emit('end', new ProxyCallError('DEADLINE_EXCEEDED: slow'));
  await assert.rejects(s.answer, /DEADLINE_EXCEEDED: slow/);
  assert.deepEqual(ends, []);
  const finished = new ProxiedSubscriptionStream(new FakeBackend(), () => {});
  (finished as unknown as { backend: FakeBackend }).backend.emit('end', undefined);
  await assert.rejects(finished.answer, /ended before its first message/);
});

test('stream subscription - more than MAX_HELD publications before start fail the stream', () => {
  const b = new FakeBackend();
  const ends: (ProxyCallError | undefined)[] = [];
  const s = new ProxiedSubscriptionStream(b, (e) => ends.push(e));
  b.emit('response', ok);
  for (let i = 0; i <= MAX_HELD; i++) b.emit('publication', pub(String(i)));
  assert.equal(b.cancelled, 1);
  assert.match(ends[0]?.message ?? '', /more than 1024 publications/);
  const sink = recorder();
  s.start(sink);
  assert.equal(sink.seen.length, MAX_HELD + 1);
  assert.equal(sink.seen.at(-1), 'failed');
});

test('stream subscription - close cancels once, silences the sink and refuses publishes', () => {
  const b = new FakeBackend(true);
  const s = new ProxiedSubscriptionStream(b, () => assert.fail('closing is not the backend ending it'));
  b.emit('response', ok);
  const sink = recorder();
  s.start(sink);
  assert.equal(s.publish?.(Buffer.from('x')), true);
  s.close();
  s.close();
  assert.equal(b.cancelled, 1);
  b.emit('publication', pub('late'));
  b.emit('end', undefined);
  assert.deepEqual(sink.seen, []);
  assert.equal(s.publish?.(Buffer.from('y')), false);
  assert.equal(b.sent.length, 1);
});
