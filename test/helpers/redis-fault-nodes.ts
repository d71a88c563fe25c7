/**
 * Rotor nodes as real CLI processes (`node --import tsx src/cli/main.ts -c config.json`) on a Redis
 * engine, for the Redis fault tests: each in its own temp directory (config and log file), on a
 * free port of 127.0.0.1, with a short `io_timeout` so outages show quickly. They run as
 * ServiceProcesses, so they are killed when the test process ends, however it ends.
 *
 * The environment handed to a node has no `CENTRIFUGO_*`/`ROTOR_*` variables (`env -u`), so
 * neither `TEST_ENGINE=redis` nor anything else overrides the Redis the test gives the node.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_KEY, SECRET } from './server.js';
import { findBinary, freePort, pollUntil, serviceDir, ServiceProcess, sleep } from './service-process.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The namespace every fault test publishes in: history kept long enough for a whole test, recovery forced. */
export const FAULT_NAMESPACE = 'faults';

/** Redis command timeout of the nodes: short, so a stall shows within half a second. */
export const IO_TIMEOUT = '500ms';

/** Bound on one API call from the tests: far above `io_timeout`, so only a hang reaches it. */
export const API_CALL_BOUND_MS = 10_000;

export interface ApiReply {
  /** HTTP status; 0 when no answer came (connection refused, or {@link API_CALL_BOUND_MS} passed). */
  status: number;
  body: unknown;
  /** Request to answer (or to giving up), ms. */
  ms: number;
  /** Why there was no answer, when status is 0. */
  failure?: string;
}

export interface RotorNode {
  readonly name: string;
  readonly port: number;
  readonly httpUrl: string;
  readonly wsUrl: string;
  /** The node process's pid. */
  readonly pid: number;
  /** False once the process has exited (a crash, or stop()). */
  readonly running: boolean;
  /** POST /api/<method> with the API key; never rejects. `boundMs` defaults to {@link API_CALL_BOUND_MS}. */
  api(method: string, body: unknown, boundMs?: number): Promise<ApiReply>;
  /** GET /health: 200 `{}` or 503 `{error, reasons}`; never rejects (status 0 without an answer). */
  health(): Promise<ApiReply>;
  /** The node's whole log (JSON lines), for diagnostics. */
  log(): string;
  /** SIGTERM (SIGKILL after the grace period); idempotent. */
  stop(): Promise<void>;
}

/**
 * The `engine.redis` section of a node: `address` (or `sentinel_address` + `sentinel_master_name`)
 * and `prefix` from the test; `io_timeout` {@link IO_TIMEOUT} and `connect_timeout` 500 ms unless
 * given.
 */
export type RedisSection = Record<string, unknown>;

function nodeConfig(port: number, logFile: string, redis: RedisSection): Record<string, unknown> {
  return {
    http_server: { port, address: '127.0.0.1' },
    client: { token: { hmac_secret_key: SECRET } },
    http_api: { key: API_KEY },
    health: { enabled: true },
    log: { level: 'info', file: logFile },
    shutdown: { timeout: '3s' },
    engine: { type: 'redis', redis: { io_timeout: IO_TIMEOUT, connect_timeout: '500ms', ...redis } },
    channel: {
      namespaces: [{ name: FAULT_NAMESPACE, allow_subscribe_for_client: true, history_size: 20000, history_ttl: '600s', force_recovery: true }],
    },
  };
}

async function request(url: string, init: RequestInit, boundMs = API_CALL_BOUND_MS): Promise<ApiReply> {
  const started = performance.now();
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(boundMs) });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* a plain-text answer stays a string */
    }
    return { status: res.status, body, ms: performance.now() - started };
  } catch (e) {
    const why = e instanceof Error ? `${e.name}: ${e.message}${e.cause instanceof Error ? ` (${e.cause.message})` : ''}` : String(e);
    return { status: 0, body: undefined, ms: performance.now() - started, failure: why };
  }
}

class NodeHandle implements RotorNode {
  private stopped: Promise<void> | undefined;

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly proc: ServiceProcess,
    private readonly logFile: string,
  ) {}

  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/connection/websocket`;
  }
  get running(): boolean {
    return this.proc.running;
  }
  get pid(): number {
    return this.proc.pid;
  }

  api(method: string, body: unknown, boundMs?: number): Promise<ApiReply> {
    return request(`${this.httpUrl}/api/${method}`, { method: 'POST', headers: { 'X-API-Key': API_KEY }, body: JSON.stringify(body) }, boundMs);
  }

  health(): Promise<ApiReply> {
    return request(`${this.httpUrl}/health`, { method: 'GET' });
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '(no log yet)';
    }
  }

  stop(): Promise<void> {
    this.stopped ??= this.proc.terminate(5000).then(() => undefined);
    return this.stopped;
  }
}

/** Starts one node on `redis`; resolves once it answers /health (200 or 503) on its port. */
export async function startNode(name: string, redis: RedisSection): Promise<RotorNode> {
  const dir = serviceDir(`rotor-${name}`);
  const logFile = join(dir, 'rotor.log');
  const port = await freePort();
  const configFile = join(dir, 'config.json');
  writeFileSync(configFile, JSON.stringify(nodeConfig(port, logFile, redis), null, 2));
  const unset = Object.keys(process.env)
    .filter((k) => /^(CENTRIFUGO|ROTOR)_/.test(k))
    .flatMap((k) => ['-u', k]);
  const proc = ServiceProcess.start({
    binary: findBinary('env', 'coreutils'),
    args: [...unset, process.execPath, '--import', 'tsx', 'src/cli/main.ts', '-c', configFile],
    cwd: REPO_ROOT,
    name: `rotor node ${name} 127.0.0.1:${port}`,
    logFile,
  });
  const node = new NodeHandle(name, port, proc, logFile);
  try {
    await pollUntil(async () => (await node.health()).status !== 0, `${proc.name} to listen`, { proc, timeoutMs: 30_000, intervalMs: 50 });
  } catch (e) {
    await node.stop();
    throw e;
  }
  return node;
}

/** Every log line of `node` at level warn or above, message and fields, for diagnostics. */
export function warnings(node: RotorNode): string[] {
  const out: string[] = [];
  for (const line of node.log().split('\n')) {
    if (line === '') continue;
    try {
      const j = JSON.parse(line) as { level?: string; time?: string; message?: string; msg?: string };
      if (j.level === 'warn' || j.level === 'error' || j.level === 'fatal') out.push(line);
    } catch {
      out.push(line);
    }
  }
  return out;
}

/** Polls /health every 20 ms until it answers `status`; returns the body and when (`performance.now()`). */
export async function waitHealth(node: RotorNode, status: number, timeoutMs = 20_000): Promise<{ body: unknown; at: number }> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const h = await node.health();
    if (h.status === status) return { body: h.body, at: performance.now() };
    if (performance.now() > deadline) {
      throw new Error(`node ${node.name}: /health did not answer ${status} within ${timeoutMs} ms; last ${JSON.stringify({ status: h.status, body: h.body, failure: h.failure })}`);
    }
    await sleep(20);
  }
}

/**
 * Every node answers /health 503 with a reason naming `needle` (and none naming `absent`);
 * resolves with when each turned (`performance.now()`).
 */
export async function waitUnhealthy(nodes: readonly RotorNode[], needle: string, absent?: string): Promise<number[]> {
  const seen = await Promise.all(nodes.map((n) => waitHealth(n, 503)));
  seen.forEach((s, i) => {
    const name = nodes[i]!.name;
    const b = s.body as { error?: string; reasons?: unknown };
    assert.equal(b.error, 'unhealthy', `node ${name}: 503 body ${JSON.stringify(s.body)}`);
    const reasons = Array.isArray(b.reasons) ? b.reasons.map(String) : [];
    assert.ok(reasons.some((x) => x.includes(needle)), `node ${name}: a reason names ${needle}: ${JSON.stringify(reasons)}`);
    if (absent !== undefined) assert.ok(!reasons.some((x) => x.includes(absent)), `node ${name}: no reason names ${absent}: ${JSON.stringify(reasons)}`);
  });
  return seen.map((s) => s.at);
}

/**
 * Samples /health of each node every 50 ms until `stop()`, which resolves with one line per node
 * giving the spans it answered anything but 200 (ms since `t0`), for diagnostics.
 */
export function sampleHealth(nodes: readonly RotorNode[], t0: number): { stop(): Promise<string[]> } {
  let running = true;
  const spans = nodes.map(() => [] as [number, number][]);
  const loops = nodes.map(async (n, i) => {
    const mine = spans[i]!;
    while (running) {
      const ok = (await n.health()).status === 200;
      const now = Math.round(performance.now() - t0);
      const open = mine.at(-1)?.[1] === -1 ? mine.at(-1) : undefined;
      if (!ok && open === undefined) mine.push([now, -1]);
      if (ok && open !== undefined) open[1] = now;
      await sleep(50);
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return nodes.map((n, i) => `${n.name}: ${spans[i]!.length === 0 ? 'always 200' : spans[i]!.map(([a, b]) => `not 200 from ${a} to ${b === -1 ? 'the end' : `${b}`} ms`).join(', ')}`);
    },
  };
}

/** Every node still runs and answers `info`, listing them all, and replaced no PUB/SUB connection. */
export async function assertNodesUp(nodes: readonly RotorNode[]): Promise<void> {
  for (const n of nodes) {
    assert.ok(n.running, `node ${n.name} is still running`);
    // Outages of Redis itself are the client's to reconnect: replacing a PUB/SUB connection is
    // for one that goes silent while Redis answers (engine/redis/silence.ts), never these.
    assert.doesNotMatch(n.log(), /replacing it/, `node ${n.name} replaced a PUB/SUB connection`);
    const info = await n.api('info', {});
    assert.equal(info.status, 200, `node ${n.name}: info ${JSON.stringify(info)}`);
    assert.equal((info.body as { result: { nodes: unknown[] } }).result.nodes.length, nodes.length, `node ${n.name} lists every node`);
  }
}

/** Resident memory of a process, MiB (Linux /proc), for diagnostics. */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? Number.NaN : Math.round(Number(m[1]) / 102.4) / 10;
}
