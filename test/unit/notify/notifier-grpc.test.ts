/**
 * The notifier over gRPC against a real @grpc/grpc-js server: the NotifyRequest on Rotor's method
 * and on Centrifugo PRO's NotifyChannelState, static metadata and the per-call credential, gzip,
 * and which statuses are retried or dropped.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Notifier, type NotifierOptions } from '../../../src/notify/notifier.js';
import { GrpcSender } from '../../../src/notify/grpc-sender.js';
import { NOTIFY_METHOD, PRO_CHANNEL_STATE_METHOD } from '../../../src/notify/codec.js';
import type { LifecycleEvent } from '../../../src/notify/events.js';
import { silentLogger } from '../../../src/util/logger.js';
import { GrpcBackend, grpcStatus } from '../../helpers/lifecycle-backends.js';

const OPTS: NotifierOptions = { name: 'test', queueSize: 100, batchSize: 10, batchMaxDelayMs: 10, retryMinDelayMs: 10, retryMaxDelayMs: 40 };

const backends: GrpcBackend[] = [];
async function backend(): Promise<GrpcBackend> {
  const b = await GrpcBackend.start();
  backends.push(b);
  return b;
}
after(async () => {
  for (const b of backends) await b.close();
});

function notifier(url: string, method = NOTIFY_METHOD, compression = false): Notifier {
  const sender = new GrpcSender({ endpoint: url, method, timeoutMs: 2000, metadata: { 'x-static': 's', authorization: 'token secret' }, compression });
  const n = new Notifier(OPTS, sender, silentLogger);
  n.start();
  return n;
}

const EVENTS: LifecycleEvent[] = [
  { type: 'disconnect', timeMs: 1_700_000_000_001, client: 'c1', user: 'u1', code: 4001, reason: 'custom', durationMs: 1234 },
  { type: 'unsubscribe', timeMs: 1_700_000_000_002, client: 'c1', user: 'u1', channel: 'chat:a', code: 2000, reason: 'server unsubscribe' },
  { type: 'occupied', timeMs: 1_700_000_000_003, channel: 'chat:b' },
];

describe('Notifier over gRPC', () => {
  for (const compression of [false, true]) {
    it(`sends a NotifyRequest to LifecycleNotifier/Notify with the metadata${compression ? ', gzip' : ''}`, async () => {
      const b = await backend();
      const n = notifier(b.url, NOTIFY_METHOD, compression);
      for (const e of EVENTS) n.push(e);
      await b.requests(1);
      await n.stop(1000);
      assert.equal(b.batches[0]!.path, NOTIFY_METHOD);
      assert.equal(b.batches[0]!.headers['x-static'], 's');
      assert.equal(b.batches[0]!.headers['authorization'], 'token secret');
      assert.deepEqual(b.events(), [
        { timeMs: 1_700_000_000_001, channel: '', type: 'disconnect', client: 'c1', user: 'u1', code: 4001, reason: 'custom', durationMs: 1234 },
        { timeMs: 1_700_000_000_002, channel: 'chat:a', type: 'unsubscribe', client: 'c1', user: 'u1', code: 2000, reason: 'server unsubscribe', durationMs: 0 },
        { timeMs: 1_700_000_000_003, channel: 'chat:b', type: 'occupied', client: '', user: '', code: 0, reason: '', durationMs: 0 },
      ]);
      assert.equal(n.stats.delivered, 3);
    });
  }

  it("channel state on Centrifugo PRO's method", async () => {
    const b = await backend();
    const n = notifier(b.url, PRO_CHANNEL_STATE_METHOD);
    n.push({ type: 'vacated', timeMs: 5, channel: 'chat:index' });
    await b.requests(1);
    await n.stop(1000);
    assert.equal(b.batches[0]!.path, PRO_CHANNEL_STATE_METHOD);
    assert.deepEqual(b.events().map((e) => [e['channel'], e['type'], e['timeMs']]), [['chat:index', 'vacated', 5]]);
  });

  for (const [name, code] of [['UNAVAILABLE', grpcStatus.UNAVAILABLE], ['INTERNAL', grpcStatus.INTERNAL], ['RESOURCE_EXHAUSTED', grpcStatus.RESOURCE_EXHAUSTED]] as const) {
    it(`${name} is retried`, async () => {
      const b = await backend();
      b.answer = (k) => (k === 0 ? { code } : { code: 'ok' });
      const n = notifier(b.url);
      n.push(EVENTS[0]!);
      await b.requests(2);
      await n.stop(1000);
      assert.deepEqual({ delivered: n.stats.delivered, retries: n.stats.retries }, { delivered: 1, retries: 1 });
    });
  }

  for (const [name, code] of [['UNIMPLEMENTED', grpcStatus.UNIMPLEMENTED], ['INVALID_ARGUMENT', grpcStatus.INVALID_ARGUMENT], ['PERMISSION_DENIED', grpcStatus.PERMISSION_DENIED]] as const) {
    it(`${name} drops the batch`, async () => {
      const b = await backend();
      b.answer = (k) => (k === 0 ? { code } : { code: 'ok' });
      const n = notifier(b.url);
      n.push(EVENTS[0]!);
      await b.requests(1);
      n.push(EVENTS[1]!);
      await b.requests(2);
      await n.stop(1000);
      assert.deepEqual({ delivered: n.stats.delivered, dropped: n.stats.dropped }, { delivered: 1, dropped: 1 });
    });
  }

  it('an OK answer carrying a temporary error is retried, a permanent one dropped', async () => {
    const b = await backend();
    b.answer = (k) => (k === 0 ? { code: 'ok', error: { code: 1, message: 'later', temporary: true } } : k === 1 ? { code: 'ok' } : { code: 'ok', error: { code: 2, message: 'never', temporary: false } });
    const n = notifier(b.url);
    n.push(EVENTS[0]!);
    await b.requests(2);
    n.push(EVENTS[1]!);
    await b.requests(3);
    await n.stop(1000);
    assert.deepEqual({ delivered: n.stats.delivered, dropped: n.stats.dropped, retries: n.stats.retries }, { delivered: 1, dropped: 1, retries: 1 });
  });
});

describe('gRPC sender settings', () => {
  it('a metadata key gRPC refuses fails at construction, naming the endpoint, not at every send', () => {
    assert.throws(
      () => new GrpcSender({ endpoint: 'grpc://127.0.0.1:1', method: NOTIFY_METHOD, timeoutMs: 1000, metadata: { 'bad key!': 'v' }, compression: false }),
      /metadata for grpc:\/\/127\.0\.0\.1:1: /,
    );
  });
});
