/**
 * The production install path (docs/deploying.md), run the way the Dockerfile runs it: `npm pack`
 * makes the tarball from the built dist/, scripts/production-install.sh (the script the image's
 * runtime stage calls) installs it with `npm ci --omit=dev`, and the server started through the
 * installed `rotor` bin link, with the runtime stage's ENV, passes the Dockerfile's own
 * HEALTHCHECK command, accepts a connection token made by the installed `rotor gentoken`, delivers
 * an API publication, and stops on SIGTERM with exit code 0.
 *
 * npm prefers its cache (`npm_config_prefer_offline`), which `npm ci` or `npm install` of this
 * checkout filled, and asks the registry only for what a cleaned cache lacks. Docker is not needed: the Dockerfile is read for its HEALTHCHECK and ENV.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { within } from '../helpers/error-paths.js';
import { RawClient } from '../helpers/raw-ws.js';
import { REPO_ROOT } from '../helpers/server-process.js';
import { cleanEnv, runCommand as run } from '../helpers/cli.js';

const SECRET = 'production-install-test-secret';
const API_KEY = 'production-install-test-api-key';


// ---------------------------------------------------------------- reading the Dockerfile

/** Dockerfile instructions with `\` continuations joined, one string each. */
function dockerInstructions(): string[] {
  const text = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const out: string[] = [];
  let cur = '';
  for (const line of text.split('\n')) {
    if (cur === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) continue;
    if (line.endsWith('\\')) cur += `${line.slice(0, -1)} `;
    else {
      out.push((cur + line).trim());
      cur = '';
    }
  }
  return out;
}

/** The instructions of the last (runtime) stage. */
function runtimeStage(): string[] {
  const all = dockerInstructions();
  const from = all.map((l) => l.startsWith('FROM ')).lastIndexOf(true);
  return all.slice(from);
}

/** `ENV k=v k2=v2` pairs of the runtime stage. */
function runtimeEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const l of runtimeStage().filter((i) => i.startsWith('ENV '))) {
    for (const pair of l.slice(4).trim().split(/\s+/)) {
      const eq = pair.indexOf('=');
      assert.ok(eq > 0, `ENV in the key=value form: ${l}`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

/** The exec-form command of the runtime stage's HEALTHCHECK. */
function healthcheckCommand(): string[] {
  const hc = runtimeStage().find((l) => l.startsWith('HEALTHCHECK '));
  assert.ok(hc !== undefined, 'the runtime stage has a HEALTHCHECK');
  const m = /\sCMD\s+(\[.*\])$/.exec(hc);
  assert.ok(m !== null, `HEALTHCHECK uses the exec form: ${hc}`);
  const argv: unknown = JSON.parse(m[1]!);
  assert.ok(Array.isArray(argv) && argv.every((a) => typeof a === 'string'));
  return argv as string[];
}

// ---------------------------------------------------------------- the install, once

const work = mkdtempSync(join(tmpdir(), 'rotor-production-install-'));
const installDir = join(work, 'opt', 'rotor');
const binDir = join(work, 'bin');
let packedFiles: string[] = [];

before(async () => {
  assert.ok(
    existsSync(join(REPO_ROOT, 'dist', 'cli', 'main.js')),
    'dist/ is not built: `npm ci` or `npm install` builds it (or run `npm run build`)',
  );
  // The Dockerfile packs after `npm run build` the same way: scripts ignored, dist/ as built.
  const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: REPO_ROOT });
  assert.equal(pack.code, 0, `npm pack failed:\n${pack.stderr}`);
  const [packed] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  assert.ok(packed !== undefined);
  packedFiles = packed.files.map((f) => f.path);

  const install = await run(
    'sh',
    [join(REPO_ROOT, 'scripts', 'production-install.sh'), join(work, packed.filename), join(REPO_ROOT, 'package-lock.json'), installDir, binDir],
    { cwd: work, env: cleanEnv({ npm_config_prefer_offline: 'true' }), timeout: 120_000 },
  );
  assert.equal(
    install.code,
    0,
    `production-install.sh failed (ENOTCACHED means npm's cache lacks a runtime dependency: run \`npm ci\` first):\n${install.stdout}\n${install.stderr}`,
  );
});

after(() => rmSync(work, { recursive: true, force: true }));

test('the Dockerfile installs with scripts/production-install.sh, the script this test runs', () => {
  const runs = runtimeStage().filter((l) => l.startsWith('RUN '));
  assert.ok(runs.some((l) => /\bproduction-install\.sh\b/.test(l)), `runtime stage RUN lines:\n${runs.join('\n')}`);
  assert.ok(
    dockerInstructions().some((l) => l.startsWith('RUN ') && l.includes('npm pack --ignore-scripts')),
    'the build stage packs as this test does',
  );
});

test('the tarball holds dist/, the prepare script and the docs, and no sources, tests or development config', () => {
  for (const f of ['package.json', 'README.md', 'dist/cli/main.js', 'scripts/prepare.mjs', 'docs/config.md', 'docs/deploying.md']) {
    assert.ok(packedFiles.includes(f), `${f} is packed`);
  }
  for (const f of packedFiles) {
    assert.ok(!/^(src|test|bench|examples)\//.test(f) && f !== 'config.json' && f !== 'tsconfig.json', `${f} is not packed`);
  }
});

test('the installed tree has every runtime dependency of the lock file and no dev dependency', () => {
  const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; optional?: boolean; devOptional?: boolean }>;
  };
  let runtime = 0;
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '') continue;
    if (entry.dev === true || entry.devOptional === true) {
      assert.ok(!existsSync(join(installDir, path)), `dev dependency ${path} is not installed`);
    } else if (entry.optional !== true) {
      assert.ok(existsSync(join(installDir, path, 'package.json')), `runtime dependency ${path} is installed`);
      runtime++;
    }
  }
  assert.ok(runtime > 0);
  assert.ok(!existsSync(join(installDir, 'node_modules', 'typescript')));
  assert.ok(!existsSync(join(installDir, 'src')));
});

test('the installed `rotor` serves: Dockerfile HEALTHCHECK, gentoken token over WebSocket, API publish, the admin console, SIGTERM', async () => {
  const config = join(work, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      http_server: { port: 0, address: '127.0.0.1' },
      client: { token: { hmac_secret_key: SECRET } },
      http_api: { key: API_KEY },
      admin: { enabled: true, password: 'install-admin-password', secret: 'install-admin-secret' },
      channel: { namespaces: [{ name: 'chat', allow_subscribe_for_client: true, history_size: 10, history_ttl: '60s' }] },
    }),
  );
  const rotor = join(binDir, 'rotor');
  // The image's environment, as `docker run` gives it; health is enabled there, not in the file.
  const serverEnv = cleanEnv(runtimeEnv());
  assert.equal(serverEnv.CENTRIFUGO_HEALTH_ENABLED, 'true');
  const [hcCmd, ...hcArgs] = healthcheckCommand();

  const token = await run(rotor, ['gentoken', '-c', config, '-u', 'alice', '-q'], { cwd: work });
  assert.equal(token.code, 0, token.stderr);

  const server = spawn(rotor, ['-c', config], { cwd: work, env: serverEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const port = await startedLine(server);
    // The image's URL with this run's port: the path is the Dockerfile's (the liveness path).
    const imageUrl = new URL(runtimeEnv()['HEALTHCHECK_URL']!);
    assert.equal(imageUrl.pathname, '/health/live', 'the image checks liveness, not readiness');
    imageUrl.port = String(port);
    const imageEnv = cleanEnv({ ...runtimeEnv(), HEALTHCHECK_URL: imageUrl.href });
    const healthy = await run(hcCmd!, hcArgs, { cwd: work, env: imageEnv });
    assert.equal(healthy.code, 0, `HEALTHCHECK while serving: ${healthy.stderr}`);

    const client = await RawClient.open(`ws://127.0.0.1:${port}/connection/websocket`);
    const connected = (await client.connect(token.stdout.trim())) as { connect?: { client?: unknown } };
    assert.equal(typeof connected.connect?.client, 'string');
    client.send({ id: 2, subscribe: { channel: 'chat:index' } });
    assert.deepEqual(await client.next((m: { id?: number }) => m.id === 2), { id: 2, subscribe: {} });

    const res = await fetch(`http://127.0.0.1:${port}/api/publish`, {
      method: 'POST',
      headers: { 'X-API-Key': API_KEY },
      body: JSON.stringify({ channel: 'chat:index', data: { text: 'hello' } }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { result?: { offset?: number } };
    assert.equal(body.result?.offset, 1);
    const push = (await client.next((m: { push?: unknown }) => m.push !== undefined)) as { push: unknown };
    assert.deepEqual(push.push, { channel: 'chat:index', pub: { data: { text: 'hello' }, offset: 1 } });

    // The admin console ships in the package: its page and every file it names, from this origin
    // only (no CDN), under a same-origin Content Security Policy.
    const page = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    const html = await page.text();
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!).filter((r) => !r.startsWith('data:'));
    assert.ok(refs.length >= 2, `the page names its script and style: ${refs.join(', ')}`);
    for (const ref of refs) {
      assert.ok(!/^[a-z]+:|^\/\//i.test(ref), `${ref} is served by Rotor, not another origin`);
      assert.equal((await fetch(`http://127.0.0.1:${port}/${ref}`)).status, 200, `${ref} is in the package`);
    }

    const exit = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    server.kill('SIGTERM');
    assert.equal(await within(exit, 30_000, 'the exit after SIGTERM'), 0, 'graceful stop on SIGTERM exits 0');
    const unhealthy = await run(hcCmd!, hcArgs, { cwd: work, env: imageEnv });
    assert.equal(unhealthy.code, 1, 'HEALTHCHECK fails once the server is gone');
  } finally {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
  }
});

/**
 * Resolves with the port of the server's "Rotor … started" log line; rejects if it exits first.
 * The 30 s bound only turns a hang into a failure.
 */
function startedLine(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no "started" line within 30 s:\n${out}`)), 30_000);
    const onData = (d: string): void => {
      out += d;
      const started = /"port":(\d+),"message":"Rotor [^"]* started"/.exec(out);
      if (started !== null) {
        clearTimeout(timer);
        resolve(Number(started[1]));
      }
    };
    child.stdout!.setEncoding('utf8').on('data', onData);
    child.stderr!.setEncoding('utf8').on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before starting:\n${out}`));
    });
  });
}
