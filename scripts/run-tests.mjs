#!/usr/bin/env node
// Runs the whole suite with node:test. Node 20's `node --test` does not expand globs, so the
// file list is built here. Usage: node scripts/run-tests.mjs [substring filters...]
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';
import { provisionFor, startServicesFor } from './provision.mjs';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

let files = walk(join(root, 'test'), []).sort();
if (filters.length > 0) files = files.filter((f) => filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error('run-tests: no test files matched');
  process.exit(1);
}
// An engine the integration suites cannot run on stops the run here, with the one line of
// test/helpers/test-engine.ts, rather than once per test file. Unset means memory: nothing to check.
if ((process.env.TEST_ENGINE ?? '') !== '') {
  const { tsImport } = await import('tsx/esm/api');
  const { testEngineFor } = await tsImport('../test/helpers/test-engine.ts', import.meta.url);
  const engine = testEngineFor(process.env.TEST_ENGINE);
  if (typeof engine === 'string') {
    console.error(engine);
    process.exit(1);
  }
}
// Chromium, redis-server and the like: installed here when missing and possible, or one line saying how.
provisionFor(files);
// Redis and NATS for the files that need them (docs/testing.md): the machine's own, or private
// ones for this run (ended with it), their URLs exported as ROTOR_TEST_REDIS_URL / ROTOR_TEST_NATS_URL.
const services = await startServicesFor(files);
const args = ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-concurrency=${process.env.TEST_CONCURRENCY ?? '2'}`, ...files];
const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });
// A signal sent to this process alone reaches the tests too; the run then ends with them.
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  services.stop();
  process.exit(signal ? 1 : (code ?? 1));
});
