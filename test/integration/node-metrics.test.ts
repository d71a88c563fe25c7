/**
 * The node's metrics seam (node/metrics.ts): a real server with a recording implementation, a
 * real client, and every counted event observed in order: connect, commands with their result
 * codes, subscription, publication, delivery, disconnect.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TransportCounterSet, type ClientLabels, type NodeMetrics, type TransportCounters } from '../../src/node/metrics.js';
import { connToken, startServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';

/** Records every call as a short string; durations only as "a number of ms >= 0". */
class RecordingMetrics implements NodeMetrics {
  readonly events: string[] = [];
  readonly transports = new TransportCounterSet();
  connected(c: ClientLabels): void {
    this.events.push(`connected ${c.transport.name} ${c.clientName}`);
  }
  disconnected(code: number, transport: string, c: ClientLabels | undefined): void {
    this.events.push(`disconnected ${code} ${transport} ${c === undefined ? 'never connected' : 'was connected'}`);
  }
  subscribed(channel: string, clientName: string): void {
    this.events.push(`subscribed ${channel} ${clientName}`);
  }
  serverUnsubscribed(channel: string, code: number): void {
    this.events.push(`unsubscribed ${channel} ${code}`);
  }
  command(method: string, code: number, durationMs: number, channel: string): void {
    assert.ok(Number.isFinite(durationMs) && durationMs >= 0, `duration ${durationMs}`);
    this.events.push(`command ${method} ${code} ${channel}`.trimEnd());
  }
  published(channel: string, type: string): void {
    this.events.push(`published ${type} ${channel}`);
  }
  delivered(channel: string, count: number, type: string): void {
    this.events.push(`delivered ${type} ${channel} ${count}`);
  }
  recovered(channel: string, recovered: boolean, publications: number): void {
    this.events.push(`recovered ${channel} ${recovered} ${publications}`);
  }
  // Counted by the Prometheus implementation (prometheus.test.ts); not part of the sequence here.
  action(): void {}
  surveyed(): void {}
  pingPong(): void {}
  suppressed(): void {}
  tagsFiltered(): void {}
  connectionLimitReached(): void {}
  transport(transport: string): TransportCounters {
    return this.transports.get(transport);
  }
}

test('metrics: the node reports connect, commands with result codes and channels, subscription, publication, delivery, frames and disconnect', async () => {
  const metrics = new RecordingMetrics();
  const srv = await startServer({ channel: { without_namespace: { allow_subscribe_for_client: true } } }, { metrics });
  try {
    const c = await RawClient.open(srv.wsUrl);
    c.send({ id: 1, connect: { token: await connToken('alice'), name: 'js' } });
    assert.equal(typeof (await c.next((m: { id?: number }) => m.id === 1)).connect?.client, 'string');
    c.send({ id: 2, subscribe: { channel: 'room' } });
    assert.deepEqual(await c.next((m: { id?: number }) => m.id === 2), { id: 2, subscribe: {} });
    c.send({ id: 3, subscribe: { channel: '$private' } });
    assert.equal((await c.next((m: { id?: number }) => m.id === 3)).error?.code, 103);
    assert.equal((await srv.api('publish', { channel: 'room', data: { n: 1 } })).status, 200);
    await c.next((m: { push?: unknown }) => m.push !== undefined);
    assert.equal((await srv.api('unsubscribe', { channel: 'room', user: 'alice' })).status, 200);
    await c.next((m: { push?: { unsubscribe?: unknown } }) => m.push?.unsubscribe !== undefined);
    c.close();
    const deadline = Date.now() + 5000;
    while (!metrics.events.some((e) => e.startsWith('disconnected 3000'))) {
      assert.ok(Date.now() < deadline, `no disconnect recorded: ${metrics.events.join(', ')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(metrics.events, [
      'connected websocket js',
      'command connect 0',
      'subscribed room js',
      'command subscribe 0 room',
      'command subscribe 103 $private',
      'published publication room',
      'delivered publication room 1',
      'unsubscribed room 2000',
      'disconnected 3000 websocket was connected',
    ]);
    // Frames counted in place: the replies by method, the publication and the unsubscribe push.
    const t = metrics.transports.get('websocket');
    assert.deepEqual([t.sent('connect').count, t.sent('subscribe').count, t.sent('error').count, t.publications.count, t.sent('push_unsubscribe').count], [1, 1, 1, 1, 1]);
    assert.deepEqual([t.read('connect').count, t.read('subscribe').count], [1, 2]);
    assert.ok(t.publications.bytes > 0 && t.read('subscribe').bytes > 0);
  } finally {
    await srv.stop();
  }
});
