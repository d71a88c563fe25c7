/**
 * Logs on a terminal: when stdout is a TTY (and no `log.file` is set) the server writes readable
 * lines (`HH:MM:SS.mmm LEVEL message key=value`) instead of JSON. A real server process under a
 * pseudo-terminal from util-linux's `script`, with NO_COLOR so the text compares plainly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { REPO_ROOT, freePort, tempDir } from '../helpers/server-process.js';
import { cleanEnv } from '../helpers/cli.js';

test('on a terminal the server logs readable lines, not JSON', { timeout: 60_000 }, async () => {
  const tmp = tempDir();
  const port = await freePort();
  const config = tmp.file('config.json', { http_server: { address: '127.0.0.1', port }, log: { level: 'info' } });
  const command = [process.execPath, '--import', 'tsx', 'src/cli/main.ts', '-c', config].map((a) => `'${a}'`).join(' ');
  // -q: no banner; -e: the command's exit status; -f: flush as written; the typescript goes nowhere.
  const child = spawn('script', ['-qefc', command, '/dev/null'], { cwd: REPO_ROOT, env: cleanEnv({ NO_COLOR: '1' }), stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    // Serving once the port answers at all (404 for /); the lines about it were written before.
    for (;;) {
      const up = await fetch(`http://127.0.0.1:${port}/`).then(
        () => true,
        () => false,
      );
      if (up) break;
      if (child.exitCode !== null) assert.fail(`the server exited:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
    tmp.cleanup();
  }
  const lines = out.split(/\r?\n/).filter((l) => l.trim() !== '');
  assert.ok(lines.some((l) => /^\d\d:\d\d:\d\d\.\d{3} INFO +\S/.test(l)), `a readable INFO line:\n${out}`);
  assert.ok(!lines.some((l) => l.trimStart().startsWith('{')), `no JSON line:\n${out}`);
  assert.ok(!/\x1b\[/.test(out), 'NO_COLOR: no colour codes');
});
