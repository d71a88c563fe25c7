#!/usr/bin/env node
/**
 * Soak: one Rotor server (this checkout's dist/, pinned to CPU 0) under connection churn for
 * `--minutes`, watched for growth. Each churn cycle connects with a fresh JWT (the official
 * `centrifuge` SDK, JSON and Protobuf builds in turn), subscribes to a channel, publishes through
 * the HTTP API, waits for the publication and disconnects; every 10th cycle is a raw WebSocket
 * that connects, subscribes and drops its TCP connection without a close frame.
 *
 *   npm run soak -- [--minutes 10] [--workers 20] [--warmup 30] [--settle 20]
 *
 * Phases: warm-up churn (`--warmup` s), a quiet settle (`--settle` s), then the BASELINE; churn for
 * `--minutes`, printing the server's RSS, V8 heap and open file descriptors every minute; then the
 * same settle and the FINAL sample. Samples are taken after two full garbage collections. RSS is
 * VmRSS from /proc/<pid>/status, fds the entries of /proc/<pid>/fd, and the heap is
 * `process.memoryUsage()` read from inside the server through the V8 inspector (the server runs
 * with `--inspect=127.0.0.1:0`; the inspector also runs the collections, so no `--expose-gc`).
 *
 * Exit 1 when, FINAL against BASELINE (the tolerances below): RSS grew more than
 * max(RSS_TOLERANCE_MIB, RSS_TOLERANCE_RATIO × baseline), the heap more than
 * max(HEAP_TOLERANCE_MIB, HEAP_TOLERANCE_RATIO × baseline), fds more than FD_TOLERANCE; the server
 * still counts clients, subscriptions or channels (the info API) once everyone has left; or more
 * than 1 % of cycles failed. Needs Linux (/proc, taskset), `npm run build` first. Loopback only.
 */
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { SignJWT } from 'jose';
import { Centrifuge as JsonCentrifuge } from 'centrifuge';
import { Centrifuge as ProtobufCentrifuge } from 'centrifuge/build/protobuf';
import { rssBytes } from './lib/proc.mjs';
import { API_KEY, CHANNEL_PREFIX, SECRET, startServer } from './lib/servers.mjs';

/** RSS may grow this much (MiB) over the baseline, or RSS_TOLERANCE_RATIO of it if larger. */
const RSS_TOLERANCE_MIB = 48;
const RSS_TOLERANCE_RATIO = 0.5;
/** Heap used after full collections may grow this much (MiB), or HEAP_TOLERANCE_RATIO of it. */
const HEAP_TOLERANCE_MIB = 4;
const HEAP_TOLERANCE_RATIO = 0.2;
/** Open descriptors may exceed the baseline by this many (sockets still closing). */
const FD_TOLERANCE = 8;
/** Largest share of churn cycles allowed to fail (timeouts, refused connects). */
const MAX_FAILED_SHARE = 0.01;
/** Bound on each step of a cycle (connect, subscribe, delivery), ms. */
const STEP_TIMEOUT_MS = 10_000;
/** Distinct users whose tokens the churn uses (the server's verified-token cache sees repeats). */
const USERS = 500;
const MIB = 1024 * 1024;

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? Number(argv[i + 1]) : def;
};
const minutes = opt('minutes', 10);
const workers = opt('workers', 20);
const warmupS = opt('warmup', 30);
const settleS = opt('settle', 20);
if (![minutes, workers, warmupS, settleS].every((v) => Number.isFinite(v) && v >= 0) || minutes <= 0 || workers < 1) {
  console.error('soak: --minutes and --workers take positive numbers, --warmup and --settle non-negative ones');
  process.exit(2);
}

// ---------------------------------------------------------------- the server's inspector

/** A V8 inspector session on the server: full GCs and `process.memoryUsage()` from inside. */
class Inspector {
  static async open(child) {
    const deadline = Date.now() + 10_000;
    let m;
    while (!(m = /Debugger listening on (ws:\/\/\S+)/.exec(child.stderrText)) && Date.now() < deadline) await sleep(50);
    if (!m) throw new Error('the server printed no inspector URL');
    const ws = new WebSocket(m[1]);
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    return new Inspector(ws);
  }
  constructor(ws) {
    this.ws = ws;
    this.nextId = 1;
    this.pending = new Map();
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(`inspector: ${msg.error.message}`));
      else p.resolve(msg.result);
    });
  }
  call(method, params = {}) {
    const id = this.nextId++;
    // Bounded like every step, so a wedged server fails the soak instead of hanging it.
    return withTimeout(
      new Promise((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        this.ws.send(JSON.stringify({ id, method, params }));
      }),
      `inspector ${method}`,
    );
  }
  async memoryUsage() {
    const r = await this.call('Runtime.evaluate', { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true });
    return JSON.parse(r.result.value);
  }
  collectGarbage() {
    return this.call('HeapProfiler.collectGarbage');
  }
  close() {
    this.ws.close();
  }
}

// ---------------------------------------------------------------- churn

const secret = new TextEncoder().encode(SECRET);
const utf8 = new TextDecoder();
const tokens = await Promise.all(
  Array.from({ length: USERS }, (_, i) =>
    new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(`soak${i}`).setExpirationTime(Math.floor(Date.now() / 1000) + 86_400).sign(secret),
  ),
);

const stats = { cycles: 0, failed: 0, received: 0, abrupt: 0, errors: new Map() };
const noteError = (e) => {
  stats.failed++;
  const key = String(e?.message ?? e).slice(0, 80);
  stats.errors.set(key, (stats.errors.get(key) ?? 0) + 1);
};

function withTimeout(promise, what) {
  let t;
  const timeout = new Promise((_, reject) => (t = setTimeout(() => reject(new Error(`${what} timed out`)), STEP_TIMEOUT_MS)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(t));
}

async function publish(port, channel, data) {
  const res = await fetch(`http://127.0.0.1:${port}/api/publish`, {
    signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
    method: 'POST',
    headers: { 'X-API-Key': API_KEY, 'Content-Type': 'application/json' },
    body: JSON.stringify({ channel, data }),
  });
  const body = await res.json();
  if (res.status !== 200 || body.error) throw new Error(`publish answered ${res.status} ${JSON.stringify(body.error ?? '')}`);
}

/** One SDK cycle: connect, subscribe, publish through the API, receive it, disconnect. */
async function sdkCycle(server, n, protobuf) {
  const Ctor = protobuf ? ProtobufCentrifuge : JsonCentrifuge;
  const client = new Ctor(server.wsUrl, { websocket: WebSocket, token: tokens[n % USERS] });
  const channel = `${CHANNEL_PREFIX}soak${n % 200}`;
  try {
    const sub = client.newSubscription(channel);
    const marker = `m${n}`;
    // The Protobuf build hands over the payload's bytes (here the JSON text the API was given).
    const markerOf = (data) => (data instanceof Uint8Array ? JSON.parse(utf8.decode(data)) : data)?.marker;
    const received = new Promise((resolve) => sub.on('publication', (ctx) => markerOf(ctx.data) === marker && resolve()));
    const subscribed = new Promise((resolve, reject) => (sub.once('subscribed', resolve), sub.once('error', (e) => reject(new Error(`subscribe: ${e.error?.message}`)))));
    sub.subscribe();
    client.connect();
    await withTimeout(subscribed, 'subscribe');
    await publish(server.port, channel, { marker });
    await withTimeout(received, 'delivery');
    stats.received++;
  } finally {
    client.disconnect();
  }
}

/** A client that vanishes: raw WebSocket, connect and subscribe, then the TCP connection is cut. */
async function abruptCycle(server, n) {
  const ws = new WebSocket(server.wsUrl);
  try {
    await withTimeout(new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject))), 'open');
    const replies = new Promise((resolve) => {
      let seen = 0;
      ws.on('message', (d) => (seen += d.toString().split('\n').filter((l) => /"id":[12]\b/.test(l)).length) >= 2 && resolve());
    });
    ws.send(`${JSON.stringify({ id: 1, connect: { token: tokens[n % USERS] } })}\n${JSON.stringify({ id: 2, subscribe: { channel: `${CHANNEL_PREFIX}gone${n % 50}` } })}`);
    await withTimeout(replies, 'raw connect');
    stats.abrupt++;
  } finally {
    ws.terminate();
  }
}

/** Runs `workers` churn loops until `stop()`; resolves once every loop has finished its cycle. */
function churn(server) {
  let running = true;
  const loop = async () => {
    while (running) {
      const n = stats.cycles++;
      try {
        if (n % 10 === 9) await abruptCycle(server, n);
        else await sdkCycle(server, n, n % 2 === 1);
      } catch (e) {
        noteError(e);
      }
    }
  };
  const loops = Array.from({ length: workers }, loop);
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

// ---------------------------------------------------------------- sampling

async function sample(server, inspector, full) {
  if (full) {
    await inspector.collectGarbage();
    await inspector.collectGarbage();
  }
  const mem = await inspector.memoryUsage();
  return { rss: rssBytes(server.pid), heapUsed: mem.heapUsed, heapTotal: mem.heapTotal, external: mem.external, fds: readdirSync(`/proc/${server.pid}/fd`).length };
}

const mib = (b) => `${(b / MIB).toFixed(1)} MiB`;
const fmt = (s) => `rss ${mib(s.rss)}, heap used ${mib(s.heapUsed)} (total ${mib(s.heapTotal)}, external ${mib(s.external)}), fds ${s.fds}`;

async function serverCounts(port) {
  const res = await fetch(`http://127.0.0.1:${port}/api/info`, { signal: AbortSignal.timeout(STEP_TIMEOUT_MS), method: 'POST', headers: { 'X-API-Key': API_KEY }, body: '{}' });
  const node = (await res.json()).result.nodes[0];
  return { clients: node.num_clients, subs: node.num_subs, channels: node.num_channels };
}

// ---------------------------------------------------------------- run

process.env.BENCH_ROTOR_NODE_ARGS = `${process.env.BENCH_ROTOR_NODE_ARGS ?? ''} --inspect=127.0.0.1:0`;
const server = await startServer('rotor', { cpu: 0, quiet: true });
let inspector;
let exitCode = 0;
try {
  inspector = await Inspector.open(server.child);
  console.log(`soak: Rotor pid ${server.pid} on port ${server.port}; ${workers} workers; warm-up ${warmupS} s, churn ${minutes} min, settle ${settleS} s`);
  console.log(`start:    ${fmt(await sample(server, inspector, true))}`);

  let c = churn(server);
  await sleep(warmupS * 1000);
  await c.stop();
  await sleep(settleS * 1000);
  const baseline = await sample(server, inspector, true);
  console.log(`baseline: ${fmt(baseline)} (after ${stats.cycles} warm-up cycles and the settle)`);

  const started = Date.now();
  const cyclesBefore = stats.cycles;
  c = churn(server);
  for (let minute = 1; minute <= Math.ceil(minutes); minute++) {
    await sleep(Math.min(60, (minutes - (minute - 1)) * 60) * 1000);
    const s = await sample(server, inspector, false);
    const seconds = (Date.now() - started) / 1000;
    const rate = (stats.cycles - cyclesBefore) / seconds;
    console.log(`${(seconds / 60).toFixed(1).padStart(5)} min: ${fmt(s)}; ${stats.cycles - cyclesBefore} cycles (${rate.toFixed(0)}/s), ${stats.failed} failed`);
  }
  await c.stop();
  await sleep(settleS * 1000);
  const final = await sample(server, inspector, true);
  const counts = await serverCounts(server.port);
  console.log(`final:    ${fmt(final)}; server counts ${JSON.stringify(counts)}`);
  console.log(`cycles: ${stats.cycles} (${stats.received} deliveries, ${stats.abrupt} abrupt drops), failed ${stats.failed}`);
  for (const [e, n] of stats.errors) console.log(`  ${n}× ${e}`);

  const rssAllowed = Math.max(RSS_TOLERANCE_MIB * MIB, RSS_TOLERANCE_RATIO * baseline.rss);
  const heapAllowed = Math.max(HEAP_TOLERANCE_MIB * MIB, HEAP_TOLERANCE_RATIO * baseline.heapUsed);
  const checks = [
    [`RSS grew ${mib(final.rss - baseline.rss)} (allowed ${mib(rssAllowed)})`, final.rss - baseline.rss <= rssAllowed],
    [`heap used grew ${mib(final.heapUsed - baseline.heapUsed)} (allowed ${mib(heapAllowed)})`, final.heapUsed - baseline.heapUsed <= heapAllowed],
    [`fds grew ${final.fds - baseline.fds} (allowed ${FD_TOLERANCE})`, final.fds - baseline.fds <= FD_TOLERANCE],
    [`server counts after everyone left: ${JSON.stringify(counts)} (all 0)`, counts.clients === 0 && counts.subs === 0 && counts.channels === 0],
    [`failed cycles ${stats.failed} of ${stats.cycles} (allowed ${(MAX_FAILED_SHARE * 100).toFixed(0)} %)`, stats.failed <= MAX_FAILED_SHARE * stats.cycles],
  ];
  for (const [what, ok] of checks) console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  exitCode = checks.every(([, ok]) => ok) ? 0 : 1;
} catch (e) {
  console.error(`soak: ${e?.stack ?? e}`);
  exitCode = 1;
} finally {
  inspector?.close();
  await server.stop();
}
console.log(exitCode === 0 ? 'soak: passed' : 'soak: FAILED');
process.exit(exitCode);
