/**
 * Serves the admin console (`admin.enabled`): the page at `<handler_prefix>/` and its files under
 * `<handler_prefix>/assets/`, from the build in dist/admin-ui (admin-ui/ in the repository,
 * scripts/build-admin-ui.mjs), or from `admin.web_path` when set (a console of one's own). Files
 * are read at startup; names are plain (no path), so nothing outside the directory is reachable.
 * Every answer carries a Content Security Policy allowing only this origin, no inline script, no
 * framing.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HttpListener } from '../http/server.js';

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};
const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The built console's directory: beside the compiled module, or dist/ when running from src/. */
export function builtConsoleDir(): string | undefined {
  for (const rel of ['../admin-ui', '../../dist/admin-ui']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

/**
 * Mounts the console under `prefix`. Throws when `dir` has no index.html (a `web_path` that is
 * not a console, or a checkout whose console was not built), naming what to do.
 */
export function mountConsole(listener: HttpListener, prefix: string, dir: string | undefined, key: string): void {
  if (dir === undefined || !existsSync(join(dir, 'index.html'))) {
    throw new Error(`${key}: no admin console at ${dir ?? 'dist/admin-ui'} (index.html missing); run \`npm run build\`, or point admin.web_path at a built console`);
  }
  const page = readFileSync(join(dir, 'index.html'));
  const assetsDir = join(dir, 'assets');
  const assets = new Map<string, { type: string; body: Buffer }>();
  if (existsSync(assetsDir)) {
    for (const name of readdirSync(assetsDir)) {
      const type = TYPES[extname(name)];
      if (type !== undefined && PLAIN_NAME.test(name)) assets.set(name, { type, body: readFileSync(join(assetsDir, name)) });
    }
  }
  const base = prefix.replace(/\/+$/, '');
  if (base !== '') {
    listener.route(base, (_req, res) => {
      res.writeHead(301, { Location: `${base}/` });
      res.end();
    });
  }
  listener.route(`${base}/`, (req, res) => (req.method === 'GET' || req.method === 'HEAD' ? send(res, 200, TYPES['.html']!, page) : send(res, 405, 'text/plain', 'method not allowed\n')));
  const assetsPath = `${base}/assets`;
  listener.route(
    assetsPath,
    (req, res, path) => {
      const a = assets.get(path.slice(assetsPath.length + 1));
      if (a === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) return send(res, 404, 'text/plain', '404 page not found\n');
      send(res, 200, a.type, a.body);
    },
    true,
  );
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' });
  res.end(body);
}
