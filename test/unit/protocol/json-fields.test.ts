/**
 * The JSON field readers (protocol/json/fields.ts): zero values for absent and null fields, the
 * value for a field of the right type, and a 107 JsonFieldError naming the field otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonFieldError, asObject, bool, boolValue, int, payload, position, str, strList, strMap } from '../../../src/protocol/json/fields.js';
import { parseJsonWithRaw } from '../../../src/protocol/json/raw-json.js';
import { ReplyError } from '../../../src/protocol/errors.js';

const parse = (text: string) => asObject(parseJsonWithRaw(text, (k) => k === 'data'));

test('fields: absent and null fields read as zero values', () => {
  const o = parse('{"s":null,"b":null,"i":null,"l":null,"m":null,"p":null,"v":null,"data":null}');
  for (const src of [o, parse('{}')]) {
    assert.equal(str(src, 's'), '');
    assert.equal(bool(src, 'b'), false);
    assert.equal(int(src, 'i'), 0);
    assert.deepEqual(strList(src, 'l'), []);
    assert.equal(strMap(src, 'm'), undefined);
    assert.equal(position(src, 'p'), undefined);
    assert.equal(boolValue(src, 'v'), undefined);
    assert.equal(payload(src, 'data'), undefined);
  }
});

test('fields: values of the right type, payloads verbatim or from base64', () => {
  const o = parse('{"s":"x","b":true,"i":-3,"l":["a"],"m":{"k":"v"},"p":{"offset":2,"epoch":"e"},"v":{"value":true},"data":{"n": 12345678901234567890}}');
  assert.equal(str(o, 's'), 'x');
  assert.equal(bool(o, 'b'), true);
  assert.equal(int(o, 'i'), -3);
  assert.deepEqual(strList(o, 'l'), ['a']);
  assert.deepEqual(strMap(o, 'm'), { k: 'v' });
  assert.deepEqual(position(o, 'p'), { offset: 2, epoch: 'e' });
  assert.equal(boolValue(o, 'v'), true);
  assert.equal(Buffer.from(payload(o, 'data')!).toString(), '{"n": 12345678901234567890}');
  assert.equal(Buffer.from(payload(parse('{"b64data":"aGk="}'), 'data')!).toString(), 'hi');
});

test('fields: a field of the wrong type is a 107 JsonFieldError naming it', () => {
  const o = parse('{"s":1,"b":"yes","i":1.5,"l":[1],"m":{"k":1},"p":[],"v":{"value":1},"b64data":7,"arr":[]}');
  const cases: [string, () => unknown][] = [
    ['s', () => str(o, 's')],
    ['b', () => bool(o, 'b')],
    ['i', () => int(o, 'i')],
    ['l', () => strList(o, 'l')],
    ['m', () => strMap(o, 'm')],
    ['p', () => position(o, 'p')],
    ['value', () => boolValue(o, 'v')],
    ['b64data', () => payload(o, 'data')],
    ['arr', () => asObject(o.arr, 'arr')],
  ];
  for (const [field, read] of cases) {
    assert.throws(read, (e: unknown) => e instanceof JsonFieldError && e instanceof ReplyError && e.code === 107 && e.message === 'bad request' && e.field === field, field);
  }
});
