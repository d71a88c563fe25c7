/**
 * Rotor as an npm user gets it: the sources compiled into a package directory of its own (not the
 * checkout's dist/, which other work may be rebuilding), packed with `npm pack`, installed from the
 * tarball into a fresh project with `npm install` (npm's cache first, `npm_config_prefer_offline`,
 * as production-install.test.ts does), and then:
 *
 * - type-checked: a TypeScript consumer imports `rotor` by name and compiles against the shipped
 *   declarations; misuses marked `@ts-expect-error` must be errors, so the types are real ones;
 * - run: a module of that project re-exports `rotor`, resolved by name from there, and this test
 *   starts the server through it and drives it with the official `centrifuge` SDK over a real
 *   WebSocket (connect, subscribe, publish from code, receive; a hook refusing a subscribe).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { Centrifuge } from 'centrifuge';
import { REPO_ROOT } from '../helpers/server-process.js';
import { cleanEnv, runCommand as run } from '../helpers/cli.js';
import { connToken, SECRET } from '../helpers/server.js';
import { wrapClient } from '../helpers/sdk.js';

/** The package's API, typed from the sources it was built from. */
type RotorModule = typeof import('../../src/index.js');

const TSC = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const work = mkdtempSync(join(tmpdir(), 'rotor-embedding-package-'));
const pkgDir = join(work, 'pkg');
const appDir = join(work, 'app');

before(async () => {
  // What `npm run build` and `npm pack` would ship, from a copy: the compiled sources and the
  // files package.json lists.
  mkdirSync(join(pkgDir, 'scripts'), { recursive: true });
  const build = await run(process.execPath, [TSC, '-p', join(REPO_ROOT, 'tsconfig.json'), '--outDir', join(pkgDir, 'dist')], { cwd: REPO_ROOT, timeout: 180_000 });
  assert.equal(build.code, 0, `tsc failed:\n${build.stdout}\n${build.stderr}`);
  for (const f of ['package.json', 'README.md', 'scripts/prepare.mjs']) cpSync(join(REPO_ROOT, f), join(pkgDir, f));
  cpSync(join(REPO_ROOT, 'docs'), join(pkgDir, 'docs'), { recursive: true });
  const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: pkgDir });
  assert.equal(pack.code, 0, `npm pack failed:\n${pack.stderr}`);
  const [packed] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  assert.ok(packed !== undefined);
  const files = packed.files.map((f) => f.path);
  for (const f of ['dist/index.js', 'dist/index.d.ts', 'docs/embedding.md']) assert.ok(files.includes(f), `${f} is packed`);

  mkdirSync(appDir);
  writeFileSync(
    join(appDir, 'package.json'),
    JSON.stringify({ name: 'rotor-embedder', version: '1.0.0', private: true, type: 'module', dependencies: { rotor: `file:../${packed.filename}` } }, null, 2),
  );
  const install = await run('npm', ['install', '--no-audit', '--no-fund'], {
    cwd: appDir,
    env: cleanEnv({ npm_config_prefer_offline: 'true' }),
    timeout: 180_000,
  });
  assert.equal(install.code, 0, `npm install failed (ENOTCACHED: npm's cache lacks a dependency; run \`npm ci\` first):\n${install.stdout}\n${install.stderr}`);
  writeFileSync(join(appDir, 'entry.mjs'), "export * from 'rotor';\nexport const resolved = import.meta.resolve('rotor');\n");
});

after(() => rmSync(work, { recursive: true, force: true }));

test('a TypeScript consumer compiles against the installed package; misuses are type errors', async () => {
  writeFileSync(
    join(appDir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        strict: true,
        noEmit: true,
        types: ['node'],
        typeRoots: [join(REPO_ROOT, 'node_modules', '@types')],
      },
      files: ['consumer.ts'],
    }),
  );
  writeFileSync(
    join(appDir, 'consumer.ts'),
    `import { startRotor, ReplyError, DisconnectError, type Rotor, type RotorHooks, type PublishResult } from 'rotor';

const hooks: RotorHooks = {
  async connecting(e) {
    if (e.headers.cookie === 'session=x') return { user: 'x', info: { name: 'X' } };
    if (e.token === '') throw new DisconnectError({ code: 4501, reason: 'no credentials' });
    return undefined;
  },
  async subscribing(e) {
    const user: string = e.client.user;
    if (e.channel === 'secret' && user !== 'admin') throw new ReplyError(4003, 'members only');
  },
};
const rotor: Rotor = await startRotor({ config: { http_server: { port: 0 }, channel: { namespaces: [{ name: 'chat' }] } }, hooks });
const r: PublishResult = await rotor.publish('chat:index', { a: 1 }, { tags: { k: 'v' } });
const offset: number | undefined = r.offset;
const info: Record<string, unknown> = await rotor.api('info');
// @ts-expect-error the channel is a string
await rotor.publish(42, {});
// @ts-expect-error config values are typed: a port is a number
await startRotor({ config: { http_server: { port: { no: 1 } } } });
// @ts-expect-error hooks return promises of their result type
const wrong: RotorHooks = { subscribing: async () => 'yes' };
// @ts-expect-error modules other than the entry point are not exported
await import('rotor/dist/app/app.js');
console.log(offset, info, wrong);
await rotor.stop();
`,
  );
  const tsc = await run(process.execPath, [TSC, '-p', join(appDir, 'tsconfig.json')], { cwd: appDir, timeout: 120_000 });
  assert.equal(tsc.code, 0, `the consumer does not compile:\n${tsc.stdout}\n${tsc.stderr}`);
});

test('imported by name from the installed package: the SDK connects, receives a publication made in code, and gets a hook refusal', async () => {
  const entry = (await import(pathToFileURL(join(appDir, 'entry.mjs')).href)) as RotorModule & { resolved: string };
  assert.equal(entry.resolved, pathToFileURL(join(appDir, 'node_modules', 'rotor', 'dist', 'index.js')).href, 'rotor resolves to the installed package');
  const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  assert.equal(entry.VERSION, version);

  const noop = (): void => {};
  const rotor = await entry.startRotor({
    config: {
      http_server: { port: 0, address: '127.0.0.1' },
      client: { token: { hmac_secret_key: SECRET } },
      http_api: { disabled: true },
      channel: { namespaces: [{ name: 'chat', allow_subscribe_for_client: true }] },
    },
    hooks: {
      async subscribing(e) {
        if (e.channel === 'chat:secret') throw new entry.ReplyError(4003, 'members only');
      },
    },
    log: { trace: noop, debug: noop, info: noop, warn: noop, error: noop },
  });
  const client = wrapClient(new Centrifuge(`ws://127.0.0.1:${rotor.port}/connection/websocket`, { websocket: WebSocket, token: await connToken('erin') }));
  try {
    await client.connect();
    const { events } = await client.subscribe('chat:index');
    await rotor.publish('chat:index', { from: 'code' });
    assert.deepEqual((await events.next('publication')).data, { from: 'code' });

    const secret = client.newSub('chat:secret');
    secret.sub.subscribe();
    const refused = await secret.events.next('unsubscribed');
    assert.deepEqual([refused.code, refused.reason], [4003, 'members only']);
  } finally {
    client.c.disconnect();
    await rotor.stop(2000);
  }
});
