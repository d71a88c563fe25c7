/**
 * A broker that stops answering (Redis gone while the node stops) must not hold up the stop: the
 * clients still get 3001 shutdown, and the stop ends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBroker } from '../../src/engine/memory/broker.js';
import { MemoryPresenceManager } from '../../src/engine/memory/presence.js';
import { connToken, startServer } from '../helpers/server.js';
import { SdkPool, within } from '../helpers/sdk.js';

/** A memory broker whose control messages and close never settle once `stall` is set. */
class StallingBroker extends MemoryBroker {
  stall = false;
  override publishControl(data: Uint8Array, toNode?: string): Promise<void> {
    return this.stall ? new Promise<void>(() => {}) : super.publishControl(data, toNode);
  }
  override close(): Promise<void> {
    return this.stall ? new Promise<void>(() => {}) : super.close();
  }
}

test('stop with a broker that never answers: clients get 3001 and the stop ends', async () => {
  const broker = new StallingBroker();
  const srv = await startServer({}, { engine: { broker, presence: new MemoryPresenceManager() } });
  const sdk = new SdkPool(srv);
  try {
    const c = sdk.client({ token: await connToken('ann') });
    await c.connect();
    const shutdown = c.events.next('connecting', (e) => e.code === 3001);
    broker.stall = true;
    await within(srv.stop(), 'the stop to end', 15_000);
    assert.equal((await shutdown).code, 3001);
  } finally {
    sdk.closeAll();
  }
});
