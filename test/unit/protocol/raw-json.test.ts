import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolDecodeError } from '../../../src/protocol/codec.js';
import { isValidJson, MAX_JSON_DEPTH, parseJsonWithRaw, RawJson } from '../../../src/protocol/json/raw-json.js';

const dataKey = (key: string) => key === 'data';

describe('parseJsonWithRaw: plain values', () => {
  const cases = [
    '0', '-0', '1', '-12.5e+3', '1E-2', '0.25', '12345678901234567890', 'true', 'false', 'null',
    '""', '"abc"', '"\\u00e9\\n\\t\\"\\\\\\/\\b\\f\\r"', '"héllo ☃ 😀"', '[]', '{}', '[1,[2,[3]],{"a":[]}]',
    ' { "a" : 1 , "b" : [ true , null ] , "c" : { } } ', '{"a":1,"a":2}', '"\\ud800"', '"\\uD83D\\uDE00"',
  ];
  for (const text of cases) {
    it(`matches JSON.parse for ${text}`, () => {
      assert.deepEqual(parseJsonWithRaw(text, () => false), JSON.parse(text));
    });
  }

  it('matches JSON.parse on generated documents', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const gen = (depth: number): unknown => {
      switch (rnd(depth > 3 ? 5 : 7)) {
        case 0: return rnd(2) === 0;
        case 1: return null;
        case 2: return (rnd(2000000) - 1000000) / (rnd(3) === 0 ? 7 : 1);
        case 3: return String.fromCharCode(...Array.from({ length: rnd(8) }, () => rnd(0x2fff)));
        case 4: return 'k' + rnd(100);
        case 5: return Array.from({ length: rnd(5) }, () => gen(depth + 1));
        default: {
          const o: Record<string, unknown> = {};
          for (let i = rnd(5); i > 0; i--) o['f' + rnd(10)] = gen(depth + 1);
          return o;
        }
      }
    };
    for (let i = 0; i < 300; i++) {
      const text = JSON.stringify(gen(0), null, rnd(2) === 0 ? 2 : undefined);
      assert.deepEqual(parseJsonWithRaw(text), JSON.parse(text), text);
      assert.equal(isValidJson(text), true);
    }
  });

  it('keeps a "__proto__" key as an own property', () => {
    const v = parseJsonWithRaw('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.deepEqual(Object.keys(v), ['__proto__']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe('parseJsonWithRaw: raw members', () => {
  it('keeps the exact source text of raw values', () => {
    const src = '{ "big" : 12345678901234567890 ,\n "z": 1, "a": [ 1,2 ], "s": "\\u0041" }';
    const v = parseJsonWithRaw(`{"id":1,"data":${src},"other":{"x":1}}`, dataKey) as Record<string, unknown>;
    assert.ok(v.data instanceof RawJson);
    assert.equal(v.data.text, src);
    assert.deepEqual(v.other, { x: 1 });
  });

  it('returns raw text for every JSON kind, trimmed of surrounding whitespace', () => {
    for (const raw of ['"str"', '-1.5e10', 'true', 'false', 'null', '[1, {"a":2}]', '{}']) {
      const v = parseJsonWithRaw(`{"data":  ${raw}  }`, dataKey) as Record<string, unknown>;
      assert.deepEqual(v.data, new RawJson(raw));
    }
  });

  it('reports the depth of the object holding the key', () => {
    const seen: string[] = [];
    parseJsonWithRaw('{"a":{"b":[{"c":1}],"d":2},"e":3}', (key, depth) => {
      seen.push(`${key}@${depth}`);
      return false;
    });
    assert.deepEqual(seen, ['a@0', 'b@1', 'c@3', 'd@1', 'e@0']);
  });

  it('only captures keys the predicate selects', () => {
    const v = parseJsonWithRaw('{"data":{"data":1},"x":{"data":[1]}}', (k, d) => k === 'data' && d === 1) as {
      data: { data: unknown };
      x: { data: unknown };
    };
    assert.deepEqual(v.data, { data: new RawJson('1') });
    assert.deepEqual(v.x.data, new RawJson('[1]'));
  });

  it('validates raw values too', () => {
    assert.throws(() => parseJsonWithRaw('{"data":{"a":1,}}', dataKey), ProtocolDecodeError);
    assert.throws(() => parseJsonWithRaw('{"data":[1 2]}', dataKey), ProtocolDecodeError);
    assert.throws(() => parseJsonWithRaw('{"data":"\\x"}', dataKey), ProtocolDecodeError);
  });
});

describe('parseJsonWithRaw: strictness', () => {
  const bad = [
    '', ' ', '{', '}', '[', '[1,]', '{"a":1,}', '{,}', '[,1]', '{"a" 1}', '{a:1}', "{'a':1}", '{"a":1}}',
    '{"a":1} x', '// c\n{}', '/* c */{}', 'NaN', 'Infinity', '-Infinity', 'undefined', '01', '-', '1.', '.5',
    '1e', '1e+', '+1', '0x10', 'tru', 'nul', 'True', '"abc', '"a\nb"', '"tab\there"', '"\\u12"', '"\\u12G4"',
    '"\\a"', '"\\', '[1]]', '{"a":}', '{"a":1,"b"}', '\u00a0{}',
  ];
  for (const text of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(() => parseJsonWithRaw(text, dataKey), ProtocolDecodeError);
      assert.throws(() => JSON.parse(text), SyntaxError, 'test case must be invalid JSON');
      assert.equal(isValidJson(text), false);
    });
  }

  it('limits nesting depth', () => {
    const ok = '['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH);
    assert.equal((parseJsonWithRaw(ok) as unknown[]).length, 1);
    assert.equal(isValidJson(ok), true);
    const deep = '['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1);
    assert.throws(() => parseJsonWithRaw(deep), ProtocolDecodeError);
    assert.equal(isValidJson(deep), false);
    assert.equal(isValidJson('['.repeat(100000)), false);
  });
});
