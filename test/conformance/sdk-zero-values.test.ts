/**
 * Zero values as the official `centrifuge` SDK sees them. Centrifugo always writes ClientInfo
 * `user`/`client`, PresenceResult `presence` and PresenceStatsResult `num_clients`/`num_users`
 * in JSON, so the SDK gives `user: ''`, `{clients: {}}` and 0 for an anonymous user and an empty
 * channel; an encoder that leaves them out gives `undefined` instead. Run with both SDK builds:
 * Protobuf gets the same values from proto3 defaults, with the zero fields absent on the wire.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connToken } from '../helpers/server.js';
import { apiOk, eventually, withServer, type Codec } from '../helpers/sdk.js';

const CONFIG = {
  client: { allow_anonymous_connect_without_token: true },
  channel: {
    namespaces: [
      {
        name: 'pz',
        presence: true,
        join_leave: true,
        force_push_join_leave: true,
        allow_subscribe_for_client: true,
        allow_subscribe_for_anonymous: true,
        allow_presence_for_client: true,
        allow_presence_for_anonymous: true,
      },
    ],
  },
};

/** The identity fields of a ClientInfo as the SDK gives it (the Protobuf build adds empty info buffers). */
function who(info: { client?: unknown; user?: unknown } | undefined): { client: unknown; user: unknown } {
  return { client: info?.client, user: info?.user };
}

for (const codec of ['json', 'protobuf'] as Codec[]) {
  test(`${codec}: an anonymous presence entry and join carry user ''; after everyone unsubscribes, presence is {} and presence stats are 0`, async () => {
    await withServer(
      CONFIG,
      async (srv, sdk) => {
        const alice = sdk.client({ token: await connToken('alice') });
        const anon = sdk.client({});
        const aliceId = (await alice.connect()).client;
        const anonId = (await anon.connect()).client;
        const sa = await alice.subscribe('pz:room');
        const sn = await anon.subscribe('pz:room');

        const join = await sa.events.next('join', (j: { info?: { client?: string } }) => j.info?.client === anonId);
        assert.deepEqual(who(join.info), { client: anonId, user: '' });
        const p = await alice.c.presence('pz:room');
        assert.deepEqual(who(p.clients[anonId]), { client: anonId, user: '' });
        assert.deepEqual(who(p.clients[aliceId]), { client: aliceId, user: 'alice' });
        assert.deepEqual(await alice.c.presenceStats('pz:room'), { numClients: 2, numUsers: 2 });

        sn.sub.unsubscribe();
        sa.sub.unsubscribe();
        await sn.events.next('unsubscribed');
        await sa.events.next('unsubscribed');
        await eventually(async () => (await apiOk(srv, 'presence_stats', { channel: 'pz:room' })).num_clients === 0, 'presence empties');

        // Both connections ask without a subscription (presence permission for any client).
        assert.deepEqual(await alice.c.presenceStats('pz:room'), { numClients: 0, numUsers: 0 });
        assert.deepEqual(await anon.c.presenceStats('pz:room'), { numClients: 0, numUsers: 0 });
        assert.deepEqual(await alice.c.presence('pz:room'), { clients: {} });
      },
      codec,
    );
  });
}
