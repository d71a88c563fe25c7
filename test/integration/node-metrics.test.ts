/**
 * The node's metrics seam (node/metrics.ts): a real server with a recording implementation, a
 * real client, and every counted event observed in order: connect, commands with their result
 * codes, subscription, publication, delivery, disconnect.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeMetrics } from '../../src/node/metrics.js';
import { connToken, startServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';

/** Records every call as a short string; durations only as "a number of ms >= 0". */
class RecordingMetrics implements NodeMetrics {
  readonly events: string[] = [];
  connected(transport: string): void {
    this.events.push(`connected ${transport}`);
  }
  disconnected(code: number): void {
    this.events.push(`disconnected ${code}`);
  }
  subscribed(channel: string): void {
    this.events.push(`subscribed ${channel}`);
  }
  command(method: string, code: number, durationMs: number): void {
    assert.ok(Number.isFinite(durationMs) && durationMs >= 0, `duration ${durationMs}`);
    this.events.push(`command ${method} ${code}`);
  }
  published(channel: string): void {
    this.events.push(`published ${channel}`);
  }
  delivered(channel: string, count: number): void {
    this.events.push(`delivered ${channel} ${count}`);
  }
}

test('metrics: the node reports connect, commands with result codes, subscription, publication, delivery and disconnect', async () => {
  const metrics = new RecordingMetrics();
  const srv = await startServer({ channel: { without_namespace: { allow_subscribe_for_client: true } } }, { metrics });
  try {
    const c = await RawClient.open(srv.wsUrl);
    assert.equal(typeof (await c.connect(await connToken('alice'))).connect?.client, 'string');
    c.send({ id: 2, subscribe: { channel: 'room' } });
    assert.deepEqual(await c.next((m: { id?: number }) => m.id === 2), { id: 2, subscribe: {} });
    c.send({ id: 3, subscribe: { channel: '$private' } });
    assert.equal((await c.next((m: { id?: number }) => m.id === 3)).error?.code, 103);
    assert.equal((await srv.api('publish', { channel: 'room', data: { n: 1 } })).status, 200);
    await c.next((m: { push?: unknown }) => m.push !== undefined);
    c.close();
    const deadline = Date.now() + 5000;
    while (!metrics.events.includes('disconnected 3000')) {
      assert.ok(Date.now() < deadline, `no disconnect recorded: ${metrics.events.join(', ')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(metrics.events, [
      'connected websocket',
      'command connect 0',
      'subscribed room',
      'command subscribe 0',
      'command subscribe 103',
      'published room',
      'delivered room 1',
      'disconnected 3000',
    ]);
  } finally {
    await srv.stop();
  }
});
