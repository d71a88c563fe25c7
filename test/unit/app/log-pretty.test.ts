/** Terminal log lines (log-pretty.ts): time, level, message, then the fields; JSON lines otherwise untouched. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PrettyLines, formatRecord } from '../../../src/app/log-pretty.js';

test('log-pretty - a record becomes one readable line; colour only when asked', () => {
  const rec = { level: 'info', time: '2026-12-07T02:30:01.234Z', message: 'client disconnected', client: 'c1', code: 3000, reason: 'connection closed' };
  assert.equal(formatRecord(rec, false), '02:30:01.234 INFO  client disconnected client=c1 code=3000 reason="connection closed"');
  assert.equal(formatRecord(rec, true), '02:30:01.234 \x1b[32mINFO \x1b[0m client disconnected client=c1 code=3000 reason="connection closed"');
  assert.equal(formatRecord({ level: 'error', time: 'x', message: 'm', err: { message: 'boom' } }, false), 'x ERROR m err={"message":"boom"}');
});

test('log-pretty - PrettyLines formats JSON lines and passes anything else as it is', () => {
  const out: string[] = [];
  const p = new PrettyLines({ write: (l) => out.push(l) }, false);
  p.write('{"level":"warn","time":"2026-12-07T02:30:01.234Z","message":"slow"}\n');
  p.write('not json\n');
  assert.deepEqual(out, ['02:30:01.234 WARN  slow\n', 'not json\n']);
});
