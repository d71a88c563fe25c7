import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCanonicalBase64url, parseCompactJws } from '../../../src/auth/compact.js';

const seg = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

test('parseCompactJws: header, claims, signing input and signature from one split', () => {
  const token = `${seg({ alg: 'HS256', typ: 'JWT' })}.${seg({ sub: 'u', info: { ü: 1 } })}.c2ln`;
  const jws = parseCompactJws(token);
  assert.deepEqual(jws.header, { alg: 'HS256', typ: 'JWT' });
  assert.deepEqual(jws.payload, { sub: 'u', info: { ü: 1 } });
  assert.equal(token.slice(0, jws.signingInputEnd), token.slice(0, token.lastIndexOf('.')));
  assert.equal(jws.signature, 'c2ln');
});

test('parseCompactJws: every malformed shape is refused with a reason', () => {
  const h = seg({ alg: 'HS256' });
  const p = seg({ sub: 'u' });
  const cases: Array<[string, RegExp]> = [
    ['', /three dot-separated parts/],
    ['abc', /three dot-separated parts/],
    [`${h}.${p}`, /three dot-separated parts/],
    [`${h}.${p}.s.x`, /three dot-separated parts/],
    [`.${p}.s`, /header is not base64url/],
    [`${h}..s`, /claims set is not base64url/],
    [`${h}=.${p}.s`, /header is not base64url/],
    [`${h}.${p.replace(/.$/, '+')}.s`, /claims set is not base64url/],
    [`${Buffer.from('nope').toString('base64url')}.${p}.s`, /header is not JSON/],
    [`${seg([1])}.${p}.s`, /header is not a JSON object/],
    [`${h}.${seg('str')}.s`, /claims set is not a JSON object/],
    [`${h}.${seg(null)}.s`, /claims set is not a JSON object/],
  ];
  for (const [token, reason] of cases) assert.throws(() => parseCompactJws(token), reason, JSON.stringify(token));
});

test('parseCompactJws: only the canonical base64url spelling of each segment is accepted', () => {
  const h = seg({ alg: 'HS256' });
  const p = seg({ sub: 'ux' }); // 12 bytes: 16 characters, no padding bits
  assert.equal(p.length % 4, 0);
  const sig = Buffer.alloc(32, 7).toString('base64url'); // 43 characters: the last carries 2 unused bits
  assert.doesNotThrow(() => parseCompactJws(`${h}.${p}.${sig}`));
  // Same bytes, other spellings: flip an unused bit of the last character, or add a dangling one.
  const last = sig[sig.length - 1]!;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const sibling = alphabet[alphabet.indexOf(last) ^ 1]!;
  const respelled = sig.slice(0, -1) + sibling;
  assert.deepEqual(Buffer.from(respelled, 'base64url'), Buffer.from(sig, 'base64url'), 'the respelling decodes to the same signature');
  assert.throws(() => parseCompactJws(`${h}.${p}.${respelled}`), /signature is not canonical/);
  assert.throws(() => parseCompactJws(`${h}.${p}A.${sig}`), /claims set is not base64url/);
  // Unsigned tokens keep an empty signature (refused later unless signatures are not checked).
  assert.equal(parseCompactJws(`${h}.${p}.`).signature, '');
});

test('parseCompactJws: tokens with one header share its decoded, frozen header; many distinct headers still decode right', () => {
  const h = seg({ alg: 'HS256', typ: 'JWT' });
  const a = parseCompactJws(`${h}.${seg({ sub: 'a' })}.c2ln`);
  const b = parseCompactJws(`${h}.${seg({ sub: 'b' })}.c2ln`);
  assert.equal(a.header, b.header);
  assert.ok(Object.isFrozen(a.header));
  assert.deepEqual(b.payload, { sub: 'b' });
  // More headers than the cache holds: each token still gets its own header.
  for (let i = 0; i < 200; i++) {
    const jws = parseCompactJws(`${seg({ alg: 'HS256', kid: `k${i}` })}.${seg({ sub: `u${i}` })}.c2ln`);
    assert.deepEqual(jws.header, { alg: 'HS256', kid: `k${i}` });
  }
  assert.deepEqual(parseCompactJws(`${h}.${seg({ sub: 'c' })}.c2ln`).header, { alg: 'HS256', typ: 'JWT' });
});

test('parseCompactJws: a long header segment is decoded every time, not cached (the cache is filled before any signature check)', () => {
  const h = seg({ alg: 'HS256', pad: 'x'.repeat(300) });
  assert.ok(h.length > 256);
  const a = parseCompactJws(`${h}.${seg({ sub: 'a' })}.c2ln`);
  const b = parseCompactJws(`${h}.${seg({ sub: 'b' })}.c2ln`);
  assert.deepEqual(a.header, { alg: 'HS256', pad: 'x'.repeat(300) });
  assert.notEqual(a.header, b.header, 'a fresh decode each time');
});

test('isCanonicalBase64url agrees with decoding and re-encoding, for every string of up to 2 characters and 20,000 random ones of every length up to 40', () => {
  const reference = (x: string): boolean => /^[A-Za-z0-9_-]*$/.test(x) && Buffer.from(x, 'base64url').toString('base64url') === x;
  const chars = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_', '=', '+', '/', '.', ' ', 'é', '\u{1F600}'];
  const all: string[] = [''];
  for (const a of chars) {
    all.push(a);
    for (const b of chars) {
      all.push(a + b);
      for (const c of chars.slice(60)) all.push(a + b + c);
    }
  }
  // Random strings of every length from 1 to 40 (so every length mod 4), mostly valid characters,
  // so the tail rules get exercised. A 32-bit LCG, high bits taken.
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 16) % n;
  };
  for (let len = 1; len <= 40; len++) {
    for (let i = 0; i < 500; i++) {
      let x = '';
      for (let j = 0; j < len; j++) x += chars[rnd(100) < 98 ? rnd(64) : 64 + rnd(chars.length - 64)];
      all.push(x);
    }
  }
  for (const x of all) assert.equal(isCanonicalBase64url(x), reference(x), JSON.stringify(x));
});
