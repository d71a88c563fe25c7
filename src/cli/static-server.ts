/**
 * The development static file server behind `rotor serve` (Centrifugo's `serve` command, which
 * wraps Go's `http.FileServer`): GET and HEAD of the files under one directory, `index.html` for
 * a directory or else a listing, and a redirect adding the trailing slash to directory URLs.
 *
 * Nothing outside the directory is reachable: the URL path is decoded, normalised against `/`
 * (so `..` stops at the root) and the resolved real path (symlinks followed) must still lie
 * under the directory's real path; anything else is 404. For development only: no caching
 * headers, ranges or compression.
 */
import { createReadStream, promises as fsp } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, posix, sep } from 'node:path';

/** Content types by file extension; anything else is served as application/octet-stream. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
};
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const INDEX_FILE = 'index.html';

/** Status lines and bodies, in Go's wording. */
const RESPONSES = {
  badRequest: { status: 400, body: '400 bad request\n' },
  forbidden: { status: 403, body: '403 Forbidden\n' },
  notFound: { status: 404, body: '404 page not found\n' },
  methodNotAllowed: { status: 405, body: '405 method not allowed\n' },
  internal: { status: 500, body: '500 Internal Server Error\n' },
} as const;

type Canned = (typeof RESPONSES)[keyof typeof RESPONSES];

function reply(res: ServerResponse, r: Canned, headers: Record<string, string> = {}): void {
  res.writeHead(r.status, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff', ...headers });
  res.end(r.body);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/**
 * A request target split into its (still encoded) path and its `?query`. Origin-form targets are
 * split by hand, so `//x` stays a path (WHATWG URL parsing would read `x` as a host).
 */
function splitTarget(rawUrl: string): { path: string; search: string } {
  if (!rawUrl.startsWith('/')) {
    try {
      const u = new URL(rawUrl);
      return { path: u.pathname, search: u.search };
    } catch {
      return { path: '/', search: '' };
    }
  }
  const q = rawUrl.indexOf('?');
  return q === -1 ? { path: rawUrl, search: '' } : { path: rawUrl.slice(0, q), search: rawUrl.slice(q) };
}

/** Request target ⇒ a normalised absolute path (`/a/b`), or undefined when it cannot be decoded. */
export function cleanUrlPath(rawUrl: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(splitTarget(rawUrl).path);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  return posix.normalize(`/${decoded}`);
}

function isInside(root: string, real: string): boolean {
  return real === root || real.startsWith(root.endsWith(sep) ? root : root + sep);
}

async function listing(res: ServerResponse, dir: string, head: boolean): Promise<void> {
  const entries = await fsp.readdir(dir, { withFileTypes: true });
  const names = entries.map((e) => ({ name: e.name, suffix: e.isDirectory() ? '/' : '' })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const items = names
    .map(({ name, suffix }) => `<a href="${escapeHtml(encodeURIComponent(name) + suffix)}">${escapeHtml(name + suffix)}</a>\n`)
    .join('');
  const body = `<!doctype html>\n<meta name="viewport" content="width=device-width">\n<pre>\n${items}</pre>\n`;
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(head ? undefined : body);
}

function sendFile(res: ServerResponse, file: string, size: number, mtime: Date, head: boolean): void {
  res.writeHead(200, {
    'Content-Type': CONTENT_TYPES[extname(file).toLowerCase()] ?? DEFAULT_CONTENT_TYPE,
    'Content-Length': size,
    'Last-Modified': mtime.toUTCString(),
  });
  if (head) {
    res.end();
    return;
  }
  const stream = createReadStream(file);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

async function handle(rootReal: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    reply(res, RESPONSES.methodNotAllowed, { Allow: 'GET, HEAD' });
    return;
  }
  const head = req.method === 'HEAD';
  const urlPath = cleanUrlPath(req.url ?? '/');
  if (urlPath === undefined) {
    reply(res, RESPONSES.badRequest);
    return;
  }
  let real: string;
  try {
    real = await fsp.realpath(join(rootReal, urlPath));
  } catch (err) {
    reply(res, (err as NodeJS.ErrnoException).code === 'EACCES' ? RESPONSES.forbidden : RESPONSES.notFound);
    return;
  }
  if (!isInside(rootReal, real)) {
    reply(res, RESPONSES.notFound);
    return;
  }
  const st = await fsp.stat(real);
  if (st.isDirectory()) {
    const target = splitTarget(req.url ?? '/');
    if (!target.path.endsWith('/')) {
      // Relative to the current one, as Go's FileServer does: `/a/b` ⇒ `b/`, never a host.
      const last = target.path.slice(target.path.lastIndexOf('/') + 1);
      res.writeHead(301, { Location: `${last}/${target.search}` });
      res.end();
      return;
    }
    const index = join(real, INDEX_FILE);
    const ist = await fsp.stat(index).catch(() => undefined);
    if (ist?.isFile() === true) sendFile(res, index, ist.size, ist.mtime, head);
    else await listing(res, real, head);
    return;
  }
  if (!st.isFile()) {
    reply(res, RESPONSES.notFound);
    return;
  }
  sendFile(res, real, st.size, st.mtime, head);
}

/** An HTTP server serving `dir` (not yet listening). Throws when `dir` is not a directory. */
export async function createStaticServer(dir: string): Promise<Server> {
  const rootReal = await fsp.realpath(dir);
  if (!(await fsp.stat(rootReal)).isDirectory()) throw new Error(`"${dir}" is not a directory`);
  return createServer((req, res) => {
    handle(rootReal, req, res).catch((err: unknown) => {
      const code = (err as NodeJS.ErrnoException).code;
      if (res.headersSent) res.destroy();
      else reply(res, code === 'EACCES' ? RESPONSES.forbidden : code === 'ENOENT' ? RESPONSES.notFound : RESPONSES.internal);
    });
  });
}
