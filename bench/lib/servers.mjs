/**
 * Starting the servers under test, pinned to the server core: Rotor (dist/cli/main.js with a
 * generated config in a temp dir), the bare `ws` baseline, and for the two-node case socket.io
 * (bench/socketio-server.mjs) and a private redis-server.
 */
import { mkdtempSync, writeFileSync, mkdirSync, existsSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, spawnPinned, waitHttp, stopProcess, sleep } from './proc.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SECRET = 'bench-hmac-secret-0123456789abcdef';
export const API_KEY = 'bench-api-key';
export const CHANNEL_PREFIX = 'bench:c';

/**
 * Rotor's bench config. `overrides` is merged in key by key (plain objects recursively, anything
 * else, arrays included, replaced): e.g. `{engine: {type: 'redis', redis: {...}}, log: {level: 'info'}}`.
 */
export function rotorConfig(port, overrides = {}) {
  return mergeConfig({
    http_server: { address: '127.0.0.1', port },
    log: { level: 'error' },
    engine: { type: 'memory' },
    client: {
      allowed_origins: [],
      token: { hmac_secret_key: SECRET },
      // ping_interval / pong_timeout: defaults (25s / 8s)
    },
    http_api: { key: API_KEY },
    health: { enabled: true },
    channel: {
      namespaces: [{ name: 'bench', allow_subscribe_for_client: true }],
    },
  }, overrides);
}

const isPlain = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function mergeConfig(base, over) {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isPlain(v) && isPlain(base[k]) ? mergeConfig(base[k], v) : v;
  return out;
}

/**
 * @param {'rotor'|'baseline'|'socketio'} target
 * @param {{cpu:number, profileDir?:string, profileName?:string, rotorRoot?:string, quiet?:boolean, rotorOverrides?:object, redisUrl?:string, baselineArgs?:string[]}} opts
 *   `rotorRoot`: the checkout whose dist/ runs as Rotor (another build, for A/B runs); default
 *   this one. `quiet`: the server's output is kept, not echoed. `rotorOverrides`: merged into
 *   Rotor's config (see rotorConfig). `redisUrl`: socket.io's Redis (its adapter); without it
 *   socket.io runs on its in-memory adapter. `baselineArgs`: extra arguments of
 *   baseline-server.mjs (`--raw`).
 * @returns {Promise<{target, pid, port, wsUrl, apiUrl, child, stop():Promise<void>, profilePath?:string}>}
 *   For socket.io, `wsUrl` is the http:// origin socket.io-client connects to, and `apiUrl` its
 *   POST /publish.
 */
export async function startServer(target, { cpu, profileDir, profileName, rotorRoot = ROOT, quiet = false, rotorOverrides, redisUrl, baselineArgs = [] }) {
  const port = await freePort();
  // BENCH_ROTOR_NODE_ARGS / BENCH_BASELINE_NODE_ARGS: extra Node/V8 flags for that server only
  // (experiments, e.g. --trace-gc); published figures use none.
  const extra =
    target === 'rotor' ? process.env.BENCH_ROTOR_NODE_ARGS : target === 'socketio' ? process.env.BENCH_SOCKETIO_NODE_ARGS : process.env.BENCH_BASELINE_NODE_ARGS;
  const nodeArgs = extra ? extra.split(/\s+/).filter(Boolean) : [];
  let profilePath;
  if (profileDir) {
    mkdirSync(profileDir, { recursive: true });
    nodeArgs.push('--cpu-prof', '--cpu-prof-interval', '250', '--cpu-prof-dir', profileDir, '--cpu-prof-name', profileName);
    profilePath = path.join(profileDir, profileName);
  }
  let argv;
  let wsUrl;
  let apiUrl = `http://127.0.0.1:${port}/api/publish`;
  if (target === 'rotor') {
    const main = path.join(rotorRoot, 'dist/cli/main.js');
    if (!existsSync(main)) throw new Error(`${main} missing: run \`npm run build\` (or \`npx tsc -p tsconfig.json\`) there first`);
    const dir = mkdtempSync(path.join(tmpdir(), 'rotor-bench-'));
    const cfg = path.join(dir, 'config.json');
    writeFileSync(cfg, JSON.stringify(rotorConfig(port, rotorOverrides), null, 2));
    argv = [process.execPath, ...nodeArgs, main, '-c', cfg];
    wsUrl = `ws://127.0.0.1:${port}/connection/websocket`;
  } else if (target === 'socketio') {
    argv = [process.execPath, ...nodeArgs, path.join(ROOT, 'bench/socketio-server.mjs'), '--port', String(port), '--api-key', API_KEY, '--secret', SECRET];
    if (redisUrl !== undefined) argv.push('--redis', redisUrl);
    wsUrl = `http://127.0.0.1:${port}`;
    apiUrl = `http://127.0.0.1:${port}/publish`;
  } else {
    argv = [process.execPath, ...nodeArgs, path.join(ROOT, 'bench/baseline-server.mjs'), '--port', String(port), '--api-key', API_KEY, ...baselineArgs];
    wsUrl = `ws://127.0.0.1:${port}/connection/websocket`;
  }
  const child = spawnPinned(cpu, argv, { cwd: ROOT, quiet });
  const exited = new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`${target} exited early (${code}): ${child.stderrText.slice(-2000)}`))));
  exited.catch(() => {});
  try {
    await Promise.race([waitHttp(`http://127.0.0.1:${port}/health`), exited]);
  } catch (err) {
    // A server that never answered is not left running.
    await stopProcess(child);
    throw err;
  }
  return {
    target,
    pid: child.pid,
    port,
    wsUrl,
    apiUrl,
    child,
    profilePath,
    stop: () => stopProcess(child),
  };
}

/**
 * A private redis-server for one bench run, pinned to `cpu`, on `port` (a free one by default):
 * no persistence (`--save ''`, `--appendonly no`), its files in a temp dir, so its CPU
 * (/proc/PID/stat) is the bench's alone. `kill()` is SIGKILL (a crash, for the resubscribe case);
 * `stop()` a SIGTERM. Resolves once it answers PING; `readyAt` is when it first did
 * (performance.now(), polled every 5 ms).
 * @returns {Promise<{pid:number, port:number, url:string, child, readyAt:number, stop():Promise<void>, kill():Promise<void>}>}
 */
export async function startRedis({ cpu, port, quiet = true }) {
  port ??= await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'rotor-bench-redis-'));
  const argv = ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'];
  const child = spawnPinned(cpu, argv, { quiet });
  const exited = new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`redis-server exited early (${code}): ${child.stderrText.slice(-2000)}`))));
  exited.catch(() => {});
  let readyAt;
  try {
    readyAt = await Promise.race([waitRedis(port), exited]);
  } catch (err) {
    await stopProcess(child);
    throw err;
  }
  const gone = new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', r)));
  // Its temp dir goes with it (nothing is saved there, but Redis may have created it).
  void gone.then(() => rmSync(dir, { recursive: true, force: true }));
  return {
    pid: child.pid,
    port,
    url: `redis://127.0.0.1:${port}`,
    child,
    readyAt,
    stop: () => stopProcess(child),
    kill: async () => {
      child.kill('SIGKILL');
      await gone;
    },
  };
}

/** One PING over a fresh connection: true when answered +PONG within 500 ms. */
export function redisPing(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
  });
}

/** Polls PING every `everyMs` until Redis answers; resolves with the time it first did (performance.now()). */
export async function waitRedis(port, timeoutMs = 10000, everyMs = 5) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await redisPing(port)) return performance.now();
    if (performance.now() > deadline) throw new Error(`redis-server on ${port} did not answer PING`);
    await sleep(everyMs);
  }
}
