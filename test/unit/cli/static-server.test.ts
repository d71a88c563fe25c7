/** The `rotor serve` static file server: files, index and listings, redirects, and containment. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanUrlPath, createStaticServer } from '../../../src/cli/static-server.js';

interface Res {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

let server: Server;
let port: number;
const base = mkdtempSync(join(tmpdir(), 'rotor-static-'));
const root = join(base, 'www');

/** Raw request: the path is sent exactly as given (no client-side `..` normalisation). */
function send(path: string, method = 'GET'): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  mkdirSync(join(root, 'docs'), { recursive: true });
  mkdirSync(join(root, 'site'));
  writeFileSync(join(root, 'app.js'), 'console.log(1);\n');
  writeFileSync(join(root, 'docs', 'a <b>.txt'), 'a\n');
  writeFileSync(join(root, 'site', 'index.html'), '<h1>site</h1>\n');
  writeFileSync(join(base, 'secret.txt'), 'secret\n');
  symlinkSync(join(base, 'secret.txt'), join(root, 'escape.txt'));
  symlinkSync(join(root, 'app.js'), join(root, 'inside.js'));
  server = await createStaticServer(root);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

test('static - files with content type and length; HEAD sends headers only', async () => {
  const r = await send('/app.js');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(r.headers['content-length'], '16');
  assert.equal(r.body, 'console.log(1);\n');
  const h = await send('/app.js', 'HEAD');
  assert.equal(h.status, 200);
  assert.equal(h.body, '');
  assert.equal((await send('/inside.js')).status, 200, 'a symlink inside the directory is followed');
});

test('static - directories: index.html, a listing with escaped names, trailing-slash redirect', async () => {
  assert.equal((await send('/site/')).body, '<h1>site</h1>\n');
  const redirect = await send('/site?x=1');
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers['location'], 'site/?x=1');
  const list = await send('/docs/');
  assert.equal(list.status, 200);
  assert.ok(list.body.includes('<a href="a%20%3Cb%3E.txt">a &#60;b&#62;.txt</a>'), list.body);
  assert.ok(!list.body.includes('<b>'), 'names are escaped');
  assert.equal((await send('/docs/a%20%3Cb%3E.txt')).body, 'a\n');
});

test('static - nothing outside the directory is reachable', async () => {
  for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/docs/..%2f..%2fsecret.txt', '/docs/%2e%2e/%2e%2e/secret.txt', '/escape.txt', '//secret.txt']) {
    const r = await send(path);
    assert.equal(r.status, 404, path);
    assert.ok(!r.body.includes('secret'), path);
  }
  assert.equal((await send('/%00')).status, 400);
  assert.equal((await send('/%E0%A4%A')).status, 400);
  assert.equal((await send('/missing.txt')).status, 404);
});

test('static - only GET and HEAD', async () => {
  const r = await send('/app.js', 'POST');
  assert.equal(r.status, 405);
  assert.equal(r.headers['allow'], 'GET, HEAD');
});

test('static - URL paths normalise against the root', () => {
  assert.equal(cleanUrlPath('/a/../../b'), '/b');
  assert.equal(cleanUrlPath('/%2e%2e/%2e%2e/etc/passwd'), '/etc/passwd');
  assert.equal(cleanUrlPath('/a%2f..%2f..%2fb'), '/b');
  assert.equal(cleanUrlPath('//etc/passwd?x=1'), '/etc/passwd');
  assert.equal(cleanUrlPath('/%zz'), undefined);
});
