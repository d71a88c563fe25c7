/** The memory ChannelStateManager: the contract on one shared store, and the last node's close. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryChannelStateStore, MemoryChannelStates } from '../../../src/engine/memory/channel-state.js';
import { MemoryBus } from '../../../src/engine/memory/broker.js';
import { Recorded, channelStateContract } from './channel-state.contract.js';

channelStateContract('memory', async (n) => {
  const store = new MemoryChannelStateStore();
  const managers = Array.from({ length: n }, () => new MemoryChannelStates(store));
  return { managers, cleanup: async () => Promise.all(managers.map((m) => m.close())).then(() => undefined) };
});

describe('memory channel state', () => {
  it('the last node of the store to close emits the vacated still waiting, at once', async () => {
    const m = new MemoryChannelStates();
    const r = await Recorded.run({ managers: [m], cleanup: async () => {} }, 60_000);
    m.occupy('x');
    m.occupy('y');
    m.vacate('x');
    await m.close();
    assert.deepEqual(r.of('x'), ['occupied', 'vacated']);
    assert.deepEqual(r.of('y'), ['occupied', 'vacated'], 'a channel still occupied at close is vacated too');
  });

  it("a MemoryBus's engines share one store", async () => {
    const bus = new MemoryBus();
    const [a, b] = [bus.engine().channelState, bus.engine().channelState];
    const r = await Recorded.run({ managers: [a, b], cleanup: async () => {} }, 10);
    a.occupy('z');
    b.occupy('z');
    assert.deepEqual(r.of('z'), ['occupied']);
    await a.close();
    await b.close();
    assert.deepEqual(r.of('z'), ['occupied', 'vacated']);
  });
});
