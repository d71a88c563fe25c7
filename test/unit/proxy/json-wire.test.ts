/**
 * The HTTP proxy's JSON (src/proxy/json-wire.ts): requests written with Centrifugo's field names
 * and payloads embedded as they are; answers decoded into `ProxyAnswer` for every method and every
 * result field, payloads kept byte for byte; anything else a `ProxyCallError`, never another
 * exception, whatever the bytes (a seeded random walk over mutated and generated answers).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeAnswer, requestJson } from '../../../src/proxy/json-wire.js';
import { ProxyCallError, type ProxyMethod } from '../../../src/proxy/types.js';

const text = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : Buffer.from(b).toString('utf8'));
const enc = (s: string) => new Uint8Array(Buffer.from(s));
const METHODS: ProxyMethod[] = ['connect', 'refresh', 'subscribe', 'publish', 'sub_refresh', 'rpc'];

describe('proxy json-wire: requests', () => {
  it('writes Centrifugo field names in its order, payloads as raw JSON, empty fields left out', () => {
    const body = requestJson<'connect'>({
      client: 'c1', transport: 'websocket', protocol: 'json', encoding: 'json', name: 'sdk', version: '', channels: [], data: enc('{"big":12345678901234567890}'),
    });
    assert.equal(body, '{"client":"c1","transport":"websocket","protocol":"json","encoding":"json","name":"sdk","data":{"big":12345678901234567890}}');
    const sub = requestJson<'subscribe'>({
      client: 'c', transport: 'http_stream', protocol: 'protobuf', encoding: 'binary', user: 'u', channel: 'ch', token: '', b64data: 'AAE=', meta: enc('{"m":1}'),
    });
    assert.equal(sub, '{"client":"c","transport":"http_stream","protocol":"protobuf","encoding":"binary","user":"u","channel":"ch","b64data":"AAE=","meta":{"m":1}}');
  });

  it('payload bytes that are not JSON go out as a base64 string rather than breaking the body', () => {
    const body = requestJson<'rpc'>({ client: 'c', transport: 'websocket', protocol: 'protobuf', encoding: 'json', user: '', method: 'm', data: new Uint8Array([0, 255]) });
    assert.deepEqual(JSON.parse(body).data, 'AP8=');
  });
});

describe('proxy json-wire: answers', () => {
  it('connect: every result field; payloads kept as their exact JSON text; channels and subs; override BoolValues', () => {
    const a = decodeAnswer('connect', `{"result":{"user":"u1","expire_at":1735689600,"info":{"n": 12345678901234567890},"b64info":"AQI=",
      "data":[1, 2],"b64data":"","channels":["a","b"],"meta":{"plan":"gold"},
      "subs":{"x":{"expire_at":5,"info":{"r":1},"b64data":"AA==","override":{"presence":{"value":true},"join_leave":{},"force_recovery":{"value":false},"force_positioning":null,"force_push_join_leave":{"value":true}}}},
      "caps":[{"allow":["sub"]}],"labels":{"l":"v"}}}`);
    assert.equal(a.kind, 'result');
    const r = a.kind === 'result' ? a.result! : assert.fail();
    assert.equal(r.user, 'u1');
    assert.equal(r.expireAt, 1735689600);
    assert.equal(text(r.info.raw), '{"n": 12345678901234567890}', 'byte for byte');
    assert.equal(r.info.b64, 'AQI=');
    assert.equal(text(r.data.raw), '[1, 2]');
    assert.equal(r.data.b64, undefined, 'an empty b64 is none');
    assert.deepEqual(r.channels, ['a', 'b']);
    assert.equal(text(r.meta.raw), '{"plan":"gold"}');
    const x = r.subs!['x']!;
    assert.equal(x.expireAt, 5);
    assert.equal(text(x.info.raw), '{"r":1}');
    assert.equal(x.data.b64, 'AA==');
    assert.deepEqual(x.override, { presence: true, joinLeave: false, forceRecovery: false, forcePushJoinLeave: true });
  });

  it('an integer may come as a string of digits (protobuf JSON writes int64 so)', () => {
    const a = decodeAnswer('refresh', '{"result":{"expire_at":"1735689600"}}');
    assert.deepEqual(a.kind === 'result' ? a.result?.expireAt : undefined, 1735689600);
    assert.deepEqual(decodeAnswer('rpc', '{"error":{"code":"1403"}}'), { kind: 'error', code: 1403, message: '', temporary: false });
  });

  it('channel and tag names such as __proto__ and constructor are ordinary keys', () => {
    const a = decodeAnswer('connect', '{"result":{"user":"u","subs":{"__proto__":{},"constructor":{},"news":{}}}}');
    const r = a.kind === 'result' ? a.result! : assert.fail();
    assert.deepEqual(Object.keys(r.subs!), ['__proto__', 'constructor', 'news']);
    const p = decodeAnswer('publish', '{"result":{"tags":{"__proto__":"v","k":"w"}}}');
    const pr = p.kind === 'result' ? p.result! : assert.fail();
    assert.deepEqual(Object.entries(pr.tags!), [['__proto__', 'v'], ['k', 'w']]);
  });

  it('refresh, subscribe, publish, sub_refresh and rpc results', () => {
    const refresh = decodeAnswer('refresh', '{"result":{"expired":true,"expire_at":7,"info":"s","meta":{"m":2}}}');
    assert.deepEqual(refresh.kind === 'result' && { ...refresh.result, info: text(refresh.result!.info.raw), meta: text(refresh.result!.meta.raw) }, {
      expired: true, expireAt: 7, info: '"s"', meta: '{"m":2}',
    });
    const sub = decodeAnswer('subscribe', '{"result":{"expire_at":9,"b64info":"AQ==","data":{"d":1},"override":{"join_leave":{"value":true}},"allow":["pub"]}}');
    const s = sub.kind === 'result' ? sub.result! : assert.fail();
    assert.deepEqual([s.expireAt, s.info.b64, text(s.data.raw), s.override], [9, 'AQ==', '{"d":1}', { joinLeave: true }]);
    const pub = decodeAnswer('publish', '{"result":{"data":{"x":1},"skip_history":true,"tags":{"k":"v"},"idempotency_key":"i","delta":true,"version":3,"version_epoch":"e"}}');
    const p = pub.kind === 'result' ? pub.result! : assert.fail();
    assert.deepEqual({ ...p, data: text(p.data.raw), tags: { ...p.tags } }, { data: '{"x":1}', skipHistory: true, tags: { k: 'v' }, idempotencyKey: 'i', delta: true, version: 3, versionEpoch: 'e' });
    const sr = decodeAnswer('sub_refresh', '{"result":{"expired":false,"expire_at":11,"b64info":"AA=="}}');
    assert.deepEqual(sr.kind === 'result' && { ...sr.result, info: sr.result!.info.b64 }, { expired: false, expireAt: 11, info: 'AA==' });
    const rpc = decodeAnswer('rpc', '{"result":{"b64data":"AP8="}}');
    assert.equal(rpc.kind === 'result' ? rpc.result?.data.b64 : undefined, 'AP8=');
  });

  it('no result (absent, null, or an empty answer) is a result of undefined; null payloads are none', () => {
    for (const m of METHODS) {
      assert.deepEqual(decodeAnswer(m, '{}'), { kind: 'result', result: undefined });
      assert.deepEqual(decodeAnswer(m, '{"result":null,"error":null,"disconnect":null}'), { kind: 'result', result: undefined });
    }
    const r = decodeAnswer('rpc', '{"result":{"data":null}}');
    assert.deepEqual(r, { kind: 'result', result: { data: {} } });
  });

  it('error and disconnect answers, for every method; disconnect wins over error, error over result', () => {
    for (const m of METHODS) {
      assert.deepEqual(decodeAnswer(m, '{"error":{"code":1403,"message":"no","temporary":true}}'), { kind: 'error', code: 1403, message: 'no', temporary: true });
      assert.deepEqual(decodeAnswer(m, '{"error":{"code":1000}}'), { kind: 'error', code: 1000, message: '', temporary: false });
      assert.deepEqual(decodeAnswer(m, '{"disconnect":{"code":4500,"reason":"bye"}}'), { kind: 'disconnect', code: 4500, reason: 'bye' });
    }
    assert.equal(decodeAnswer('rpc', '{"result":{},"error":{"code":1},"disconnect":{"code":4000}}').kind, 'disconnect');
    assert.equal(decodeAnswer('rpc', '{"result":{},"error":{"code":1}}').kind, 'error');
  });

  it('every wrong shape is a ProxyCallError naming what is wrong', () => {
    const bad: [ProxyMethod, string, RegExp][] = [
      ['rpc', '', /not JSON/],
      ['rpc', '{"result":', /not JSON/],
      ['rpc', '{"result":{}} trailing', /not JSON/],
      ['rpc', "{'result':{}}", /not JSON/],
      ['rpc', '[]', /answer must be an object/],
      ['rpc', '"result"', /answer must be an object/],
      ['rpc', '{"result":[]}', /result must be an object/],
      ['rpc', '{"result":"x"}', /result must be an object/],
      ['rpc', '{"error":true}', /error must be an object/],
      ['rpc', '{"error":{"code":1.5}}', /code must be an integer/],
      ['rpc', '{"error":{"code":-1}}', /code must be a uint32/],
      ['rpc', '{"disconnect":{"code":4294967296}}', /code must be a uint32/],
      ['rpc', '{"error":{"code":1,"message":5}}', /message must be a string/],
      ['rpc', '{"error":{"code":1,"temporary":"yes"}}', /temporary must be a boolean/],
      ['rpc', '{"disconnect":[]}', /disconnect must be an object/],
      ['rpc', '{"result":{"b64data":5}}', /b64data must be a string/],
      ['rpc', '{"result":{"b64data":"AP8"}}', /b64data is not base64/],
      ['rpc', '{"result":{"b64data":"A P8="}}', /b64data is not base64/],
      ['rpc', '{"result":{"b64data":"AP-_"}}', /b64data is not base64/],
      ['connect', '{"result":{"user":1}}', /user must be a string/],
      ['connect', '{"result":{"expire_at":1e400}}', /not JSON|expire_at must be an integer/],
      ['connect', '{"result":{"expire_at":9007199254740993}}', /expire_at must be an integer/],
      ['connect', '{"result":{"channels":"a"}}', /channels must be a list of strings/],
      ['connect', '{"result":{"channels":[1]}}', /channels must be a list of strings/],
      ['connect', '{"result":{"subs":[]}}', /subs must be an object/],
      ['connect', '{"result":{"subs":{"a":1}}}', /subs\.a must be an object/],
      ['connect', '{"result":{"subs":{"a":{"b64info":"%%%%"}}}}', /b64info is not base64/],
      ['subscribe', '{"result":{"override":{"presence":true}}}', /override\.presence must be an object/],
      ['subscribe', '{"result":{"override":{"presence":{"value":1}}}}', /value must be a boolean/],
      ['subscribe', '{"result":{"override":[]}}', /override must be an object/],
      ['publish', '{"result":{"tags":{"k":1}}}', /tags\.k must be a string/],
      ['publish', '{"result":{"tags":[]}}', /tags must be an object/],
      ['publish', '{"result":{"skip_history":"true"}}', /skip_history must be a boolean/],
      ['publish', '{"result":{"version":-1.5}}', /version must be an integer/],
      ['refresh', '{"result":{"expired":1}}', /expired must be a boolean/],
      ['sub_refresh', '{"result":{"expire_at":"soon"}}', /expire_at must be an integer/],
    ];
    for (const [m, body, why] of bad) {
      assert.throws(() => decodeAnswer(m, body), (e: unknown) => e instanceof ProxyCallError && why.test(e.message), `${m} ${body}`);
    }
  });

  it('hostile nesting is refused, not a stack overflow', () => {
    const deep = '{"result":{"data":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}}';
    assert.throws(() => decodeAnswer('rpc', deep), ProxyCallError);
  });

  it('random bytes and mutated answers: a ProxyAnswer or a ProxyCallError, never anything else', () => {
    const rand = lcg(0x5eed);
    const samples = [
      '{"result":{"user":"u","expire_at":5,"info":{"a":[1,2,{"b":null}]},"channels":["x"],"subs":{"s":{"override":{"presence":{"value":true}}}},"meta":{}}}',
      '{"result":{"data":{"x":"y"},"skip_history":true,"tags":{"a":"b"},"version":1,"version_epoch":"e","idempotency_key":"k","delta":false}}',
      '{"error":{"code":1403,"message":"m","temporary":false}}',
      '{"disconnect":{"code":4500,"reason":"r"}}',
      '{"result":{"expired":false,"expire_at":"12","b64info":"AQID"}}',
    ];
    const alphabet = '{}[]":,0123456789-.eE truefalsnul\\u"abcxyz_ \n\t\u00e9\ud83d';
    let answers = 0;
    let refused = 0;
    for (let i = 0; i < 20_000; i++) {
      let body: string;
      const mode = rand() % 3;
      if (mode === 0) {
        const s = samples[rand() % samples.length]!;
        const chars = [...s];
        for (let k = 0, n = 1 + (rand() % 4); k < n; k++) {
          const at = rand() % (chars.length + 1);
          const op = rand() % 3;
          if (op === 0) chars.splice(at, 1);
          else if (op === 1) chars.splice(at, 0, alphabet[rand() % alphabet.length]!);
          else chars.splice(at, 1, alphabet[rand() % alphabet.length]!);
        }
        body = chars.join('');
      } else if (mode === 1) body = JSON.stringify({ [pick(rand, ['result', 'error', 'disconnect', 'x'])]: randomValue(rand, 4) });
      else body = Array.from({ length: rand() % 40 }, () => alphabet[rand() % alphabet.length]).join('');
      const m = METHODS[rand() % METHODS.length]!;
      try {
        const a = decodeAnswer(m, body);
        assert.ok(a.kind === 'result' || a.kind === 'error' || a.kind === 'disconnect');
        answers++;
      } catch (e) {
        assert.ok(e instanceof ProxyCallError, `${m} ${JSON.stringify(body)}: ${String(e)}`);
        refused++;
      }
    }
    assert.ok(answers > 100 && refused > 100, `both outcomes exercised (${answers} answers, ${refused} refused)`);
  });
});

/** A small deterministic generator (numerical recipes LCG), so a failure reproduces. */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x >>> 8;
  };
}

function pick<T>(rand: () => number, xs: readonly T[]): T {
  return xs[rand() % xs.length]!;
}

const KEYS = ['user', 'expire_at', 'info', 'b64info', 'data', 'b64data', 'channels', 'subs', 'meta', 'override', 'presence', 'value', 'expired',
  'skip_history', 'tags', 'idempotency_key', 'delta', 'version', 'version_epoch', 'code', 'message', 'temporary', 'reason', 'join_leave'];

function randomValue(rand: () => number, depth: number): unknown {
  const kind = depth <= 0 ? rand() % 5 : rand() % 7;
  switch (kind) {
    case 0: return null;
    case 1: return rand() % 2 === 0;
    case 2: return pick(rand, [0, 1, -1, 1.5, 4500, 2 ** 53, 1e300]);
    case 3: return pick(rand, ['', 'AQID', 'x', '12', 'not base64!', '\u0000']);
    case 4: return pick(rand, [[], {}]);
    case 5: return Array.from({ length: rand() % 4 }, () => randomValue(rand, depth - 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = 0, n = rand() % 5; i < n; i++) o[pick(rand, KEYS)] = randomValue(rand, depth - 1);
      return o;
    }
  }
}
