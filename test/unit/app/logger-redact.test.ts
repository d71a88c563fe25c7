/**
 * The process logger's redaction, on the real logger writing to a `log.file`: secret fields are
 * `[redacted]` at the top of a line, inside an object, inside an error (its own fields and an
 * object among them), two objects down; what is not a secret is written as given, and a secret three
 * objects down is past the paths (the documented limit, so a change of it is seen).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../src/app/logger.js';

/** Logs `fields` once through a fresh process logger and returns the line it wrote, parsed. */
function logged(fields: object): Record<string, unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-logger-'));
  try {
    const file = join(dir, 'rotor.log');
    const log = createLogger('info', file);
    log.info(fields, 'line');
    log.closeSync(Date.now() + 1000);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(lines.length, 1);
    return JSON.parse(lines[0]!) as Record<string, unknown>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const R = '[redacted]';

test('secret fields are redacted at the top of a line and one object down', () => {
  const line = logged({ token: 't', key: 'k', password: 'p', secret: 's', client: 'c1', proxy: { password: 'p', secret: 's', key: 'k', token: 't', name: 'connect' } });
  assert.deepEqual(
    { token: line['token'], key: line['key'], password: line['password'], secret: line['secret'], client: line['client'], proxy: line['proxy'] },
    { token: R, key: R, password: R, secret: R, client: 'c1', proxy: { password: R, secret: R, key: R, token: R, name: 'connect' } },
  );
});

test("an error's own secret fields are redacted, and nested ones; its message (with its cause's) stays", () => {
  const cause = Object.assign(new Error('refused'), { password: 'p-cause' });
  const err = Object.assign(new Error('connect failed', { cause }), { options: { password: 'p-opt', host: 'h' }, secret: 's-err' });
  const line = logged({ err });
  const e = line['err'] as { message: string; secret: string; options: unknown };
  assert.equal(e.message, 'connect failed: refused');
  assert.equal(e.secret, R);
  assert.deepEqual(e.options, { password: R, host: 'h' });
  // pino's error serializer keeps only the cause's message; its fields are not written at all.
  assert.ok(!JSON.stringify(line).includes('p-cause'), JSON.stringify(line));
});

test('two objects down is redacted, three is past the paths', () => {
  const line = logged({ request: { connect: { token: 't2', name: 'n' } }, deep: { a: { b: { token: 't3' } } } });
  assert.deepEqual(line['request'], { connect: { token: R, name: 'n' } });
  assert.deepEqual(line['deep'], { a: { b: { token: 't3' } } });
});
