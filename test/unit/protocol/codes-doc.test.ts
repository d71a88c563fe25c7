import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderErrorsMarkdown } from '../../../src/protocol/codes-doc.js';
import { ApiStatus } from '../../../src/api/statuses.js';
import { ApiErrorCode, DisconnectCode, ErrorCode, UnsubscribeCode, disconnectReconnects } from '../../../src/protocol/codes.js';

test('docs/errors.md is generated from the code tables (run `npm run docs` after changing codes)', () => {
  const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  assert.equal(doc, renderErrorsMarkdown(Object.values(ApiStatus)));
});

test('every code appears in docs/errors.md', () => {
  const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  for (const t of [ErrorCode, DisconnectCode, UnsubscribeCode, ApiErrorCode]) {
    for (const e of Object.values(t)) assert.match(doc, new RegExp(`\\| ${e.code} \\|`), `code ${e.code} missing`);
  }
});

test('disconnect table reconnect flags follow the code ranges', () => {
  for (const d of Object.values(DisconnectCode)) assert.equal(d.reconnect, disconnectReconnects(d.code), `code ${d.code}`);
  assert.equal(disconnectReconnects(4000), true);
  assert.equal(disconnectReconnects(4500), false);
});

test('codes are unique within each table', () => {
  for (const t of [ErrorCode, DisconnectCode, UnsubscribeCode, ApiErrorCode]) {
    const codes = Object.values(t).map((e) => e.code);
    assert.equal(new Set(codes).size, codes.length);
  }
});
