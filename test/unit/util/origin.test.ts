import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OriginChecker } from '../../../src/util/origin.js';
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
