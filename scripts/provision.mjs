// What the tests need from outside npm, and how `npm test` gets it on a fresh machine.
//
// Each requirement names the test files that need it (by path prefix), how to tell it is there,
// and the Debian package that provides it. A missing one is installed when this process can
// (root and apt-get), with one line saying so; otherwise the run stops at once with one line
// naming what is missing and the command that installs it. Nothing is skipped silently.
//
// Services the tests need running (redis-server, nats-server, ...) go in the same table with a
// `start` step when a later change adds tests that use them.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** @typedef {{ name: string, why: string, testPrefixes: string[], present: () => boolean, debianPackage: string }} Requirement */

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** @type {Requirement[]} */
export const REQUIREMENTS = [
  {
    name: 'Chromium (/usr/bin/chromium)',
    why: 'the browser tests drive it with playwright-core',
    testPrefixes: ['test/browser/'],
    present: () => executable('/usr/bin/chromium'),
    debianPackage: 'chromium',
  },
];

function canInstall() {
  return typeof process.getuid === 'function' && process.getuid() === 0 && executable('/usr/bin/apt-get');
}

let aptUpdated = false;

/** Runs apt-get quietly, its output in a log file; true on success. */
function apt(args, log) {
  const fd = openSync(log, 'a');
  try {
    const r = spawnSync('apt-get', args, { stdio: ['ignore', fd, fd], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    return r.status === 0;
  } finally {
    closeSync(fd);
  }
}

/**
 * Makes sure every requirement of `files` (test paths relative to the repository) is there.
 * Returns normally when all are; otherwise prints one line and exits the process with 1.
 */
export function provisionFor(files) {
  for (const req of REQUIREMENTS) {
    if (!files.some((f) => req.testPrefixes.some((p) => f.startsWith(p)))) continue;
    if (req.present()) continue;
    const command = `apt-get install -y ${req.debianPackage}`;
    if (!canInstall()) {
      console.error(`provision: ${req.name} is missing (${req.why}); install it with: sudo ${command}`);
      process.exit(1);
    }
    const log = join(tmpdir(), 'rotor-provision-apt.log');
    console.error(`provision: ${req.name} is missing (${req.why}); installing the Debian package ${req.debianPackage} (log: ${log})`);
    const ok = (aptUpdated || (aptUpdated = apt(['update', '-qq'], log))) && apt(['install', '-y', '-qq', req.debianPackage], log);
    if (!ok || !req.present()) {
      console.error(`provision: could not install ${req.debianPackage} (see ${log}); install it with: ${command}`);
      process.exit(1);
    }
  }
}

// Run directly (`node scripts/provision.mjs`, the first step of `npm test`): everything any test needs.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  provisionFor(REQUIREMENTS.flatMap((r) => r.testPrefixes));
}
