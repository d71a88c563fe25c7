/**
 * The PresenceManager contract (STYLE lesson 2), run against every engine. Pins spec §6: presence
 * is keyed by client ID, `addPresence` refreshes, stats count unique users with all anonymous
 * connections as one user `""`, and channels are independent.
 *
 * `make` builds a fresh, isolated manager per test (Redis: a unique key prefix per call).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PresenceManager } from '../../src/engine/types.js';
import type { ClientInfo } from '../../src/protocol/types.js';

export interface PresenceHarness {
  /** A manager nobody else uses. */
  presence: PresenceManager;
  /** Closes the manager and removes whatever the test stored. */
  cleanup(): Promise<void>;
}

const CH = 'contract:presence';
const OTHER = 'contract:presence-other';
const info = (user: string, client: string, chanInfo?: string): ClientInfo =>
  chanInfo === undefined ? { user, client } : { user, client, chanInfo: new TextEncoder().encode(chanInfo) };

export function presenceContract(name: string, make: () => Promise<PresenceHarness>): void {
  function it(title: string, body: (p: PresenceManager) => Promise<void>): void {
    test(title, async () => {
      const h = await make();
      try {
        await body(h.presence);
      } finally {
        await h.cleanup();
      }
    });
  }

  describe(`PresenceManager contract: ${name}`, () => {
    it('an unknown channel has no presence and zero stats', async (p) => {
      assert.deepEqual(await p.presence(CH), {});
      assert.deepEqual(await p.presenceStats(CH), { numClients: 0, numUsers: 0 });
    });

    it('add, read and remove entries keyed by client ID', async (p) => {
      await p.addPresence(CH, 'c1', info('u1', 'c1'));
      await p.addPresence(CH, 'c2', info('u2', 'c2', '{"x":1}'));
      assert.deepEqual(await p.presence(CH), { c1: info('u1', 'c1'), c2: info('u2', 'c2', '{"x":1}') });
      await p.removePresence(CH, 'c1', 'u1');
      assert.deepEqual(await p.presence(CH), { c2: info('u2', 'c2', '{"x":1}') });
      assert.deepEqual(await p.presenceStats(CH), { numClients: 1, numUsers: 1 });
    });

    it('addPresence for an existing client refreshes (replaces) its entry', async (p) => {
      await p.addPresence(CH, 'c1', info('u1', 'c1', '"old"'));
      await p.addPresence(CH, 'c1', info('u1', 'c1', '"new"'));
      assert.deepEqual(await p.presence(CH), { c1: info('u1', 'c1', '"new"') });
      assert.deepEqual(await p.presenceStats(CH), { numClients: 1, numUsers: 1 });
    });

    it('stats count unique users, all anonymous clients as one user', async (p) => {
      await p.addPresence(CH, 'a1', info('', 'a1'));
      await p.addPresence(CH, 'a2', info('', 'a2'));
      await p.addPresence(CH, 'x1', info('u1', 'x1'));
      await p.addPresence(CH, 'x2', info('u1', 'x2'));
      await p.addPresence(CH, 'y1', info('u2', 'y1'));
      assert.deepEqual(await p.presenceStats(CH), { numClients: 5, numUsers: 3 });
      await p.removePresence(CH, 'a1', '');
      await p.removePresence(CH, 'x1', 'u1');
      assert.deepEqual(await p.presenceStats(CH), { numClients: 3, numUsers: 3 });
      await p.removePresence(CH, 'a2', '');
      assert.deepEqual(await p.presenceStats(CH), { numClients: 2, numUsers: 2 });
    });

    it('removing the last entry leaves an empty channel', async (p) => {
      await p.addPresence(CH, 'c1', info('u1', 'c1'));
      await p.removePresence(CH, 'c1', 'u1');
      assert.deepEqual(await p.presence(CH), {});
      assert.deepEqual(await p.presenceStats(CH), { numClients: 0, numUsers: 0 });
    });

    it('removing an absent client is a no-op', async (p) => {
      await p.removePresence(CH, 'nobody', 'u');
      await p.addPresence(CH, 'c1', info('u1', 'c1'));
      await p.removePresence(CH, 'nobody', 'u1');
      assert.deepEqual(await p.presenceStats(CH), { numClients: 1, numUsers: 1 });
    });

    it('two channels are independent', async (p) => {
      await p.addPresence(CH, 'c1', info('u1', 'c1'));
      await p.addPresence(OTHER, 'c1', info('u1', 'c1', '"other"'));
      await p.addPresence(OTHER, 'c2', info('u2', 'c2'));
      assert.deepEqual(await p.presenceStats(CH), { numClients: 1, numUsers: 1 });
      assert.deepEqual(await p.presenceStats(OTHER), { numClients: 2, numUsers: 2 });
      await p.removePresence(CH, 'c1', 'u1');
      assert.deepEqual(await p.presence(CH), {});
      assert.deepEqual(await p.presence(OTHER), { c1: info('u1', 'c1', '"other"'), c2: info('u2', 'c2') });
    });

    it('what presence returns is a copy', async (p) => {
      const added = info('u1', 'c1');
      await p.addPresence(CH, 'c1', added);
      added.user = 'mutated-after-add';
      const read = await p.presence(CH);
      read.c1.user = 'mutated-after-read';
      delete read.c1;
      assert.deepEqual(await p.presence(CH), { c1: info('u1', 'c1') });
    });
  });
}
