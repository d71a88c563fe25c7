/**
 * Runs the engine contracts against the memory engine. Its clock is injected, so `advance` is
 * instant and TTL tests do not sleep.
 */
import { MemoryBroker } from '../../src/engine/memory/broker.js';
import { MemoryPresenceManager } from '../../src/engine/memory/presence.js';
import { brokerContract } from './broker.contract.js';
import { presenceContract } from './presence.contract.js';

brokerContract('memory', async () => {
  let now = Date.now();
  const broker = new MemoryBroker({ now: () => now });
  return {
    broker,
    advance: async (ms) => {
      now += ms;
    },
    cleanup: () => broker.close(),
  };
});

presenceContract('memory', async () => {
  const presence = new MemoryPresenceManager();
  return { presence, cleanup: () => presence.close() };
});
