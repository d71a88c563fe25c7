// What the tests need from outside npm, and how `npm test` gets it on a fresh machine.
//
// Each requirement says which test files need it (`neededBy`, a path relative to the
// repository), how to tell it is there, and the Debian package that provides it. A missing one is
// installed when this process can (root and apt-get), with one line saying so; otherwise the run
// stops at once with one line naming what is missing and the command that installs it. Nothing is
// skipped silently.
//
// The services a run shares (Redis, NATS) are decided by startServicesFor() below, which
// scripts/run-tests.mjs calls after provisionFor(): docs/testing.md, "Redis and NATS".
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, openSync, closeSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** @typedef {{ name: string, why: string, neededBy: (file: string) => boolean, present: () => boolean, debianPackage: string }} Requirement */
/** @typedef {'redis' | 'nats'} ServiceName */

const root = new URL('..', import.meta.url).pathname;

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The path of `binary` on PATH or in an sbin directory (Debian puts nats-server in /usr/sbin), or undefined. */
export function findBinary(binary) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  return dirs.map((d) => join(d, binary)).find(executable);
}

/**
 * The services a test file needs (docs/testing.md): Redis when its path contains `redis`, NATS
 * when it contains `nats`, both for test/contract/ (every engine's suites), the engine
 * TEST_ENGINE names for every file, and what a `test-services: redis, nats` comment in the file
 * lists (for files whose path says nothing, such as a multi-node test).
 * @param {string} file a path relative to the repository
 * @returns {Set<ServiceName>}
 */
export function servicesFor(file) {
  /** @type {Set<ServiceName>} */
  const out = new Set();
  const add = (/** @type {string} */ name) => {
    if (name === 'redis' || name === 'nats') out.add(name);
  };
  if (file.includes('redis')) add('redis');
  if (file.includes('nats')) add('nats');
  if (file.startsWith('test/contract/')) ['redis', 'nats'].forEach(add);
  add(process.env.TEST_ENGINE ?? '');
  let text = '';
  try {
    text = readFileSync(join(root, file), 'utf8');
  } catch {
    /* not a file (provision run directly lists no files) */
  }
  for (const m of text.matchAll(/test-services:\s*([a-z][a-z ,]*)/g)) m[1].split(/[ ,]+/).forEach(add);
  return out;
}

/** @type {Requirement[]} */
export const REQUIREMENTS = [
  {
    name: 'Chromium (/usr/bin/chromium)',
    why: 'the browser tests drive it with playwright-core',
    neededBy: (f) => f.startsWith('test/browser/'),
    present: () => executable('/usr/bin/chromium'),
    debianPackage: 'chromium',
  },
  {
    name: 'redis-server',
    why: 'the Redis tests start real Redis servers, Sentinels and clusters',
    neededBy: (f) => servicesFor(f).has('redis'),
    present: () => findBinary('redis-server') !== undefined,
    debianPackage: 'redis-server',
  },
  {
    name: 'script (util-linux)',
    why: 'the terminal log test runs a server under the pseudo-terminal `script` gives',
    neededBy: (f) => f === 'test/integration/log-tty.test.ts',
    present: () => findBinary('script') !== undefined,
    debianPackage: 'bsdutils',
  },
  {
    name: 'nats-server',
    why: 'the NATS tests start real NATS servers',
    neededBy: (f) => servicesFor(f).has('nats'),
    present: () => findBinary('nats-server') !== undefined,
    debianPackage: 'nats-server',
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
 * Makes sure every requirement of `files` (test paths relative to the repository; undefined for
 * every requirement) is there. Returns normally when all are; otherwise prints one line and exits
 * the process with 1.
 * @param {string[] | undefined} files
 */
export function provisionFor(files) {
  for (const req of REQUIREMENTS) {
    if (files !== undefined && !files.some((f) => req.neededBy(f))) continue;
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

// --- The run's shared Redis and NATS -------------------------------------------------------

function fail(line) {
  console.error(line);
  process.exit(1);
}

/** The first line (without CRLF) a server sends after `request`, or undefined: refused, closed or silent for `timeoutMs`. */
function firstLine(host, port, request, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    let got = '';
    const done = (v) => {
      clearTimeout(timer);
      s.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    s.setEncoding('utf8');
    s.on('connect', () => {
      if (request !== '') s.write(request);
    });
    s.on('data', (d) => {
      got += d;
      const i = got.indexOf('\r\n');
      if (i >= 0) done(got.slice(0, i));
    });
    s.on('error', () => done(undefined));
    s.on('close', () => done(undefined));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (s.address());
      s.close(() => resolve(port));
    });
  });
}

/**
 * Each service: the variable the tests read (test/helpers/services.ts), where the machine's own
 * server listens, why a server cannot serve ('' when it can), and how to start a private one.
 */
const SERVICES = {
  redis: {
    label: 'Redis',
    envVar: 'ROTOR_TEST_REDIS_URL',
    defaultUrl: 'redis://127.0.0.1:6379',
    binary: 'redis-server',
    async problem(host, port) {
      const l = await firstLine(host, port, '*1\r\n$4\r\nPING\r\n');
      return l === '+PONG' ? '' : l === undefined ? 'does not answer PING' : `answers PING with ${l.slice(0, 60)}`;
    },
    // Nothing persisted, loopback only, no unix socket.
    args: (port, dir) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', join(dir, 'server.log')],
  },
  nats: {
    label: 'NATS',
    envVar: 'ROTOR_TEST_NATS_URL',
    defaultUrl: 'nats://127.0.0.1:4222',
    binary: 'nats-server',
    async problem(host, port) {
      const l = await firstLine(host, port, '');
      return l?.startsWith('INFO ') ? '' : l === undefined ? 'sends no INFO' : `sends ${l.slice(0, 60)} instead of INFO`;
    },
    // JetStream on, as on the machines' own NATS.
    args: (port, dir) => ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(dir, 'jetstream'), '-l', join(dir, 'server.log')],
  },
};

function hostPort(url) {
  const u = new URL(url);
  return { host: u.hostname === '' ? '127.0.0.1' : u.hostname, port: Number(u.port === '' ? (u.protocol === 'nats:' ? 4222 : 6379) : u.port) };
}

/**
 * Starts `svc`'s server on a free port for this run, in a temp directory. It runs under `sh`,
 * which ends it and removes the directory when its stdin closes: at stop(), and when this process
 * ends in any way (SIGKILL included).
 */
async function startPrivate(svc) {
  const binary = findBinary(svc.binary) ?? fail(`services: ${svc.binary} is missing; install it with: sudo apt-get install -y ${svc.binary}`);
  const dir = mkdtempSync(join(tmpdir(), `rotor-run-${svc.binary}-`));
  const port = await freePort();
  const script = 'trap "" INT; dir=$1; shift; "$@" & pid=$!; read _; kill $pid 2>/dev/null; wait $pid; rm -rf "$dir"';
  const child = spawn('sh', ['-c', script, 'rotor-test-service', dir, binary, ...svc.args(port, dir)], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  let exited = false;
  child.on('exit', () => (exited = true));
  child.stdin.on('error', () => {});
  const stop = () => {
    child.stdin.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10000;
  for (;;) {
    if ((await svc.problem('127.0.0.1', port)) === '') break;
    if (exited || Date.now() > deadline) {
      let log = '';
      try {
        log = readFileSync(join(dir, 'server.log'), 'utf8').trim().split('\n').slice(-3).join(' | ');
      } catch {
        /* no log */
      }
      stop();
      fail(`services: could not start a private ${svc.binary} on 127.0.0.1:${port}${log === '' ? '' : `: ${log}`}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `${svc.defaultUrl.split('://')[0]}://127.0.0.1:${port}`, stop };
}

/**
 * Makes the services `files` need (servicesFor) available and exports their URLs as
 * ROTOR_TEST_REDIS_URL / ROTOR_TEST_NATS_URL, for the test processes to inherit:
 * - a URL already set in the environment is used when it answers, else the run stops;
 * - else the machine's own server (127.0.0.1:6379, 127.0.0.1:4222) when it answers;
 * - else, under CI=true, the run stops with one line naming what is missing;
 * - else a private server is started on a free port for the run (stop() or this process's end
 *   ends it). Prints one line naming what the run uses.
 * @param {string[]} files
 * @returns {Promise<{ stop: () => void }>}
 */
export async function startServicesFor(files) {
  const needed = new Set(files.flatMap((f) => [...servicesFor(f)]));
  const privates = [];
  const stop = () => {
    for (const p of privates.splice(0)) p.stop();
  };
  process.on('exit', stop);
  const used = [];
  for (const name of /** @type {ServiceName[]} */ (['redis', 'nats'])) {
    if (!needed.has(name)) continue;
    const svc = SERVICES[name];
    const preset = process.env[svc.envVar] ?? '';
    if (preset !== '') {
      const { host, port } = hostPort(preset);
      const problem = await svc.problem(host, port);
      if (problem !== '') fail(`services: ${svc.envVar}=${preset} ${problem}`);
      used.push(`${svc.label} ${preset} (from ${svc.envVar})`);
      continue;
    }
    const { host, port } = hostPort(svc.defaultUrl);
    const problem = await svc.problem(host, port);
    if (problem === '') {
      process.env[svc.envVar] = svc.defaultUrl;
      used.push(`${svc.label} ${svc.defaultUrl}`);
      continue;
    }
    if (process.env.CI === 'true') {
      fail(`services: ${svc.label} on ${host}:${port} ${problem}; a CI=true run needs it there (or ${svc.envVar} naming one)`);
    }
    const p = await startPrivate(svc);
    privates.push(p);
    process.env[svc.envVar] = p.url;
    used.push(`${svc.label} ${p.url} (private to this run: ${host}:${port} ${problem})`);
  }
  if (used.length > 0) console.error(`test services: ${used.join('; ')}`);
  return { stop };
}

// Run directly (`node scripts/provision.mjs`, the first step of `npm test`): everything any test needs.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  provisionFor(undefined);
}
