/**
 * Engine creation (src/app/engine.ts): the configured implementation is built, types without one
 * are refused naming the key that chose them, and an engine's module is imported only when the
 * config names it (checked in a child process whose module resolution is recorded).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { configSchema, type ConfigInput } from '../../../src/config/schema.js';
import { createEngine } from '../../../src/app/engine.js';
import type { BrokerEventHandler } from '../../../src/engine/types.js';
import type { Publication } from '../../../src/protocol/types.js';
import { runCommand, cleanEnv, TSX } from '../../helpers/cli.js';
import { REPO_ROOT } from '../../helpers/server-process.js';

const configWith = (raw: ConfigInput) => configSchema.parse(raw);

test('the memory engine is built from the config: a publication goes through its broker into history', async () => {
  const { broker, presence } = await createEngine(configWith({}));
  const delivered: Publication[] = [];
  const handler: BrokerEventHandler = {
    handlePublication: (_ch, pub) => void delivered.push(pub),
    handleJoin: () => {},
    handleLeave: () => {},
    handleControl: () => true,
  };
  try {
    await broker.run(handler, 'node-1');
    await broker.subscribe('ch');
    const r = await broker.publish('ch', new TextEncoder().encode('{}'), { history: { size: 5, ttlMs: 60_000, metaTtlMs: 60_000 } });
    assert.equal(r.position.offset, 1);
    assert.equal((await broker.history('ch', { filter: { limit: -1 } })).publications.length, 1);
    await presence.addPresence('ch', 'c1', { user: 'u', client: 'c1' });
    assert.deepEqual(await presence.presenceStats('ch'), { numClients: 1, numUsers: 1 });
  } finally {
    await broker.close();
    await presence.close();
  }
});

test('an engine whose server cannot be reached is refused at start, naming its address', async () => {
  // Port 1 on loopback refuses connections at once.
  const presence = createEngine(configWith({ presence_manager: { enabled: true, type: 'redis', redis: { address: ['redis://127.0.0.1:1'], connect_timeout: '300ms' } } }));
  await assert.rejects(presence, /redis 127\.0\.0\.1:1/);
  const parts = await createEngine(configWith({ engine: { type: 'redis', redis: { address: ['redis://127.0.0.1:1'], connect_timeout: '300ms' } }, presence_manager: { enabled: true, type: 'memory' } }));
  const handler: BrokerEventHandler = { handlePublication: () => {}, handleJoin: () => {}, handleLeave: () => {}, handleControl: () => true };
  try {
    await assert.rejects(parts.broker.run(handler, 'n1'), /redis 127\.0\.0\.1:1/);
  } finally {
    await Promise.all([parts.broker.close(), parts.presence.close()]);
  }
  // A standalone broker section that is not enabled does not count: engine.type decides.
  const memory = await createEngine(configWith({ broker: { type: 'nats' } }));
  await Promise.all([memory.broker.close(), memory.presence.close()]);
});

/**
 * Runs `body` (an ES module's text, top-level await allowed) in a child `node --import tsx` whose
 * every resolved module under src/engine/ is recorded; returns those paths, relative to src/.
 */
async function engineModulesLoadedBy(body: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-engine-load-'));
  try {
    const record = join(dir, 'resolved.txt');
    writeFileSync(record, '');
    const hooks = join(dir, 'hooks.mjs');
    writeFileSync(
      hooks,
      [
        "import { appendFileSync } from 'node:fs';",
        'export async function resolve(specifier, context, next) {',
        '  const r = await next(specifier, context);',
        `  if (r.url.includes('/src/engine/')) appendFileSync(${JSON.stringify(record)}, r.url + '\\n');`,
        '  return r;',
        '}',
      ].join('\n'),
    );
    const register = join(dir, 'register.mjs');
    writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
    const script = join(dir, 'script.mts');
    writeFileSync(script, body);
    const run = await runCommand(process.execPath, ['--import', TSX, '--import', pathToFileURL(register).href, script], { cwd: REPO_ROOT, env: cleanEnv() });
    assert.equal(run.code, 0, `child failed:\n${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /^done$/m, run.stdout);
    const urls = readFileSync(record, 'utf8').split('\n').filter((l) => l !== '');
    return [...new Set(urls.map((u) => u.slice(u.indexOf('/src/') + 5).replace(/\.[jt]s$/, '')))].sort();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const src = (path: string): string => JSON.stringify(pathToFileURL(join(REPO_ROOT, 'src', path)).href);
const CHILD_PRELUDE = `
import { App } from ${src('app/app.ts')};
import { configSchema } from ${src('config/schema.ts')};
const noop = () => {};
const log = { trace: noop, debug: noop, info: noop, warn: noop, error: noop };
const config = configSchema.parse({ http_server: { port: 0, address: '127.0.0.1' } });
`;

test('the engine module is imported only when the config names it: not by App, not when parts.engine is given', async () => {
  const given = await engineModulesLoadedBy(`${CHILD_PRELUDE}
const closed = async () => {};
const broker = { run: async () => {}, subscribe: async () => {}, unsubscribe: async () => {}, publish: async () => ({ position: { offset: 0, epoch: '' }, suppressed: false }),
  publishJoin: async () => {}, publishLeave: async () => {}, publishControl: async () => {}, history: async () => ({ publications: [], position: { offset: 0, epoch: '' } }),
  removeHistory: async () => {}, close: closed };
const presence = { presence: async () => ({}), presenceStats: async () => ({ numClients: 0, numUsers: 0 }), addPresence: async () => {}, removePresence: async () => {}, close: closed };
const app = await App.create(config, log, { engine: { broker, presence } });
await app.start();
await app.stop(100);
console.log('done');
`);
  assert.deepEqual(given.filter((m) => m !== 'engine/types'), [], 'no engine implementation is imported');

  const configured = await engineModulesLoadedBy(`${CHILD_PRELUDE}
const app = await App.create(config, log);
await app.start();
await app.stop(100);
console.log('done');
`);
  assert.ok(configured.includes('engine/memory/broker') && configured.includes('engine/memory/presence'), `memory engine loaded: ${configured.join(', ')}`);
});
