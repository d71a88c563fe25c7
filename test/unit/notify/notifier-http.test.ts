/**
 * The notifier over HTTP against a real node:http backend: batching and order, retried delivery
 * (500, 408, 429, a timeout, a refused connection, a temporary `error`), dropped batches (4xx, a
 * permanent `error`), the bounded queue, and the bounded flush at stop.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { Notifier, type NotifierOptions } from '../../../src/notify/notifier.js';
import { HttpSender } from '../../../src/notify/http-sender.js';
import type { LifecycleEvent } from '../../../src/notify/events.js';
import type { Logger } from '../../../src/util/logger.js';
import { HttpBackend } from '../../helpers/lifecycle-backends.js';

const OPTS: NotifierOptions = { name: 'test', queueSize: 1000, batchSize: 3, batchMaxDelayMs: 20, retryMinDelayMs: 10, retryMaxDelayMs: 40 };

interface Line {
  level: string;
  fields: Record<string, unknown>;
  msg: string;
}

function capture(): { log: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (fields: object | string, msg?: string) => {
    lines.push(typeof fields === 'string' ? { level, fields: {}, msg: fields } : { level, fields: fields as Record<string, unknown>, msg: msg ?? '' });
  };
  return { lines, log: { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

function disconnect(i: number): LifecycleEvent {
  return { type: 'disconnect', timeMs: 1_700_000_000_000 + i, client: `c${i}`, user: `u${i}`, code: 3000, reason: 'connection closed', durationMs: i };
}

const backends: HttpBackend[] = [];
async function backend(): Promise<HttpBackend> {
  const b = await HttpBackend.start();
  backends.push(b);
  return b;
}
after(async () => {
  for (const b of backends) await b.close();
});

function notifier(url: string, opts: Partial<NotifierOptions> = {}, timeoutMs = 2000, log: Logger = capture().log): Notifier {
  const n = new Notifier({ ...OPTS, ...opts }, new HttpSender({ endpoint: url, timeoutMs, staticHeaders: { 'x-test': 'yes' } }), log);
  n.start();
  return n;
}

describe('Notifier over HTTP', () => {
  it('sends events in batches of at most batch_size, oldest first, with the static headers', async () => {
    const b = await backend();
    const n = notifier(b.url);
    for (let i = 0; i < 7; i++) n.push(disconnect(i));
    await b.next((e) => e['client'] === 'c6', 'the last event');
    await n.stop(1000);
    assert.deepEqual(b.events().map((e) => e['client']), ['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6']);
    assert.ok(b.batches.every((x) => x.events.length <= 3), `batches of at most 3: ${b.batches.map((x) => x.events.length)}`);
    assert.equal(b.batches[0]!.headers['x-test'], 'yes');
    assert.equal(b.batches[0]!.headers['content-type'], 'application/json');
    assert.equal(b.batches[0]!.path, '/lifecycle');
    assert.deepEqual(b.events()[0], { type: 'disconnect', time_ms: 1_700_000_000_000, client: 'c0', user: 'u0', code: 3000, reason: 'connection closed', duration_ms: 0 });
    assert.equal(n.stats.delivered, 7);
  });

  it('a batch answered 500 is sent again, the same events, until a 200 takes it', async () => {
    const b = await backend();
    b.answer = (k) => (k < 2 ? { status: 500 } : { status: 200 });
    const n = notifier(b.url, { batchSize: 10 });
    n.push(disconnect(1));
    n.push(disconnect(2));
    await b.requests(3);
    await n.stop(1000);
    assert.deepEqual(b.batches.map((x) => x.events.map((e) => e['client'])), [['c1', 'c2'], ['c1', 'c2'], ['c1', 'c2']]);
    assert.equal(n.stats.retries, 2);
    assert.equal(n.stats.delivered, 2);
  });

  for (const status of [408, 429, 503]) {
    it(`HTTP ${status} is retried`, async () => {
      const b = await backend();
      b.answer = (k) => (k === 0 ? { status } : { status: 200 });
      const n = notifier(b.url);
      n.push(disconnect(1));
      await b.requests(2);
      await n.stop(1000);
      assert.equal(n.stats.delivered, 1);
      assert.equal(n.stats.dropped, 0);
    });
  }

  it('a 4xx other than 408/429 drops the batch (logged) and the next batch goes on', async () => {
    const b = await backend();
    b.answer = (k) => (k === 0 ? { status: 400 } : { status: 200 });
    const { log, lines } = capture();
    const n = notifier(b.url, { batchSize: 1 }, 2000, log);
    n.push(disconnect(1));
    n.push(disconnect(2));
    await b.requests(2);
    await n.stop(1000);
    assert.deepEqual(b.batches.map((x) => x.events.map((e) => e['client'])), [['c1'], ['c2']]);
    assert.equal(n.stats.dropped, 1);
    assert.equal(n.stats.delivered, 1);
    const drop = lines.find((l) => l.level === 'error');
    assert.ok(drop !== undefined && drop.fields['why'] === 'HTTP 400', `a drop logged with its status: ${JSON.stringify(lines)}`);
  });

  it('an answer with a temporary error is retried; with a permanent one the batch is dropped', async () => {
    const b = await backend();
    b.answer = (k) =>
      k === 0
        ? { status: 200, body: '{"error":{"code":100,"message":"busy","temporary":true}}' }
        : k === 1
          ? { status: 200, body: '{"result":{}}' }
          : { status: 200, body: '{"error":{"code":400,"message":"no"}}' };
    const n = notifier(b.url, { batchSize: 1 });
    n.push(disconnect(1));
    await b.requests(2);
    n.push(disconnect(2));
    await b.requests(3);
    await n.stop(1000);
    assert.deepEqual(b.batches.map((x) => x.events.map((e) => e['client'])), [['c1'], ['c1'], ['c2']]);
    assert.deepEqual({ delivered: n.stats.delivered, dropped: n.stats.dropped, retries: n.stats.retries }, { delivered: 1, dropped: 1, retries: 1 });
  });

  it('an answer that is not JSON still delivers the batch', async () => {
    const b = await backend();
    b.answer = () => ({ status: 200, body: '<html>ok' });
    const n = notifier(b.url);
    n.push(disconnect(1));
    await b.requests(1);
    await n.stop(1000);
    assert.equal(n.stats.delivered, 1);
    assert.equal(b.batches.length, 1);
  });

  it('a backend that does not answer within the timeout gets the batch again', async () => {
    const b = await backend();
    b.answer = (k) => (k === 0 ? 'hang' : { status: 200 });
    const n = notifier(b.url, {}, 100);
    n.push(disconnect(1));
    await b.requests(2);
    await n.stop(1000);
    assert.equal(n.stats.delivered, 1);
    assert.ok(n.stats.retries >= 1);
  });

  it('a refused connection is retried until the backend listens', async () => {
    // A port nothing listens on, then a backend on it.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const { log, lines } = capture();
    const n = notifier(`http://127.0.0.1:${port}/lifecycle`, {}, 2000, log);
    n.push(disconnect(1));
    await waitFor(() => n.stats.retries >= 2, 'two retries');
    const retry = lines.find((l) => l.level === 'warn');
    assert.match(String(retry?.fields['why']), /ECONNREFUSED/);
    const b = await backendOn(port);
    await b.next((e) => e['client'] === 'c1', 'the retried event');
    await n.stop(1000);
    assert.equal(n.stats.delivered, 1);
  });

  it('a full queue refuses events, counts them and logs the count at most once per interval', async () => {
    const b = await backend();
    b.answer = () => 'hang';
    const { log, lines } = capture();
    const n = notifier(b.url, { queueSize: 5, batchSize: 1 }, 60_000, log);
    n.push(disconnect(0));
    await b.requests(1); // c0 in flight, held by the backend
    for (let i = 1; i <= 12; i++) n.push(disconnect(i));
    assert.equal(n.queued, 5);
    assert.equal(n.stats.overflowed, 7);
    const warns = lines.filter((l) => l.level === 'warn' && /queue full/.test(l.msg));
    assert.equal(warns.length, 1, 'one line for seven refusals');
    b.answer = () => ({ status: 200 });
    b.release();
    await b.next((e) => e['client'] === 'c5', 'the last queued event');
    await n.stop(1000);
    assert.deepEqual(b.events().map((e) => e['client']), ['c0', 'c1', 'c2', 'c3', 'c4', 'c5']);
  });

  it('stop sends what is queued, then gives up within its bound and counts what is left', async () => {
    const b = await backend();
    const n = notifier(b.url, { batchMaxDelayMs: 60_000, batchSize: 100 });
    n.push(disconnect(1));
    n.push(disconnect(2));
    await n.stop(5000);
    assert.deepEqual(b.events().map((e) => e['client']), ['c1', 'c2'], 'the queue was flushed without waiting for batch_max_delay');

    const down = await backend();
    down.answer = () => ({ status: 503 });
    const { log, lines } = capture();
    const m = notifier(down.url, { retryMinDelayMs: 10, retryMaxDelayMs: 20 }, 2000, log);
    m.push(disconnect(3));
    await down.requests(1);
    const t0 = Date.now();
    await m.stop(150);
    assert.equal(m.stats.lostAtStop, 1);
    assert.ok(lines.some((l) => l.level === 'warn' && l.fields['lost'] === 1), 'the loss is logged');
    m.push(disconnect(4)); // after stop: ignored
    assert.equal(m.queued, 0);
    assert.ok(Date.now() - t0 < 5000, 'stop ended (bounded)');
  });
});

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** An HttpBackend on a given port (for the refused-then-listening case). */
async function backendOn(port: number): Promise<HttpBackend> {
  const b = await HttpBackend.start('/lifecycle', port);
  backends.push(b);
  return b;
}
