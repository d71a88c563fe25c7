#!/usr/bin/env node
// The package's `prepare` script: npm runs it after `npm install`/`npm ci` in a checkout, before
// `npm pack`, and when `npx rotor` links the checkout into npx's cache.
//
// - In a checkout with TypeScript installed (dev dependencies present): compile src/ to dist/ and
//   build the admin console (scripts/build-admin-ui.mjs), so `npm install && npm start` works on a
//   fresh clone.
// - Under `npx rotor`/`npm exec` with dist/ already built: keep it. npx runs `prepare` only as a
//   side effect of linking the checkout, and a full compile there made the first `npx rotor`
//   silent for about 17 s.
// - Without TypeScript (`npm ci --omit=dev`, or the unpacked tarball, which has no src/): nothing
//   to compile; dist/ must already be there. Says so in one line, or fails with what to do.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = join(root, 'dist', 'cli', 'main.js');
const hasSources = existsSync(join(root, 'tsconfig.json')) && existsSync(join(root, 'src'));

/** The TypeScript compiler's entry when the dev dependency is installed, else undefined. */
function typescriptCompiler() {
  try {
    return createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
  } catch {
    return undefined;
  }
}

const tsc = hasSources ? typescriptCompiler() : undefined;
const underExec = process.env.npm_command === 'exec';

if (tsc !== undefined && !(underExec && existsSync(entry))) {
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  // The admin console (admin-ui/ → dist/admin-ui).
  const ui = spawnSync(process.execPath, [join(root, 'scripts', 'build-admin-ui.mjs')], { cwd: root, stdio: 'inherit' });
  process.exit(ui.status ?? 1);
}
if (existsSync(entry)) {
  console.log(
    tsc !== undefined
      ? 'prepare: dist/ is built; npx and npm exec do not rebuild it (run `npm run build` after changing src/)'
      : 'prepare: TypeScript is not installed (a production install); using the compiled dist/',
  );
  process.exit(0);
}
console.error(
  'prepare: dist/ is missing and TypeScript is not installed: run `npm install` with dev dependencies ' +
    'to build it, or install the tarball made by `npm pack` (see docs/deploying.md)',
);
process.exit(1);
