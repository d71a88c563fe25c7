import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_ORIGIN_LENGTH, OriginChecker } from '../../../src/util/origin.js';
import { Admission } from '../../../src/transport/shared/admission.js';

test('empty allowed_origins admits only requests without Origin', () => {
  const c = new OriginChecker([]);
  assert.equal(c.allowed(undefined), true);
  assert.equal(c.allowed('http://localhost:3000'), false);
});

test('patterns with wildcards, case-insensitive, whole-origin match', () => {
  const c = new OriginChecker(['https://*.example.com', 'http://localhost:3000']);
  assert.equal(c.allowed('https://a.example.com'), true);
  assert.equal(c.allowed('HTTPS://A.EXAMPLE.COM'), true);
  assert.equal(c.allowed('https://example.com.evil.org'), false);
  assert.equal(c.allowed('http://localhost:3000'), true);
  assert.equal(c.allowed('http://localhost:30001'), false);
  assert.equal(new OriginChecker(['*']).allowed('http://anything'), true);
});

test('admission: connection limit and per-second rate limit', () => {
  let open = 0;
  const a = new Admission(2, 0, () => open);
  assert.equal(a.check(), undefined);
  open = 2;
  assert.match(a.check() ?? '', /connection limit/);
  const r = new Admission(0, 2, () => 0);
  assert.equal(r.check(1000), undefined);
  assert.equal(r.check(1500), undefined);
  assert.match(r.check(1900) ?? '', /rate limit/);
  assert.equal(r.check(2000), undefined, 'a new one-second window');
});

test('an Origin longer than MAX_ORIGIN_LENGTH is refused without matching', () => {
  const c = new OriginChecker(['https://*.example.com']);
  const long = `https://${'a'.repeat(MAX_ORIGIN_LENGTH)}.example.com`;
  assert.equal(c.allowed(long), false);
  assert.equal(new OriginChecker(['*']).allowed(long), true, '* allows every origin');
});

test('docs/config.md states the Origin length limit the code uses', async () => {
  const { readFile } = await import('node:fs/promises');
  const doc = await readFile(new URL('../../../docs/config.md', import.meta.url), 'utf8');
  assert.match(doc, new RegExp(`An Origin over ${MAX_ORIGIN_LENGTH} characters matches no pattern`));
});
