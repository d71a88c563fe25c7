import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PreparedPush } from '../../../src/node/prepared.js';
import { jsonCodec } from '../../../src/protocol/json/codec.js';
import { protobufCodec } from '../../../src/protocol/protobuf/codec.js';
import type { Codec } from '../../../src/protocol/codec.js';

const pub = (data: string) => new PreparedPush({ kind: 'pub', channel: 'ch', pub: { data: Buffer.from(data), offset: 3 } });

test('each variant is encoded once and every subscriber gets the same bytes', () => {
  let calls = 0;
  const counting: Codec = { ...jsonCodec, encodeReply: (r) => (calls++, jsonCodec.encodeReply(r)), encodePush: (p) => (calls++, jsonCodec.encodePush(p)) };
  const p = pub('{"a":1}');
  const a = p.bytesFor(counting, false);
  const b = p.bytesFor(counting, false);
  assert.equal(a, b);
  assert.equal(calls, 1);
  assert.equal(Buffer.from(a!).toString(), '{"push":{"channel":"ch","pub":{"data":{"a":1},"offset":3}}}');
  assert.equal(Buffer.from(p.bytesFor(counting, true)!).toString(), '{"channel":"ch","pub":{"data":{"a":1},"offset":3}}');
  assert.equal(calls, 2);
});

test('binary data cannot go to JSON connections but still goes to Protobuf ones', () => {
  const p = new PreparedPush({ kind: 'pub', channel: 'ch', pub: { data: new Uint8Array([0xff, 0x00, 0x01]) } });
  assert.equal(p.bytesFor(jsonCodec, false), undefined);
  assert.equal(p.bytesFor(jsonCodec, false), undefined, 'failure is cached');
  assert.ok(p.bytesFor(protobufCodec, false) instanceof Uint8Array);
});
