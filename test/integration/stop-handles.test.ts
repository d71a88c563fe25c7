import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

/** How long the child may take to exit on its own after stop(), ms. */
const EXIT_WAIT_MS = 15_000;

test('stop() leaves no open handles: a process that started and stopped Rotor exits by itself', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/processes/stop-child.ts'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = await new Promise<number | null>((resolve) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, EXIT_WAIT_MS);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
  const report = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  assert.notEqual(exited, null, `the process did not exit after stop(); still active: ${report ?? '(no report)'} ${err}`);
  assert.equal(exited, 0, err);
  const r = JSON.parse(report ?? '{}') as { open: number; codes: number[]; left: number };
  assert.equal(r.open, 3, 'three connections were open before stop');
  assert.deepEqual(r.codes, [3001, 3001], 'WebSocket clients were told shutdown');
  assert.equal(r.left, 0);
});
