#!/usr/bin/env node
// Builds the admin console into dist/admin-ui: the TypeScript in admin-ui/src compiled by tsc
// (ES modules the browser loads as they are; no bundler) into dist/admin-ui/assets, and the
// static files (index.html, style.css) copied beside them. Run by `npm run build` and by the
// prepare script; needs the TypeScript dev dependency.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'admin-ui', 'tsconfig.json')], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
const out = join(root, 'dist', 'admin-ui');
mkdirSync(join(out, 'assets'), { recursive: true });
copyFileSync(join(root, 'admin-ui', 'static', 'index.html'), join(out, 'index.html'));
copyFileSync(join(root, 'admin-ui', 'static', 'style.css'), join(out, 'assets', 'style.css'));
