/**
 * Several Rotor CLI processes joined into one cluster through a real engine (Redis, NATS), for
 * multi-node tests: each node is `node --import tsx src/cli/main.ts -c <file>` (server-process.ts)
 * on its own free port of 127.0.0.1 with its own `node.name`, the same engine settings (a test
 * passes a config per node, so nodes may reach the same Redis through different address forms),
 * HMAC tokens with server.ts's SECRET and the API key API_KEY.
 *
 * `startNodes` resolves once every node's `info` lists every node by name, so the control plane
 * has joined them; it stops what it started when that fails. `restart` kills one node
 * (SIGKILL by default: a crash) and starts it again on the same port with the same config.
 * `stop` ends every node (SIGTERM, SIGKILL after 5 s) and removes the config files; call it in
 * `after`/`finally`, it never throws.
 *
 * The processes start without TEST_ENGINE's CENTRIFUGO_ENGINE_* variables (env would win over the
 * file): these tests name their own engine, whatever engine the run uses for the others.
 */
import assert from 'node:assert/strict';
import { CliProcess, freePort, tempDir } from './server-process.js';
import { API_KEY, SECRET } from './server.js';
import { answerOf } from './http-answer.js';

/** Bound for a node's start (listening) and for the cluster to form, ms. */
const START_MS = 15_000;
/** Bound for a node's graceful stop before it is killed, ms. */
const STOP_MS = 5_000;

/** The config of a node in file form (JSON), merged over the base config of {@link startNodes}. */
export type NodeConfig = Record<string, unknown>;

export interface RotorNode {
  /** `node.name`, unique in the cluster. */
  readonly name: string;
  readonly port: number;
  /** `ws://127.0.0.1:PORT/connection/websocket` */
  readonly wsUrl: string;
  /** `http://127.0.0.1:PORT` (the API is under `/api/<method>`). */
  readonly httpUrl: string;
  /** The current process (a new one after {@link RotorNodes.restart}); undefined while it is down. */
  readonly proc: CliProcess | undefined;
}

/** A node by index (0 is A) or by handle. */
export type NodeRef = number | { readonly name: string };

export interface ApiAnswer {
  status: number;
  // The API's JSON answer as parsed; the shape depends on the method.
  body: any;
}

export interface RotorNodes {
  readonly nodes: readonly RotorNode[];
  /** `node` by index or handle. */
  node(node: NodeRef): RotorNode;
  /** POST /api/<method> to `node`; the HTTP status and the parsed answer, whatever they are. */
  apiRaw(node: NodeRef, method: string, body: unknown): Promise<ApiAnswer>;
  /** POST /api/<method> to `node`; asserts HTTP 200 and a `result` (no `error`) and returns the result. */
  api(node: NodeRef, method: string, body: unknown): Promise<any>;
  /** Names of the nodes `node`'s `info` lists, sorted. */
  infoNames(node: NodeRef): Promise<string[]>;
  /** Waits (bounded) until the `info` of every running node lists exactly the nodes' names. */
  waitJoined(timeoutMs?: number): Promise<void>;
  /**
   * Ends `node`'s process with `signal` (default SIGKILL), then starts it again with the same
   * port, name and config; resolves once it listens and its `info` lists every node's name.
   * `between` runs while the node is down (publications a restarted subscriber must recover).
   */
  restart(node: NodeRef, opts?: { signal?: NodeJS.Signals; between?: () => Promise<void> }): Promise<void>;
  /** Every node's output, for failure messages. */
  output(): string;
  /** Ends every node and removes the config files. Idempotent; never rejects. */
  stop(): Promise<void>;
}

export interface StartNodesOptions {
  /** Names the nodes (`<label>-a`, `<label>-b`, ...) and the temp directory. */
  label: string;
  count: number;
  /** The engine and channel config of node `i` (0-based); `http_server`, `node.name` and the rest are added. */
  config: (i: number) => NodeConfig;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `b` over `a`: objects merge key by key, anything else (arrays included) replaces. */
function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] = isRecord(v) && isRecord(cur) ? merge(cur, v) : v;
  }
  return out;
}

function baseConfig(name: string, port: number): NodeConfig {
  return {
    http_server: { port, address: '127.0.0.1' },
    client: { token: { hmac_secret_key: SECRET } },
    http_api: { key: API_KEY },
    node: { name },
    // A stop in tests should not wait long for anything.
    shutdown: { timeout: '3s' },
    log: { level: 'info' },
  };
}

/** Starts the process and waits until it logs that it listens on `port`. */
async function launch(file: string, port: number): Promise<CliProcess> {
  const proc = CliProcess.start(['-c', file], { engineEnv: false });
  try {
    await proc.waitForLine((l) => l.json?.port === port && /started/.test(String(l.json.message)), `the node on port ${port} to start`, START_MS);
    return proc;
  } catch (err) {
    await proc.kill();
    throw err;
  }
}

/** Ends a process: `signal`, then SIGKILL if it has not exited within {@link STOP_MS}. */
async function end(proc: CliProcess, signal: NodeJS.Signals): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.signal(signal);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), STOP_MS);
  });
  const r = await Promise.race([proc.exited, late]);
  clearTimeout(timer);
  if (r === 'late') await proc.kill();
}

export async function startNodes(opts: StartNodesOptions): Promise<RotorNodes> {
  assert.ok(opts.count >= 1 && opts.count <= 26, 'between 1 and 26 nodes');
  const tmp = tempDir();
  const ports = await Promise.all(Array.from({ length: opts.count }, () => freePort()));
  const names = ports.map((_, i) => `${opts.label}-${String.fromCharCode(97 + i)}`);
  const files = ports.map((port, i) => tmp.file(`${names[i]}.json`, merge(baseConfig(names[i]!, port), opts.config(i))));
  const nodes: Array<RotorNode & { proc: CliProcess | undefined }> = ports.map((port, i) => ({
    name: names[i]!,
    port,
    wsUrl: `ws://127.0.0.1:${port}/connection/websocket`,
    httpUrl: `http://127.0.0.1:${port}`,
    proc: undefined,
  }));
  const expected = [...names].sort();
  let stopped: Promise<void> | undefined;

  const handle = (n: NodeRef): RotorNode & { proc: CliProcess | undefined } => {
    const found = typeof n === 'number' ? nodes[n] : nodes.find((x) => x.name === n.name);
    assert.ok(found !== undefined, `no node ${typeof n === 'number' ? n : n.name}`);
    return found;
  };
  const output = (): string => nodes.map((n) => `--- ${n.name} (port ${n.port}):\n${n.proc?.output ?? '(not running)'}`).join('\n');

  const apiRaw = async (n: NodeRef, method: string, body: unknown): Promise<ApiAnswer> => {
    const res = await fetch(`${handle(n).httpUrl}/api/${method}`, {
      method: 'POST',
      headers: { 'X-API-Key': API_KEY, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(START_MS),
    });
    return answerOf(res);
  };
  const api = async (n: NodeRef, method: string, body: unknown): Promise<any> => {
    const r = await apiRaw(n, method, body);
    const where = `${method} through ${handle(n).name}`;
    assert.equal(r.status, 200, `${where}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    assert.ok(isRecord(r.body) && 'result' in r.body && !('error' in r.body), `${where}: expected a result, got ${JSON.stringify(r.body)}`);
    return r.body.result;
  };
  const infoNames = async (n: NodeRef): Promise<string[]> => {
    const result = await api(n, 'info', {});
    assert.ok(isRecord(result) && Array.isArray(result.nodes), `info: ${JSON.stringify(result)}`);
    return result.nodes.map((x: unknown) => (isRecord(x) ? String(x.name) : '?')).sort();
  };
  /** Polls `n`'s info every 20 ms until it lists exactly the expected names (bounded). */
  const waitNodeJoined = async (n: NodeRef, timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let last: string[] = [];
    for (;;) {
      last = await infoNames(n);
      if (last.join() === expected.join()) return;
      if (Date.now() > deadline) {
        throw new Error(`${handle(n).name}'s info lists ${JSON.stringify(last)}, not ${JSON.stringify(expected)}, after ${timeoutMs} ms; output:\n${output()}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const waitJoined = async (timeoutMs = START_MS): Promise<void> => {
    await Promise.all(nodes.filter((n) => n.proc !== undefined).map((n) => waitNodeJoined(n, timeoutMs)));
  };

  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      await Promise.all(nodes.map((n) => (n.proc === undefined ? undefined : end(n.proc, 'SIGTERM').catch(() => undefined))));
      tmp.cleanup();
    })());

  try {
    const procs = await Promise.allSettled(nodes.map((n, i) => launch(files[i]!, n.port)));
    procs.forEach((p, i) => {
      if (p.status === 'fulfilled') nodes[i]!.proc = p.value;
    });
    const failed = procs.find((p): p is PromiseRejectedResult => p.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    await waitJoined();
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    nodes,
    node: handle,
    apiRaw,
    api,
    infoNames,
    waitJoined,
    async restart(n, ropts = {}) {
      const h = handle(n);
      assert.ok(h.proc !== undefined, `${h.name} is not running`);
      await end(h.proc, ropts.signal ?? 'SIGKILL');
      h.proc = undefined;
      await ropts.between?.();
      h.proc = await launch(files[nodes.indexOf(h)]!, h.port);
      // A new node asks every node to answer its first heartbeat, so it knows them at once.
      await waitNodeJoined(h, START_MS);
    },
    output,
    stop,
  };
}
