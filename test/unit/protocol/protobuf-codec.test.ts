import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Centrifuge } from 'centrifuge/build/protobuf';
import protobuf from 'protobufjs';
import { ProtocolDecodeError } from '../../../src/protocol/codec.js';
import { jsonCodec } from '../../../src/protocol/json/codec.js';
import { decodeEmulationRequest, encodeEmulationRequest, protobufCodec } from '../../../src/protocol/protobuf/codec.js';
import { descriptor } from '../../../src/protocol/protobuf/descriptor.generated.js';
import type { Command, Push, Reply } from '../../../src/protocol/types.js';
import { encodeUvarint32, readUvarint32 } from '../../../src/protocol/varint.js';

/**
 * The official SDK's protobuf codec (generated from centrifugal/protocol's client.proto with
 * snake_case field names). It is internal to the SDK, reached through the client's `_codec`;
 * constructing a client opens no connection.
 */
interface SdkCodec {
  encodeCommands(commands: object[]): Uint8Array;
  encodeReplies(replies: object[]): Uint8Array;
  decodeReplies(data: Uint8Array): object[];
  encodeEmulationRequest(req: object): Uint8Array;
}
const sdk = (new Centrifuge('ws://127.0.0.1:1/connection/websocket', {}) as unknown as { _codec: SdkCodec })._codec;

const te = new TextEncoder();
const b = (s: string) => te.encode(s);
const cat = (...parts: Array<Uint8Array | number[]>) => Uint8Array.from(parts.flatMap((p) => [...p]));
const decode = (frame: Uint8Array, max = 65536) => protobufCodec.decodeCommands(frame, max);

describe('descriptor.generated.ts', () => {
  it('is in sync with client.proto (regenerate with node scripts/gen-proto.mjs)', () => {
    const proto = readFileSync(new URL('../../../src/protocol/protobuf/client.proto', import.meta.url), 'utf8');
    const fresh = protobuf.parse(proto, { keepCase: false }).root.toJSON({ keepComments: false });
    assert.deepEqual(JSON.parse(JSON.stringify(descriptor)), JSON.parse(JSON.stringify(fresh)));
  });
});

describe('protobufCodec.decodeCommands: SDK-encoded commands', () => {
  // [SDK Command object, equivalent JSON command, expected model]
  const cases: Array<[object, string, Command]> = [
    [
      { id: 1, connect: { token: 'jwt', data: b('{"a":1}'), subs: { ch: { recover: true, offset: 5, epoch: 'e', delta: 'fossil' } }, name: 'js', version: '1', headers: { h: 'v' }, flag: 1 } },
      '{"id":1,"connect":{"token":"jwt","data":{"a":1},"subs":{"ch":{"recover":true,"offset":5,"epoch":"e","delta":"fossil"}},"name":"js","version":"1","headers":{"h":"v"},"flag":1}}',
      {
        id: 1,
        kind: 'connect',
        req: {
          token: 'jwt', data: b('{"a":1}'), subs: { ch: { channel: '', recover: true, offset: 5, epoch: 'e', delta: 'fossil' } },
          name: 'js', version: '1', headers: { h: 'v' }, flag: 1,
        },
      },
    ],
    [{ id: 1, connect: {} }, '{"id":1,"connect":{}}', { id: 1, kind: 'connect', req: {} }],
    [
      { id: 2, subscribe: { channel: 'c', token: 't', recover: true, epoch: 'e', offset: 2 ** 40, data: b('[1]'), positioned: true, recoverable: true, join_leave: true, delta: 'fossil', flag: 2 } },
      `{"id":2,"subscribe":{"channel":"c","token":"t","recover":true,"epoch":"e","offset":${2 ** 40},"data":[1],"positioned":true,"recoverable":true,"join_leave":true,"delta":"fossil","flag":2}}`,
      {
        id: 2,
        kind: 'subscribe',
        req: { channel: 'c', token: 't', recover: true, epoch: 'e', offset: 2 ** 40, data: b('[1]'), positioned: true, recoverable: true, joinLeave: true, delta: 'fossil', flag: 2 },
      },
    ],
    [{ id: 3, unsubscribe: { channel: 'c' } }, '{"id":3,"unsubscribe":{"channel":"c"}}', { id: 3, kind: 'unsubscribe', req: { channel: 'c' } }],
    [{ id: 4, publish: { channel: 'c', data: b('{"x":1}') } }, '{"id":4,"publish":{"channel":"c","data":{"x":1}}}', { id: 4, kind: 'publish', req: { channel: 'c', data: b('{"x":1}') } }],
    [{ id: 5, presence: { channel: 'c' } }, '{"id":5,"presence":{"channel":"c"}}', { id: 5, kind: 'presence', req: { channel: 'c' } }],
    [{ id: 6, presence_stats: { channel: 'c' } }, '{"id":6,"presence_stats":{"channel":"c"}}', { id: 6, kind: 'presence_stats', req: { channel: 'c' } }],
    [
      { id: 7, history: { channel: 'c', limit: 10, since: { offset: 3, epoch: 'e' }, reverse: true } },
      '{"id":7,"history":{"channel":"c","limit":10,"since":{"offset":3,"epoch":"e"},"reverse":true}}',
      { id: 7, kind: 'history', req: { channel: 'c', limit: 10, since: { offset: 3, epoch: 'e' }, reverse: true } },
    ],
    [{ id: 7, history: { channel: 'c', since: {} } }, '{"id":7,"history":{"channel":"c","since":{}}}', { id: 7, kind: 'history', req: { channel: 'c', since: { offset: 0, epoch: '' } } }],
    [{ id: 8, ping: {} }, '{"id":8,"ping":{}}', { id: 8, kind: 'ping' }],
    [{ send: { data: b('"m"') } }, '{"send":{"data":"m"}}', { id: 0, kind: 'send', req: { data: b('"m"') } }],
    [{ id: 9, rpc: { method: 'm', data: b('{}') } }, '{"id":9,"rpc":{"method":"m","data":{}}}', { id: 9, kind: 'rpc', req: { method: 'm', data: b('{}') } }],
    [{ id: 10, refresh: { token: 't' } }, '{"id":10,"refresh":{"token":"t"}}', { id: 10, kind: 'refresh', req: { token: 't' } }],
    [{ id: 11, sub_refresh: { channel: 'c', token: 't' } }, '{"id":11,"sub_refresh":{"channel":"c","token":"t"}}', { id: 11, kind: 'sub_refresh', req: { channel: 'c', token: 't' } }],
    [{}, '{}', { id: 0, kind: 'pong' }],
    [{ id: 0, subscribe: { channel: 'c' } }, '{"id":0,"subscribe":{"channel":"c"}}', { id: 0, kind: 'pong' }],
    [{ id: 12, publish: { channel: 'p' }, subscribe: { channel: 's' } }, '{"id":12,"publish":{"channel":"p"},"subscribe":{"channel":"s"}}', { id: 12, kind: 'subscribe', req: { channel: 's' } }],
  ];
  for (const [sdkCmd, json, expected] of cases) {
    it(`decodes ${json.slice(0, 60)} like the JSON codec`, () => {
      assert.deepEqual(decode(sdk.encodeCommands([sdkCmd])), [expected]);
      assert.deepEqual(jsonCodec.decodeCommands(b(json), 65536), [expected]);
    });
  }

  it('decodes several varint-delimited commands in one frame', () => {
    const frame = sdk.encodeCommands([{ id: 1, presence: { channel: 'a' } }, {}, { id: 2, publish: { channel: 'b', data: b('1') } }]);
    assert.deepEqual(decode(frame), [
      { id: 1, kind: 'presence', req: { channel: 'a' } },
      { id: 0, kind: 'pong' },
      { id: 2, kind: 'publish', req: { channel: 'b', data: b('1') } },
    ]);
  });

  it('matches hand-built reference bytes', () => {
    // Command{id:1 (0x08 0x01), presence(8, LEN)=0x42 {channel(1, LEN)=0x0a "c"}}
    assert.deepEqual(decode(Uint8Array.from([7, 0x08, 0x01, 0x42, 0x03, 0x0a, 0x01, 0x63])), [{ id: 1, kind: 'presence', req: { channel: 'c' } }]);
    assert.deepEqual(decode(Uint8Array.from([0])), [{ id: 0, kind: 'pong' }]);
  });

  it('keeps "__proto__" map keys as ordinary entries', () => {
    const [cmd] = decode(sdk.encodeCommands([{ id: 1, connect: { subs: { ['__proto__']: { recover: true } }, headers: { ['__proto__']: 'x' } } }]));
    assert.ok(cmd.kind === 'connect' && cmd.req.subs && cmd.req.headers);
    assert.equal(Object.getPrototypeOf(cmd.req.subs), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(cmd.req.subs, '__proto__')?.value, { channel: '', recover: true });
    assert.equal(Object.getOwnPropertyDescriptor(cmd.req.headers, '__proto__')?.value, 'x');
  });

  it('copies bytes out of the frame', () => {
    const frame = sdk.encodeCommands([{ id: 1, publish: { channel: 'c', data: b('123') } }]);
    const [cmd] = decode(frame);
    frame.fill(0);
    assert.ok(cmd.kind === 'publish' && cmd.req.data);
    assert.equal(Buffer.from(cmd.req.data).toString(), '123');
  });
});

describe('protobufCodec.decodeCommands: errors', () => {
  const bad: Array<[string, number[]]> = [
    ['empty frame', []],
    ['truncated varint', [0x80]],
    ['varint over 32 bits', [0xff, 0xff, 0xff, 0xff, 0x1f]],
    ['truncated message', [5, 0x08, 0x01]],
    ['garbage body', [3, 0xff, 0xff, 0xff]],
    ['invalid wire type', [2, 0x0f, 0x00]],
    ['truncated nested message', [4, 0x42, 0x05, 0x0a, 0x01]],
    ['unknown command', [2, 0x08, 0x05]],
    ['trailing partial command', [0, 0x80]],
    ['invalid UTF-8 in a string field', [7, 0x08, 0x01, 0x42, 0x03, 0x0a, 0x01, 0xff]],
  ];
  for (const [name, bytes] of bad) {
    it(`rejects ${name}`, () => assert.throws(() => decode(Uint8Array.from(bytes)), ProtocolDecodeError));
  }

  it('enforces maxCommandSize per command', () => {
    const one = sdk.encodeCommands([{ id: 1, presence: { channel: 'c'.repeat(20) } }]);
    const len = readUvarint32(one, 0).value;
    assert.equal(decode(cat(one, one), len).length, 2);
    assert.throws(() => decode(one, len - 1), ProtocolDecodeError);
  });

  it('rejects hostile nesting', () => {
    let node: Uint8Array = new Uint8Array(0);
    for (let i = 0; i < 300; i++) node = cat([0x32], encodeUvarint32(node.length), node); // FilterNode.nodes
    const sub = cat([0x0a, 1, 0x63, 0x6a], encodeUvarint32(node.length), node); // SubscribeRequest{channel, tf}
    const cmd = cat([0x08, 1, 0x2a], encodeUvarint32(sub.length), sub);
    assert.throws(() => decode(cat(encodeUvarint32(cmd.length), cmd)), ProtocolDecodeError);
  });
});

describe('protobufCodec.encodeReply / encodePush: byte-identical to the SDK encoder', () => {
  const pub = { data: b('{"x":1}'), offset: 5 };
  const info = { user: 'u', client: 'c', connInfo: b('{"n":1}'), chanInfo: b('[]') };
  const sdkInfo = { user: 'u', client: 'c', conn_info: b('{"n":1}'), chan_info: b('[]') };
  const fullPub = { data: b('1'), info, offset: 2 ** 40, tags: { k: 'v' }, delta: true, time: 1700000000000, channel: 'w' };
  const sdkFullPub = { data: b('1'), info: sdkInfo, offset: 2 ** 40, tags: { k: 'v' }, delta: true, time: 1700000000000, channel: 'w' };
  const cases: Array<[Reply, object]> = [
    [{ id: 1, kind: 'connect', result: { client: 'c', version: 'v', expires: true, ttl: 60, data: b('{}'), subs: { s: { recoverable: true, offset: 3, epoch: 'e' } }, ping: 25, pong: true, session: 'se', node: 'n', time: 1700000000000 } },
      { id: 1, connect: { client: 'c', version: 'v', expires: true, ttl: 60, data: b('{}'), subs: { s: { recoverable: true, offset: 3, epoch: 'e' } }, ping: 25, pong: true, session: 'se', node: 'n', time: 1700000000000 } }],
    [{ id: 2, kind: 'subscribe', result: { expires: true, ttl: 5, recoverable: true, epoch: 'e', publications: [fullPub, pub], recovered: true, offset: 7, positioned: true, data: b('2'), wasRecovering: true, delta: true } },
      { id: 2, subscribe: { expires: true, ttl: 5, recoverable: true, epoch: 'e', publications: [sdkFullPub, pub], recovered: true, offset: 7, positioned: true, data: b('2'), was_recovering: true, delta: true } }],
    [{ id: 3, kind: 'unsubscribe' }, { id: 3, unsubscribe: {} }],
    [{ id: 4, kind: 'publish' }, { id: 4, publish: {} }],
    [{ id: 5, kind: 'presence', result: { presence: { c: info } } }, { id: 5, presence: { presence: { c: sdkInfo } } }],
    [{ id: 6, kind: 'presence_stats', result: { numClients: 2, numUsers: 1 } }, { id: 6, presence_stats: { num_clients: 2, num_users: 1 } }],
    [{ id: 7, kind: 'history', result: { publications: [pub], epoch: 'e', offset: 5 } }, { id: 7, history: { publications: [pub], epoch: 'e', offset: 5 } }],
    [{ id: 8, kind: 'rpc', result: { data: b('{}') } }, { id: 8, rpc: { data: b('{}') } }],
    [{ id: 9, kind: 'refresh', result: { client: 'c', version: 'v', expires: true, ttl: 1 } }, { id: 9, refresh: { client: 'c', version: 'v', expires: true, ttl: 1 } }],
    [{ id: 10, kind: 'sub_refresh', result: { expires: true, ttl: 1 } }, { id: 10, sub_refresh: { expires: true, ttl: 1 } }],
    [{ id: 11, kind: 'error', error: { code: 100, message: 'internal server error', temporary: true } }, { id: 11, error: { code: 100, message: 'internal server error', temporary: true } }],
    [{ id: 0, kind: 'ping' }, {}],
  ];
  for (const [r, sdkReply] of cases) {
    it(`encodes reply ${r.kind}`, () => {
      const ours = protobufCodec.encodeReply(r);
      assert.deepEqual(Buffer.from(ours), Buffer.from(sdk.encodeReplies([sdkReply])));
      assert.equal(sdk.decodeReplies(ours).length, 1);
    });
  }

  it('encodes the ping as the single byte 0x00', () => {
    assert.deepEqual([...protobufCodec.encodeReply({ id: 0, kind: 'ping' })], [0]);
  });

  const pushes: Array<[Push, object]> = [
    [{ kind: 'pub', channel: 'ch', pub: fullPub }, { channel: 'ch', pub: sdkFullPub }],
    [{ kind: 'join', channel: 'ch', info }, { channel: 'ch', join: { info: sdkInfo } }],
    [{ kind: 'leave', channel: 'ch', info }, { channel: 'ch', leave: { info: sdkInfo } }],
    [{ kind: 'unsubscribe', channel: 'ch', code: 2000, reason: 'server unsubscribe' }, { channel: 'ch', unsubscribe: { code: 2000, reason: 'server unsubscribe' } }],
    [{ kind: 'message', data: b('"m"') }, { message: { data: b('"m"') } }],
    [{ kind: 'subscribe', channel: 'ch', sub: { recoverable: true, epoch: 'e', offset: 1, positioned: true, data: b('{}') } }, { channel: 'ch', subscribe: { recoverable: true, epoch: 'e', offset: 1, positioned: true, data: b('{}') } }],
    [{ kind: 'connect', connect: { client: 'c', version: 'v', data: b('1'), subs: { s: { offset: 1 } }, expires: true, ttl: 9, ping: 25, session: 's', node: 'n', time: 5 } },
      { connect: { client: 'c', version: 'v', data: b('1'), subs: { s: { offset: 1 } }, expires: true, ttl: 9, ping: 25, session: 's', node: 'n', time: 5 } }],
    [{ kind: 'disconnect', code: 3001, reason: 'shutdown' }, { disconnect: { code: 3001, reason: 'shutdown' } }],
    [{ kind: 'refresh', expires: true, ttl: 3600 }, { refresh: { expires: true, ttl: 3600 } }],
  ];
  for (const [p, sdkPush] of pushes) {
    it(`encodes push ${p.kind}, bare and inside a Reply`, () => {
      assert.deepEqual(Buffer.from(protobufCodec.encodeReply({ id: 0, kind: 'push', push: p })), Buffer.from(sdk.encodeReplies([{ push: sdkPush }])));
      const bare = protobufCodec.encodePush(p);
      const { value, end } = readUvarint32(bare, 0);
      assert.equal(end + value, bare.length);
      // A bare Push is the `push` field's content: Reply{push} = 0x22, len, <same bytes>.
      const wrapped = sdk.encodeReplies([{ push: sdkPush }]);
      assert.deepEqual(Buffer.from(wrapped).subarray(wrapped.length - value), Buffer.from(bare).subarray(end));
    });
  }

  it('omits zero values', () => {
    const r: Reply = { id: 0, kind: 'push', push: { kind: 'pub', channel: 'c', pub: { data: new Uint8Array(0), offset: 0, delta: false, tags: {} } } };
    // Reply{push{channel "c", pub{}}}
    assert.deepEqual([...protobufCodec.encodeReply(r)], [7, 0x22, 5, 0x12, 1, 0x63, 0x22, 0]);
  });
});

describe('EmulationRequest', () => {
  it('round-trips and matches the SDK encoding', () => {
    const data = sdk.encodeCommands([{ id: 2, subscribe: { channel: 'c' } }]);
    const req = { node: 'node-1', session: 'sess', data };
    const ours = encodeEmulationRequest(req);
    assert.deepEqual(Buffer.from(ours), Buffer.from(sdk.encodeEmulationRequest(req)));
    const back = decodeEmulationRequest(ours);
    assert.deepEqual(back, { node: 'node-1', session: 'sess', data: new Uint8Array(data) });
    assert.deepEqual(decode(back.data), [{ id: 2, kind: 'subscribe', req: { channel: 'c' } }]);
  });
  it('decodes an empty body to empty fields and rejects garbage', () => {
    assert.deepEqual(decodeEmulationRequest(new Uint8Array(0)), { node: '', session: '', data: new Uint8Array(0) });
    assert.throws(() => decodeEmulationRequest(Uint8Array.from([0x0a, 0x05, 0x61])), ProtocolDecodeError);
  });
});

describe('varint', () => {
  it('round-trips boundary values', () => {
    for (const v of [0, 1, 127, 128, 300, 16383, 16384, 2 ** 21, 2 ** 28, 2 ** 31, 2 ** 32 - 1]) {
      const enc = encodeUvarint32(v);
      assert.deepEqual(readUvarint32(cat([9], enc, [9]), 1), { value: v, end: enc.length + 1 });
    }
    assert.deepEqual([...encodeUvarint32(300)], [0xac, 0x02]);
  });
  it('rejects overflow and truncation', () => {
    assert.throws(() => readUvarint32(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x10]), 0), ProtocolDecodeError);
    assert.throws(() => readUvarint32(Uint8Array.from([0x80, 0x80]), 0), ProtocolDecodeError);
    assert.throws(() => encodeUvarint32(2 ** 32), RangeError);
  });
});
