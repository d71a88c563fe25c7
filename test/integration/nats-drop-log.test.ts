/**
 * Messages on the NATS broker's subjects that cannot be decoded are dropped and logged, once per
 * 10 s per kind (the repeats at debug): anyone who can publish to the NATS server could otherwise
 * turn a flood of garbage into a flood of log lines. A Rotor node (in process) on the machine's
 * NATS with its own subject prefix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import { withServer, connToken } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-ws.js';
import { uniquePrefix } from '../helpers/redis-servers.js';
import type { ConfigInput } from '../../src/config/schema.js';

const NATS_URL = process.env.ROTOR_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

test('undecodable messages on a channel subject: one warning per kind, the rest at debug; delivery goes on', async () => {
  const prefix = uniquePrefix('nats-drop');
  const config = {
    broker: { enabled: true, type: 'nats', nats: { url: NATS_URL, prefix } },
    channel: { namespaces: [{ name: 'chat', allow_subscribe_for_client: true }] },
  } as ConfigInput;
  await withServer(config, async (srv) => {
    const c = await RawClient.open(srv.wsUrl);
    await c.connect(await connToken('42'));
    c.send({ id: 2, subscribe: { channel: 'chat:a' } });
    await c.next((m) => m.id === 2);
    const nc = await connect({ servers: NATS_URL.replace('nats://', '') });
    try {
      for (let i = 0; i < 20; i++) nc.publish(`${prefix}.client.chat:a`, new TextEncoder().encode(`garbage ${i}`));
      await nc.flush();
    } finally {
      await nc.close();
    }
    await srv.api('publish', { channel: 'chat:a', data: { good: true } });
    assert.deepEqual((await c.next((m) => m.push?.pub !== undefined)).push.pub.data, { good: true });
    const lines = (from: unknown[]) => from.filter((a) => (a as unknown[])[1] === 'nats broker: dropped a message');
    assert.equal(lines(srv.warnings).length, 1, JSON.stringify(srv.warnings));
    assert.equal(lines(srv.debug).length, 19);
    c.close();
  });
});
