/**
 * Starting the two servers under test, pinned to the server core: Rotor (dist/cli/main.js with a
 * generated config in a temp dir) and the bare `ws` baseline.
 */
import { mkdtempSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, spawnPinned, waitHttp, stopProcess } from './proc.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SECRET = 'bench-hmac-secret-0123456789abcdef';
export const API_KEY = 'bench-api-key';
export const CHANNEL_PREFIX = 'bench:c';

export function rotorConfig(port) {
  return {
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
  };
}

/**
 * @param {'rotor'|'baseline'} target
 * @param {{cpu:number, profileDir?:string, profileName?:string, rotorRoot?:string, quiet?:boolean}} opts
 *   `rotorRoot`: the checkout whose dist/ runs as Rotor (another build, for A/B runs); default
 *   this one. `quiet`: the server's output is kept, not echoed.
 * @returns {Promise<{target, pid, port, wsUrl, apiUrl, child, stop():Promise<void>, profilePath?:string}>}
 */
export async function startServer(target, { cpu, profileDir, profileName, rotorRoot = ROOT, quiet = false }) {
  const port = await freePort();
  // BENCH_ROTOR_NODE_ARGS / BENCH_BASELINE_NODE_ARGS: extra Node/V8 flags for that server only
  // (experiments, e.g. --trace-gc); published figures use none.
  const extra = target === 'rotor' ? process.env.BENCH_ROTOR_NODE_ARGS : process.env.BENCH_BASELINE_NODE_ARGS;
  const nodeArgs = extra ? extra.split(/\s+/).filter(Boolean) : [];
  let profilePath;
  if (profileDir) {
    mkdirSync(profileDir, { recursive: true });
    nodeArgs.push('--cpu-prof', '--cpu-prof-interval', '250', '--cpu-prof-dir', profileDir, '--cpu-prof-name', profileName);
    profilePath = path.join(profileDir, profileName);
  }
  let argv;
  let wsUrl;
  if (target === 'rotor') {
    const main = path.join(rotorRoot, 'dist/cli/main.js');
    if (!existsSync(main)) throw new Error(`${main} missing: run \`npm run build\` (or \`npx tsc -p tsconfig.json\`) there first`);
    const dir = mkdtempSync(path.join(tmpdir(), 'rotor-bench-'));
    const cfg = path.join(dir, 'config.json');
    writeFileSync(cfg, JSON.stringify(rotorConfig(port), null, 2));
    argv = [process.execPath, ...nodeArgs, main, '-c', cfg];
    wsUrl = `ws://127.0.0.1:${port}/connection/websocket`;
  } else {
    argv = [process.execPath, ...nodeArgs, path.join(ROOT, 'bench/baseline-server.mjs'), '--port', String(port), '--api-key', API_KEY];
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
    apiUrl: `http://127.0.0.1:${port}/api/publish`,
    child,
    profilePath,
    stop: () => stopProcess(child),
  };
}
