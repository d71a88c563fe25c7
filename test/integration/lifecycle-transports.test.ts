/**
 * Lifecycle events do not depend on the transport or the codec (lifecycle-http.test.ts uses JSON
 * over WebSocket): a Protobuf SDK client over WebSocket, and JSON and Protobuf SDK clients over
 * http_stream, whose unsubscribe travels through `/emulation` and whose disconnect is the stream
 * closing. The node:http backend gets the `unsubscribe` of the client's unsubscribe (0), then, when
 * the client goes, the `unsubscribe` of its remaining subscription (1) before its `disconnect`
 * (3000), each naming the client, user and channel.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HttpBackend, type BackendEvent } from '../helpers/lifecycle-backends.js';
import { within, type Codec } from '../helpers/sdk.js';
import { connToken } from '../helpers/server.js';
import { withKit } from '../helpers/transport-kit.js';
import type { ConfigInput } from '../../src/config/schema.js';

const backends: HttpBackend[] = [];
after(async () => {
  for (const b of backends) await b.close();
});

function config(endpoint: string): ConfigInput {
  return {
    http_stream: { enabled: true },
    lifecycle_events: { endpoint, batch_max_delay: '10ms', retry_min_backoff: '10ms', retry_max_backoff: '100ms' },
    client: { disconnect_events_enabled: true },
    channel: { namespaces: [{ name: 'chat', allow_subscribe_for_client: true, unsubscribe_events_enabled: true }] },
  } as ConfigInput;
}

/** An event's fields this test checks, in a fixed order. */
const fields = (e: BackendEvent): unknown[] => [e['type'], e['client'], e['user'], e['channel'], e['code'], e['reason']];

const cases: [transport: 'websocket' | 'http_stream', codec: Codec][] = [
  ['websocket', 'protobuf'],
  ['http_stream', 'json'],
  ['http_stream', 'protobuf'],
];

describe('lifecycle events across transports and codecs', () => {
  for (const [transport, codec] of cases) {
    it(`${transport} (${codec}): unsubscribe (0), then on disconnect unsubscribe (1) before disconnect (3000), with client, user and channel`, async () => {
      const b = await HttpBackend.start();
      backends.push(b);
      await withKit(config(b.url), async (srv, kit) => {
        const user = `${transport}-${codec}`;
        const token = await connToken(user);
        const c = transport === 'websocket' ? kit.sdk([{ transport, endpoint: srv.wsUrl }], { token }, codec) : kit.sdk(transport, { token }, codec);
        const { client, transport: used } = await within(c.connect(), 'connected');
        assert.equal(used, transport);
        const a = await within(c.subscribe('chat:a'), 'subscribed to chat:a');
        await within(c.subscribe('chat:b'), 'subscribed to chat:b');

        a.sub.unsubscribe();
        const unsub = await b.next((e) => e['type'] === 'unsubscribe' && e['channel'] === 'chat:a', 'the unsubscribe of chat:a');
        assert.deepEqual(fields(unsub), ['unsubscribe', client, user, 'chat:a', 0, 'client unsubscribed']);

        c.c.disconnect();
        const gone = await b.next((e) => e['type'] === 'disconnect' && e['client'] === client, 'the disconnect');
        assert.deepEqual(fields(gone), ['disconnect', client, user, undefined, 3000, 'connection closed']);
        const ofClient = b.events().filter((e) => e['client'] === client).map((e) => [e['type'], e['channel'] ?? '', e['code']]);
        assert.deepEqual(ofClient, [
          ['unsubscribe', 'chat:a', 0],
          ['unsubscribe', 'chat:b', 1],
          ['disconnect', '', 3000],
        ], 'the remaining subscription ends before the connection');
      });
    });
  }
});
