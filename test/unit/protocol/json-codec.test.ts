import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolDecodeError, ProtocolEncodeError } from '../../../src/protocol/codec.js';
import { jsonCodec } from '../../../src/protocol/json/codec.js';
import type { Command, Push, Reply } from '../../../src/protocol/types.js';

const te = new TextEncoder();
const b = (s: string) => te.encode(s);
const text = (u: Uint8Array) => Buffer.from(u).toString('utf8');
const decode = (frame: string, max = 65536) => jsonCodec.decodeCommands(b(frame), max);
const decodeOne = (line: string): Command => {
  const cmds = decode(line);
  assert.equal(cmds.length, 1);
  return cmds[0];
};
const reply = (r: Reply) => text(jsonCodec.encodeReply(r));
const push = (p: Push) => text(jsonCodec.encodePush(p));

describe('jsonCodec.decodeCommands: every command kind', () => {
  const cases: Array<[string, Command]> = [
    [
      '{"id":1,"connect":{"token":"jwt","data":{"k":[1, 2]},"subs":{"news":{"recover":true,"offset":7,"epoch":"ab","delta":"fossil"}},"name":"js","version":"1.0","headers":{"X-A":"1"},"flag":1}}',
      {
        id: 1,
        kind: 'connect',
        req: {
          token: 'jwt',
          data: b('{"k":[1, 2]}'),
          subs: { news: { channel: '', recover: true, offset: 7, epoch: 'ab', delta: 'fossil' } },
          name: 'js',
          version: '1.0',
          headers: { 'X-A': '1' },
          flag: 1,
        },
      },
    ],
    ['{"id":1,"connect":{}}', { id: 1, kind: 'connect', req: {} }],
    [
      '{"id":2,"subscribe":{"channel":"chat","token":"t","recover":true,"epoch":"e","offset":12,"data":"hi","positioned":true,"recoverable":true,"join_leave":true,"delta":"fossil","flag":2}}',
      {
        id: 2,
        kind: 'subscribe',
        req: {
          channel: 'chat', token: 't', recover: true, epoch: 'e', offset: 12, data: b('"hi"'), positioned: true,
          recoverable: true, joinLeave: true, delta: 'fossil', flag: 2,
        },
      },
    ],
    ['{"id":3,"unsubscribe":{"channel":"chat"}}', { id: 3, kind: 'unsubscribe', req: { channel: 'chat' } }],
    ['{"id":4,"publish":{"channel":"chat","data":{"x":1}}}', { id: 4, kind: 'publish', req: { channel: 'chat', data: b('{"x":1}') } }],
    ['{"id":5,"presence":{"channel":"chat"}}', { id: 5, kind: 'presence', req: { channel: 'chat' } }],
    ['{"id":6,"presence_stats":{"channel":"chat"}}', { id: 6, kind: 'presence_stats', req: { channel: 'chat' } }],
    [
      '{"id":7,"history":{"channel":"chat","limit":10,"since":{"offset":3,"epoch":"e"},"reverse":true}}',
      { id: 7, kind: 'history', req: { channel: 'chat', limit: 10, since: { offset: 3, epoch: 'e' }, reverse: true } },
    ],
    ['{"id":7,"history":{"channel":"c","since":{}}}', { id: 7, kind: 'history', req: { channel: 'c', since: { offset: 0, epoch: '' } } }],
    ['{"id":8,"ping":{}}', { id: 8, kind: 'ping' }],
    ['{"send":{"data":"msg"}}', { id: 0, kind: 'send', req: { data: b('"msg"') } }],
    ['{"id":9,"rpc":{"method":"m","data":[1,2]}}', { id: 9, kind: 'rpc', req: { method: 'm', data: b('[1,2]') } }],
    ['{"id":10,"refresh":{"token":"t2"}}', { id: 10, kind: 'refresh', req: { token: 't2' } }],
    ['{"id":11,"sub_refresh":{"channel":"c","token":"t3"}}', { id: 11, kind: 'sub_refresh', req: { channel: 'c', token: 't3' } }],
    ['{}', { id: 0, kind: 'pong' }],
    ['{"id":0}', { id: 0, kind: 'pong' }],
    ['{"id":0,"publish":{"channel":"c"}}', { id: 0, kind: 'pong' }],
    ['{"id":4294967295,"presence":{"channel":"c"}}', { id: 4294967295, kind: 'presence', req: { channel: 'c' } }],
  ];
  for (const [line, expected] of cases) {
    it(`decodes ${line.slice(0, 60)}`, () => assert.deepEqual(decodeOne(line), expected));
  }

  it('keeps raw data byte-exact, big integers and whitespace included', () => {
    const data = '{ "n": 12345678901234567890, "f": 1.10, "s": "é\\u00e9", "z": [ ] }';
    const cmd = decodeOne(`{"id":1,"publish":{"channel":"c","data":${data}}}`);
    assert.equal(cmd.kind, 'publish');
    assert.ok(cmd.kind === 'publish' && cmd.req.data);
    assert.equal(text(cmd.req.data), data);
    assert.deepEqual(cmd.req.data, b(data));
  });

  it('treats null fields as absent', () => {
    assert.deepEqual(decodeOne('{"id":1,"connect":null,"subscribe":{"channel":"c","token":null,"data":null}}'), {
      id: 1,
      kind: 'subscribe',
      req: { channel: 'c' },
    });
  });

  it('takes the first non-null request field in proto order', () => {
    assert.deepEqual(decodeOne('{"id":1,"publish":{"channel":"p"},"subscribe":{"channel":"s"}}'), {
      id: 1,
      kind: 'subscribe',
      req: { channel: 's' },
    });
    // id 0 with `send` is not a pong even when another field comes first.
    assert.equal(decodeOne('{"send":{},"unsubscribe":{"channel":"u"}}').kind, 'unsubscribe');
  });

  it('keeps "__proto__" map keys as ordinary entries', () => {
    const cmd = decodeOne('{"id":1,"connect":{"subs":{"__proto__":{"recover":true}},"headers":{"__proto__":"x"}}}');
    assert.ok(cmd.kind === 'connect' && cmd.req.subs && cmd.req.headers);
    assert.deepEqual(Object.keys(cmd.req.subs), ['__proto__']);
    assert.equal(Object.getPrototypeOf(cmd.req.subs), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(cmd.req.subs, '__proto__')?.value, { channel: '', recover: true });
    assert.equal(Object.getOwnPropertyDescriptor(cmd.req.headers, '__proto__')?.value, 'x');
  });

  it('keeps data raw when its key is spelled with escapes (the JSON.parse shortcut is only for text without "data" or escapes)', () => {
    const cmd = decodeOne('{"id":1,"publish":{"channel":"c","d\\u0061ta":{"n":12345678901234567890}}}');
    assert.ok(cmd.kind === 'publish');
    assert.deepEqual(cmd.req.data, b('{"n":12345678901234567890}'));
  });

  it('refuses nesting deeper than MAX_JSON_DEPTH in a command without data too (a deep tf filter would overflow the stack)', () => {
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    assert.throws(() => decode(`{"id":1,"extra":${deep(1500)},"presence":{"channel":"c"}}`), /nesting deeper than 1000/);
    let tf = '{"op":"eq","key":"k","val":"v"}';
    for (let i = 0; i < 600; i++) tf = `{"op":"and","nodes":[${tf}]}`;
    assert.throws(() => decode(`{"id":1,"subscribe":{"channel":"c","tf":${tf}}}`), ProtocolDecodeError);
    // Shallow enough, short or long: decoded.
    assert.equal(decodeOne(`{"id":1,"extra":${deep(900)},"presence":{"channel":"c"}}`).kind, 'presence');
  });

  it('decodes the same command whether JSON.parse or the raw-keeping scanner reads it', () => {
    const plain = '{"id":7,"connect":{"token":"abc","name":"js","version":"1","subs":{"ch":{"recover":true,"offset":5,"epoch":"e"}},"headers":{"a":"b"}}}';
    // An escape in a value sends the same command through the scanner.
    const escaped = plain.replace('"js"', '"j\\u0073"');
    assert.deepEqual(decodeOne(escaped), decodeOne(plain));
    const withData = plain.replace('"name":"js"', '"name":"js","data":{"x":1}');
    const cmd = decodeOne(withData);
    assert.ok(cmd.kind === 'connect');
    assert.deepEqual(cmd.req.data, b('{"x":1}'));
    assert.deepEqual({ ...cmd.req, data: undefined }, { ...(decodeOne(plain) as typeof cmd).req, data: undefined });
  });

  it('ignores unknown fields', () => {
    assert.deepEqual(decodeOne('{"id":2,"extra":[1,{"a":null}],"presence":{"channel":"c","future":true}}'), {
      id: 2,
      kind: 'presence',
      req: { channel: 'c' },
    });
  });
});

describe('jsonCodec.decodeCommands: framing and errors', () => {
  it('decodes several newline-separated commands, with a trailing newline tolerated', () => {
    const frame = '{"id":1,"presence":{"channel":"a"}}\n{}\n{"id":2,"publish":{"channel":"b","data":1}}\n';
    assert.deepEqual(decode(frame), [
      { id: 1, kind: 'presence', req: { channel: 'a' } },
      { id: 0, kind: 'pong' },
      { id: 2, kind: 'publish', req: { channel: 'b', data: b('1') } },
    ]);
  });

  it('accepts \\r\\n line endings (the \\r is JSON whitespace)', () => {
    assert.equal(decode('{}\r\n{}\r\n').length, 2);
  });

  const bad: Array<[string, string]> = [
    ['empty frame', ''],
    ['lone newline', '\n'],
    ['empty line between commands', '{}\n\n{}'],
    ['two trailing newlines', '{}\n\n'],
    ['leading newline', '\n{}'],
    ['whitespace-only line', '{}\n  \n{}'],
    ['malformed JSON', '{"id":1,'],
    ['trailing comma', '{"id":1,"presence":{"channel":"c",}}'],
    ['array command', '[1]'],
    ['string command', '"x"'],
    ['null command', 'null'],
    ['unknown command', '{"id":1}'],
    ['unknown field only', '{"id":1,"foo":{}}'],
    ['negative id', '{"id":-1,"ping":{}}'],
    ['fractional id', '{"id":1.5,"ping":{}}'],
    ['id over uint32', '{"id":4294967296,"ping":{}}'],
    ['string id', '{"id":"1","ping":{}}'],
    ['request not an object', '{"id":1,"subscribe":"chat"}'],
    ['channel not a string', '{"id":1,"subscribe":{"channel":5}}'],
    ['bool field not a bool', '{"id":1,"subscribe":{"channel":"c","recover":"yes"}}'],
    ['negative offset', '{"id":1,"subscribe":{"channel":"c","offset":-1}}'],
    ['limit over int32', '{"id":1,"history":{"channel":"c","limit":2147483648}}'],
    ['header value not a string', '{"id":1,"connect":{"headers":{"a":1}}}'],
    ['subs entry not an object', '{"id":1,"connect":{"subs":{"c":true}}}'],
    ['since not an object', '{"id":1,"history":{"channel":"c","since":5}}'],
    ['bad raw data', '{"id":1,"publish":{"channel":"c","data":{"a":}}}'],
    ['bad second command', '{}\n{"id":2,'],
  ];
  for (const [name, frame] of bad) {
    it(`rejects ${name}`, () => assert.throws(() => decode(frame), ProtocolDecodeError));
  }

  it('rejects invalid UTF-8', () => {
    const frame = Uint8Array.from([...b('{"id":1,"publish":{"channel":"'), 0xff, ...b('"}}')]);
    assert.throws(() => jsonCodec.decodeCommands(frame, 1000), ProtocolDecodeError);
  });

  it('enforces maxCommandSize per command, in bytes', () => {
    const cmd = '{"id":1,"publish":{"channel":"é"}}'; // 35 bytes, 34 characters
    assert.equal(b(cmd).length, 35);
    assert.equal(decode(`${cmd}\n${cmd}`, 35).length, 2);
    assert.throws(() => decode(`{}\n${cmd}`, 34), ProtocolDecodeError);
  });
});

describe('jsonCodec.decodeConnectRequest', () => {
  const dc = (s: string) => jsonCodec.decodeConnectRequest(b(s));
  it('decodes empty bodies and null to an empty request', () => {
    assert.deepEqual(dc(''), {});
    assert.deepEqual(dc(' \n'), {});
    assert.deepEqual(dc('null'), {});
    assert.deepEqual(dc('{}'), {});
  });
  it('decodes a bare ConnectRequest with raw data', () => {
    assert.deepEqual(dc('{"token":"t","data":{"a": 1},"subs":{"ch":{"recover":true,"offset":2,"epoch":"e","data":[1]}}}\n'), {
      token: 't',
      data: b('{"a": 1}'),
      subs: { ch: { channel: '', recover: true, offset: 2, epoch: 'e', data: b('[1]') } },
    });
  });
  it('rejects malformed bodies', () => {
    for (const s of ['[]', '"x"', '{"token":1}', '{', '{"subs":[]}']) assert.throws(() => dc(s), ProtocolDecodeError, s);
  });
});

describe('jsonCodec.encodeReply', () => {
  const pub = { data: b('{"x":1}'), offset: 5 };
  const cases: Array<[Reply, string]> = [
    [{ id: 0, kind: 'ping' }, '{}'],
    [
      { id: 1, kind: 'connect', result: { client: 'c1', version: '6.9.1 OSS', ping: 25, pong: true } },
      '{"id":1,"connect":{"client":"c1","version":"6.9.1 OSS","ping":25,"pong":true}}',
    ],
    [
      {
        id: 1,
        kind: 'connect',
        result: {
          client: 'c', version: 'v', expires: true, ttl: 60, data: b('{"d":1}'), ping: 25, pong: true, session: 's',
          node: 'n', time: 1700000000000,
          subs: { '$srv': { recoverable: true, epoch: 'ep', offset: 9, positioned: true } },
        },
      },
      '{"id":1,"connect":{"client":"c","version":"v","expires":true,"ttl":60,"data":{"d":1},' +
        '"subs":{"$srv":{"recoverable":true,"epoch":"ep","offset":9,"positioned":true}},"ping":25,"pong":true,' +
        '"session":"s","node":"n","time":1700000000000}}',
    ],
    [
      {
        id: 2,
        kind: 'subscribe',
        result: {
          expires: true, ttl: 30, recoverable: true, epoch: 'AbCd', recovered: true, offset: 5, positioned: true,
          data: b('"x"'), wasRecovering: true, delta: true,
          publications: [{ data: b('{"t":1}'), offset: 6, info: { user: 'u', client: 'c', connInfo: b('{"n":1}'), chanInfo: b('[]') }, tags: { k: 'v' }, delta: true, time: 7, channel: 'w' }],
        },
      },
      '{"id":2,"subscribe":{"expires":true,"ttl":30,"recoverable":true,"epoch":"AbCd","publications":[{"data":{"t":1},' +
        '"info":{"user":"u","client":"c","conn_info":{"n":1},"chan_info":[]},"offset":6,"tags":{"k":"v"},"delta":true,' +
        '"time":7,"channel":"w"}],"recovered":true,"offset":5,"positioned":true,"data":"x","was_recovering":true,"delta":true}}',
    ],
    [{ id: 2, kind: 'subscribe', result: { publications: [] } }, '{"id":2,"subscribe":{}}'],
    [{ id: 3, kind: 'unsubscribe' }, '{"id":3,"unsubscribe":{}}'],
    [{ id: 4, kind: 'publish' }, '{"id":4,"publish":{}}'],
    [
      { id: 5, kind: 'presence', result: { presence: { c1: { user: 'u1', client: 'c1' }, c2: { user: '', client: 'c2' } } } },
      '{"id":5,"presence":{"presence":{"c1":{"user":"u1","client":"c1"},"c2":{"user":"","client":"c2"}}}}',
    ],
    [{ id: 5, kind: 'presence', result: { presence: {} } }, '{"id":5,"presence":{"presence":{}}}'],
    [{ id: 6, kind: 'presence_stats', result: { numClients: 2, numUsers: 1 } }, '{"id":6,"presence_stats":{"num_clients":2,"num_users":1}}'],
    [{ id: 6, kind: 'presence_stats', result: { numClients: 0, numUsers: 0 } }, '{"id":6,"presence_stats":{"num_clients":0,"num_users":0}}'],
    [
      { id: 7, kind: 'history', result: { publications: [pub, { data: b('2'), offset: 6 }], epoch: 'e', offset: 6 } },
      '{"id":7,"history":{"publications":[{"data":{"x":1},"offset":5},{"data":2,"offset":6}],"epoch":"e","offset":6}}',
    ],
    [{ id: 7, kind: 'history', result: { publications: [], epoch: '', offset: 0 } }, '{"id":7,"history":{"publications":[],"epoch":"","offset":0}}'],
    [{ id: 8, kind: 'rpc', result: { data: b('{"ok":true}') } }, '{"id":8,"rpc":{"data":{"ok":true}}}'],
    [{ id: 8, kind: 'rpc', result: {} }, '{"id":8,"rpc":{}}'],
    [{ id: 9, kind: 'refresh', result: { client: 'c', version: 'v', expires: true, ttl: 10 } }, '{"id":9,"refresh":{"client":"c","version":"v","expires":true,"ttl":10}}'],
    [{ id: 10, kind: 'sub_refresh', result: { expires: true, ttl: 10 } }, '{"id":10,"sub_refresh":{"expires":true,"ttl":10}}'],
    [{ id: 10, kind: 'sub_refresh', result: {} }, '{"id":10,"sub_refresh":{}}'],
    [{ id: 3, kind: 'error', error: { code: 103, message: 'permission denied' } }, '{"id":3,"error":{"code":103,"message":"permission denied"}}'],
    [{ id: 3, kind: 'error', error: { code: 100, message: 'internal server error', temporary: true } }, '{"id":3,"error":{"code":100,"message":"internal server error","temporary":true}}'],
    [{ id: 0, kind: 'push', push: { kind: 'pub', channel: 'ch', pub } }, '{"push":{"channel":"ch","pub":{"data":{"x":1},"offset":5}}}'],
  ];
  for (const [r, expected] of cases) {
    it(`encodes ${r.kind} ${expected.slice(0, 50)}`, () => {
      const out = reply(r);
      assert.equal(out, expected);
      JSON.parse(out);
    });
  }

  it('escapes strings', () => {
    const out = reply({ id: 1, kind: 'error', error: { code: 400, message: 'a "quote"\n\\ \u2028 \ud800' } });
    assert.equal((JSON.parse(out) as { error: { message: string } }).error.message, 'a "quote"\n\\ \u2028 \ud800');
    assert.ok(!out.includes('\n'));
  });
});

describe('jsonCodec.encodePush', () => {
  const info = { user: 'u', client: 'c' };
  const cases: Array<[Push, string]> = [
    [{ kind: 'pub', channel: 'ch', pub: { data: b('{"x":1}'), offset: 5 } }, '{"channel":"ch","pub":{"data":{"x":1},"offset":5}}'],
    [{ kind: 'join', channel: 'ch', info }, '{"channel":"ch","join":{"info":{"user":"u","client":"c"}}}'],
    [{ kind: 'leave', channel: 'ch', info }, '{"channel":"ch","leave":{"info":{"user":"u","client":"c"}}}'],
    [{ kind: 'unsubscribe', channel: 'ch', code: 2000, reason: 'server unsubscribe' }, '{"channel":"ch","unsubscribe":{"code":2000,"reason":"server unsubscribe"}}'],
    [{ kind: 'message', data: b('"hello"') }, '{"message":{"data":"hello"}}'],
    [
      { kind: 'subscribe', channel: 'ch', sub: { recoverable: true, epoch: 'e', offset: 1, positioned: true, data: b('{}') } },
      '{"channel":"ch","subscribe":{"recoverable":true,"epoch":"e","offset":1,"positioned":true,"data":{}}}',
    ],
    [{ kind: 'subscribe', channel: 'ch', sub: {} }, '{"channel":"ch","subscribe":{}}'],
    [{ kind: 'connect', connect: { client: 'c', version: 'v', session: 's', ping: 25 } }, '{"connect":{"client":"c","version":"v","ping":25,"session":"s"}}'],
    [{ kind: 'disconnect', code: 3001, reason: 'shutdown' }, '{"disconnect":{"code":3001,"reason":"shutdown"}}'],
    [{ kind: 'refresh', expires: true, ttl: 3600 }, '{"refresh":{"expires":true,"ttl":3600}}'],
    [{ kind: 'refresh', expires: false, ttl: 0 }, '{"refresh":{}}'],
  ];
  for (const [p, expected] of cases) {
    it(`encodes ${p.kind}`, () => {
      assert.equal(push(p), expected);
      assert.equal(reply({ id: 0, kind: 'push', push: p }), `{"push":${expected}}`);
    });
  }
});

describe('jsonCodec: bytes payloads on encode', () => {
  const pubWith = (data: Uint8Array): Push => ({ kind: 'pub', channel: 'c', pub: { data } });

  it('embeds data byte-exactly (big integers survive)', () => {
    const data = '{"n":12345678901234567890,"s":"é"}';
    assert.equal(push(pubWith(b(data))), `{"channel":"c","pub":{"data":${data}}}`);
  });

  it('strips raw newlines from payloads but keeps escaped ones', () => {
    const out = push(pubWith(b('{\n  "a": "x\\ny",\n  "b": [1,\n2]\n}\n')));
    assert.equal(out, '{"channel":"c","pub":{"data":{  "a": "x\\ny",  "b": [1,2]}}}');
    assert.ok(!out.includes('\n'));
  });

  it('strips raw carriage returns too (SSE ends a line at a lone CR)', () => {
    const out = push(pubWith(b('{\r\n "a": "x\\r\\ny",\r "b": 1\r\n}')));
    assert.equal(out, '{"channel":"c","pub":{"data":{ "a": "x\\r\\ny", "b": 1}}}');
  });

  it('omits empty data', () => {
    assert.equal(push(pubWith(new Uint8Array(0))), '{"channel":"c","pub":{}}');
  });

  it('throws ProtocolEncodeError for non-JSON or non-UTF-8 bytes, in every bytes field', () => {
    const bad = [b('not json'), b('{"a":1'), Uint8Array.from([0x00, 0x01, 0xff]), Uint8Array.from([0x22, 0xc3, 0x22])];
    for (const data of bad) {
      assert.throws(() => jsonCodec.encodePush(pubWith(data)), ProtocolEncodeError);
      assert.throws(() => jsonCodec.encodeReply({ id: 1, kind: 'rpc', result: { data } }), ProtocolEncodeError);
      assert.throws(() => jsonCodec.encodePush({ kind: 'join', channel: 'c', info: { user: 'u', client: 'c', connInfo: data } }), ProtocolEncodeError);
      assert.throws(() => jsonCodec.encodePush({ kind: 'join', channel: 'c', info: { user: 'u', client: 'c', chanInfo: data } }), ProtocolEncodeError);
      assert.throws(() => jsonCodec.encodeReply({ id: 1, kind: 'connect', result: { client: 'c', version: 'v', data } }), ProtocolEncodeError);
      assert.throws(() => jsonCodec.encodePush({ kind: 'message', data }), ProtocolEncodeError);
    }
  });

  it('carries delta data as a JSON string supplied by the caller', () => {
    const delta = JSON.stringify('D3\n1:x;'); // caller string-encodes the fossil delta for JSON connections
    assert.equal(push({ kind: 'pub', channel: 'c', pub: { data: b(delta), delta: true, offset: 2 } }), `{"channel":"c","pub":{"data":${delta},"offset":2,"delta":true}}`);
  });

  it('round-trips raw data from a decoded publish into an encoded publication', () => {
    const data = '{"big":98765432109876543210,"list":[1.0,2e3]}';
    const cmd = decodeOne(`{"id":1,"publish":{"channel":"c","data":${data}}}`);
    assert.ok(cmd.kind === 'publish' && cmd.req.data);
    assert.equal(push(pubWith(cmd.req.data)), `{"channel":"c","pub":{"data":${data}}}`);
  });
});
