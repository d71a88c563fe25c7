/**
 * `GrpcProxyCaller.openSubscribeStream` (SubscribeUnidirectional) against a real grpc-js backend:
 * the decision first, then publications, and each way a stream ends.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { GrpcProxyCaller } from '../../src/proxy/grpc/caller.js';
import type { SubscribeStream } from '../../src/proxy/grpc/subscribe-stream.js';
import type { StreamPublication } from '../../src/proxy/types.js';
import type { SubscribeProxyRequest } from '../../src/proxy/types.js';
import { GrpcProxyBackend, json, type BackendStream } from '../helpers/grpc-proxy-backend.js';

const REQUEST: SubscribeProxyRequest = {
  client: 'c1', transport: 'websocket', protocol: 'json', encoding: 'json', user: 'alice', channel: 'stream:1', token: '', data: new Uint8Array(Buffer.from('{"from":1}')),
};

/** Everything a stream emitted, in order. */
function record(s: SubscribeStream): string[] {
  const seen: string[] = [];
  s.on('response', (a) => seen.push(`response:${a.kind}`));
  s.on('publication', (p: StreamPublication) => seen.push(`publication:${Buffer.from(p.data).toString()}:${JSON.stringify(p.tags)}`));
  s.on('end', (e) => seen.push(e === undefined ? 'end' : `end:${e.message}`));
  return seen;
}

describe('gRPC subscribe stream', () => {
  let backend: GrpcProxyBackend;
  let caller: GrpcProxyCaller;
  /** For the stream whose backend never writes: its first message is late by any deadline. */
  let hasty: GrpcProxyCaller;
  before(async () => {
    backend = await GrpcProxyBackend.start();
    const opts = {
      name: 'channel.proxy.subscribe_stream', endpoint: backend.endpoint(), timeoutMs: 5000, tls: undefined,
      credentials: { key: 'x-key', value: 'k' }, compression: false, staticMetadata: new Map([['x-static', 's']]),
    };
    caller = new GrpcProxyCaller(opts);
    hasty = new GrpcProxyCaller({ ...opts, timeoutMs: 200 });
  });
  after(async () => {
    await caller.close();
    await hasty.close();
    await backend.stop();
  });

  /** Opens a stream and resolves with the backend's side of it. */
  async function open(forwarded = new Map<string, string>(), through = caller): Promise<{ s: SubscribeStream; seen: string[]; b: BackendStream; request: any; metadata: Record<string, string> }> {
    const got = new Promise<{ b: BackendStream; request: any; metadata: Record<string, string> }>((resolve) =>
      backend.onStream((call, b) => resolve({ b, request: call.request, metadata: call.metadata })),
    );
    const s = through.openSubscribeStream(REQUEST, forwarded);
    const seen = record(s);
    return { s, seen, ...(await got) };
  }

  it('the request and metadata reach the backend; the decision comes first, then publications, then the end', async () => {
    const { s, seen, b, request, metadata } = await open(new Map([['authorization', 'Bearer t']]));
    assert.deepEqual([request.user, request.channel, request.data.toString()], ['alice', 'stream:1', '{"from":1}']);
    assert.deepEqual([metadata['x-static'], metadata['x-key'], metadata['authorization']], ['s', 'k', 'Bearer t']);
    const response = once(s, 'response');
    b.write({ subscribe_response: { result: { info: json('i'), expire_at: 0 } } });
    const [answer] = await response;
    assert.equal(answer.kind === 'result' && Buffer.from(answer.result.info.raw).toString(), '"i"');
    b.write({ publication: { data: json(1), tags: { k: 'v' } } });
    b.write({});
    b.write({ publication: { data: json(2) } });
    const ended = once(s, 'end');
    b.end();
    await ended;
    assert.deepEqual(seen, ['response:result', 'publication:1:{"k":"v"}', 'publication:2:{}', 'end']);
  });

  it('an error answer ends the stream: cancelled, nothing after the response', async () => {
    const { s, seen, b } = await open();
    const response = once(s, 'response');
    b.write({ subscribe_response: { error: { code: 4403, message: 'no' } } });
    const [answer] = await response;
    assert.deepEqual(answer, { kind: 'error', code: 4403, message: 'no', temporary: false });
    await b.cancelled;
    assert.deepEqual(seen, ['response:error']);
  });

  it('a first message without subscribe_response, or none within timeout, fails the stream and cancels it', async () => {
    const first = await open();
    const ended = once(first.s, 'end');
    first.b.write({ publication: { data: json(1) } });
    await ended;
    await first.b.cancelled;
    assert.deepEqual(first.seen, ['end:the first stream message carries no subscribe_response']);

    const silent = await open(new Map(), hasty);
    await once(silent.s, 'end');
    await silent.b.cancelled;
    assert.deepEqual(silent.seen, ['end:DEADLINE_EXCEEDED: no first stream message within 200 ms']);
  });

  it('a status other than OK after the response ends the stream with its name', async () => {
    const { s, seen, b } = await open();
    b.write({ subscribe_response: {} });
    const ended = once(s, 'end');
    b.fail(grpc.status.DATA_LOSS, 'source gone');
    await ended;
    assert.deepEqual(seen, ['response:result', 'end:DATA_LOSS: source gone']);
  });

  it('cancel() ends the call at the backend; no event follows', async () => {
    const { s, seen, b } = await open();
    const response = once(s, 'response');
    b.write({ subscribe_response: { result: {} } });
    await response;
    s.cancel();
    await b.cancelled;
    assert.deepEqual(seen, ['response:result']);
  });
});
