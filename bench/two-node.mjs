#!/usr/bin/env node
/**
 * Two nodes on Redis (issue #17): Rotor against socket.io 4 + `@socket.io/redis-adapter`, each
 * as two nodes joined through a private redis-server, with a single-node memory-engine Rotor as
 * Rotor's own reference, all in one run.
 *
 * Parts (`--parts`, default all):
 *  broadcast    5,000 subscribers (JSON) on one channel, split evenly over the nodes, publications
 *               through node A's HTTP API at 10/s (50k deliveries/s), 100-byte payloads; targets
 *               rotor-memory (1 node), rotor-redis (2 nodes), socketio-redis (2 nodes), and as
 *               reference points bare-ws and bare-raw (bench/baseline-server.mjs, 1 node: ws.send
 *               per subscriber, and one pre-built frame socket.write-n to each, the floor), and
 *               bare-raw-2, the floor as two processes (half the subscribers each, every
 *               publication posted to both): what sharing the core costs with no broker. Server
 *               CPU is both nodes' utime+stime summed over the window; Redis's is read apart from
 *               /proc/<redis-server pid>/stat of a redis-server started for that target alone.
 *  api          publish-with-history through Redis: two Rotor nodes on Redis, autocannon (32
 *               connections, in the generator) POSTing /api/publish to node A on a channel of a
 *               namespace with history_size/history_ttl, no subscribers; then the same on a
 *               channel without history (PUBLISH only), for comparison.
 *  resubscribe  one Rotor node on Redis with 100,000 channels (100 connections × 1,000
 *               subscriptions); the redis-server is SIGKILLed and started again on its port, and
 *               the time from it answering PING again to the node's `channels resubscribed` log
 *               line is measured; then publications to a sample of the channels must all arrive.
 *
 * Pinning: every server process (the single node, both nodes of a pair and their redis-server) on
 * CPU 0, the load generator (bench/loadgen.mjs) on CPU 1; the two nodes and Redis share one core.
 *
 * Options: --measure S (10), --warmup S (3), --rate N (broadcast publications per second, 10; other
 * rates are diagnostics: at 1 or 0.1 the fixed costs, pings and timers, weigh on each delivery),
 * --scale F (subscriber and channel counts, for smoke
 * runs), --repeat N (every part N times, targets alternating, every other round reversed; medians
 * reported, single runs kept under `runs`), --targets rotor-memory,rotor-redis,socketio-redis,bare-ws,bare-raw,bare-raw-2,
 * --parts broadcast,api,resubscribe, --label TEXT, --rotor-root DIR (the checkout or build whose
 * dist/cli/main.js runs as Rotor; default this one), --sio-client official|raw (the generator's
 * socket.io clients: socket.io-client, the default, or the same protocol over `ws` as its Rotor
 * clients are; see lib/socketio-client.mjs), --no-write (print only; otherwise
 * bench/results/two-node-latest.json is written).
 *
 * Needs Linux (/proc, taskset), 2+ cores, a built dist/ with the Redis engine, `redis-server`.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { cpuTimes, rssBytes, sleep, systemBusy, CLK_TCK } from './lib/proc.mjs';
import { startServer, startRedis, ROOT, SECRET, API_KEY, CHANNEL_PREFIX } from './lib/servers.mjs';
import { Gen } from './lib/gen.mjs';
import { medianOf, renderTwoNode, evaluateTwoNode } from './lib/two-node-report.mjs';
import { machineInfo } from './lib/machine.mjs';

export const TARGETS = {
  'rotor-memory': { label: 'Rotor, 1 node, memory engine', server: 'rotor', nodes: 1, redis: false },
  'rotor-redis': { label: 'Rotor, 2 nodes, Redis engine', server: 'rotor', nodes: 2, redis: true },
  'socketio-redis': { label: 'socket.io 4, 2 nodes, Redis adapter', server: 'socketio', nodes: 2, redis: true },
  // Reference points, not targets: what a Node server's fan-out costs with nothing around it.
  'bare-ws': { label: 'bare `ws`, 1 node (ws.send per subscriber)', server: 'baseline', nodes: 1, redis: false },
  'bare-raw': { label: 'floor, 1 node (one pre-built frame, socket.write per subscriber)', server: 'baseline', nodes: 1, redis: false, baselineArgs: ['--raw'] },
  // What two processes sharing the core cost by themselves: the floor split in two, each process
  // with half the subscribers and every publication posted to both (no broker between them).
  'bare-raw-2': { label: 'floor, 2 processes (half the subscribers each, every publication posted to both)', server: 'baseline', nodes: 2, redis: false, baselineArgs: ['--raw'], mirror: true },
};
const PARTS = ['broadcast', 'api', 'resubscribe'];

// ------------------------------------------------------------------ args

const argv = process.argv.slice(2);
const flags = new Set(argv.filter((a) => a.startsWith('--')));
const optVal = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : def;
};
const MEASURE_S = Number(optVal('measure', '10'));
const WARMUP_S = Number(optVal('warmup', '3'));
const SCALE = Number(optVal('scale', '1'));
const REPEAT = Math.max(1, Number(optVal('repeat', '1')) | 0);
const TARGET_IDS = optVal('targets', Object.keys(TARGETS).join(',')).split(',');
const PART_IDS = optVal('parts', PARTS.join(',')).split(',');
const LABEL = optVal('label', '');
const ROTOR_ROOT = path.resolve(optVal('rotor-root', ROOT));
const SIO_CLIENT = optVal('sio-client', 'official');
const SERVER_CPU = 0;
const GEN_CPU = 1;

const SUBSCRIBERS = 5000;
const RATE = Number(optVal('rate', '10'));
if (!(RATE > 0 && RATE <= 1000)) throw new Error(`--rate must be a number of publications per second in (0, 1000], not ${optVal('rate', '')}`);
const PAYLOAD_BYTES = 100;
const API_CONNECTIONS = 32;
const RESUB_CHANNELS = 100000;
const RESUB_PER_CONN = 1000;
const HIST_NS = 'benchhist';
const RESUBSCRIBED_MSG = 'redis: PUB/SUB connection back, channels resubscribed';

for (const t of TARGET_IDS) if (!TARGETS[t]) fail(`unknown target "${t}"; known: ${Object.keys(TARGETS).join(', ')}`);
for (const p of PART_IDS) if (!PARTS.includes(p)) fail(`unknown part "${p}"; known: ${PARTS.join(', ')}`);
if (SIO_CLIENT !== 'official' && SIO_CLIENT !== 'raw') fail('--sio-client is official or raw');

function fail(msg) {
  console.error(msg);
  process.exit(2);
}

/** Rotor's config on the bench's Redis: prefix `bench`, so nothing of Centrifugo's default shares it. */
function redisEngine(url) {
  return { engine: { type: 'redis', redis: { address: [url], prefix: 'bench' } } };
}

// ------------------------------------------------------------------ measurement edges

/** CPU of every node, of Redis and of the generator, system busy time and monotonic time. */
function sampleEdge(nodes, redis, gen) {
  return {
    hr: process.hrtime.bigint(),
    nodesUs: nodes.map((n) => cpuTimes(n.pid).totalUs),
    redisUs: redis ? cpuTimes(redis.pid).totalUs : 0,
    genUs: cpuTimes(gen.pid).totalUs,
    sys: systemBusy(),
  };
}

function windowStats(a, b) {
  const secs = Number(b.hr - a.hr) / 1e9;
  const nodesUs = b.nodesUs.map((v, i) => v - a.nodesUs[i]);
  const serverCpuUs = nodesUs.reduce((s, v) => s + v, 0);
  const redisCpuUs = b.redisUs - a.redisUs;
  const genCpuUs = b.genUs - a.genUs;
  const sysBusyUs = ((b.sys.cpu - a.sys.cpu) * 1e6) / CLK_TCK;
  const pct = (us) => (100 * us) / 1e6 / secs;
  return {
    seconds: secs,
    serverCpuUs,
    serverCpuPct: pct(serverCpuUs),
    nodeCpuUs: nodesUs,
    nodeCpuPct: nodesUs.map(pct),
    redisCpuUs,
    redisCpuPct: pct(redisCpuUs),
    genCpuUs,
    genCpuPct: pct(genCpuUs),
    otherCores: Math.max(0, (sysBusyUs - serverCpuUs - redisCpuUs - genCpuUs) / 1e6 / secs),
  };
}

/** `onWindow` for Gen.call: fills `box.win` from the window's two edges. */
function windowWatcher(nodes, redis, gen, box) {
  let a;
  return (ev) => {
    if (ev === 'window-start') a = sampleEdge(nodes, redis, gen);
    else if (ev === 'window-end') box.win = windowStats(a, sampleEdge(nodes, redis, gen));
  };
}

/** Starts `count` nodes of `server` (on Redis when `redis`), one after the other, all on the server core. */
async function startNodes(server, count, redis, overrides = {}, opts = {}) {
  const nodes = [];
  try {
    for (let i = 0; i < count; i++) {
      nodes.push(
        await startServer(server, {
          cpu: SERVER_CPU,
          rotorRoot: ROTOR_ROOT,
          rotorOverrides: server === 'rotor' ? { ...(redis ? redisEngine(redis.url) : {}), ...overrides } : undefined,
          redisUrl: server === 'socketio' ? redis?.url : undefined,
          ...opts,
        }),
      );
    }
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
  return nodes;
}

/** Runs `body` with a redis-server (when wanted) and the generator up; stops what it started. */
async function withSetup(wantRedis, body) {
  const redis = wantRedis ? await startRedis({ cpu: SERVER_CPU }) : undefined;
  const ctx = { redis, nodes: [], gen: undefined };
  try {
    ctx.gen = new Gen(GEN_CPU);
    await ctx.gen.ready();
    return await body(ctx);
  } finally {
    if (ctx.gen) await ctx.gen.exit();
    await Promise.all(ctx.nodes.map((n) => n.stop()));
    // The resubscribe part replaces the redis-server; stop whichever is current.
    await (ctx.redis ?? redis)?.stop();
  }
}

// ------------------------------------------------------------------ parts

async function runBroadcast(targetId) {
  const t = TARGETS[targetId];
  const n = Math.max(t.nodes, Math.round(SUBSCRIBERS * SCALE));
  return withSetup(t.redis, async (ctx) => {
    const { gen, redis } = ctx;
    ctx.nodes = await startNodes(t.server, t.nodes, redis, {}, { baselineArgs: t.baselineArgs });
    const nodes = ctx.nodes;
    await sleep(1000);
    const rss0 = nodes.map((x) => rssBytes(x.pid));
    const r = { target: targetId, nodes: nodes.length, pids: nodes.map((x) => x.pid), redisPid: redis?.pid };
    const conn = await gen.call({
      cmd: 'connect',
      target: t.server,
      urls: nodes.map((x) => x.wsUrl),
      protocol: 'json',
      sioClient: SIO_CLIENT,
      n,
      channels: 1,
      channelPrefix: CHANNEL_PREFIX,
      secret: SECRET,
      concurrency: 200,
    });
    r.connections = conn.ok;
    r.connectFailed = conn.failed;
    if (conn.failed) r.connectErrors = conn.errors;
    r.setupConnectsPerSec = conn.ok / (conn.ms / 1000);
    await sleep(2000);
    const rss1 = nodes.map((x) => rssBytes(x.pid));
    r.rssPerNodeMB = rss1.map((v) => v / 2 ** 20);
    r.rssPerConnKB = rss1.reduce((s, v, i) => s + v - rss0[i], 0) / 1024 / Math.max(1, conn.ok);
    const box = {};
    const res = await gen.call(
      {
        cmd: 'publish',
        apiUrl: nodes[0].apiUrl,
        apiKey: API_KEY,
        rate: RATE,
        warmupS: WARMUP_S,
        measureS: MEASURE_S,
        channels: 1,
        channelPrefix: CHANNEL_PREFIX,
        drainMs: 5000,
        payloadBytes: PAYLOAD_BYTES,
        ...(t.mirror ? { mirrorApiUrls: nodes.map((x) => x.apiUrl) } : {}),
      },
      windowWatcher(nodes, redis, gen, box),
    );
    Object.assign(r, res.stats);
    r.window = box.win;
    r.cpuUsPerDelivery = box.win.serverCpuUs / Math.max(1, res.stats.delivered);
    if (redis) r.redisCpuUsPerDelivery = box.win.redisCpuUs / Math.max(1, res.stats.delivered);
    r.genCpuUsPerDelivery = box.win.genCpuUs / Math.max(1, res.stats.delivered);
    await gen.call({ cmd: 'close' });
    return r;
  });
}

/**
 * API publishes through Redis, autocannon against node A: on a channel with history (the
 * figure asked for), then, in the same setup, on one without (PUBLISH only), so the cost of
 * keeping history stands apart from the cost of going through Redis at all.
 */
async function runApi() {
  const namespaces = [
    { name: 'bench', allow_subscribe_for_client: true },
    { name: HIST_NS, history_size: 100, history_ttl: '300s' },
  ];
  return withSetup(true, async (ctx) => {
    const { gen, redis } = ctx;
    ctx.nodes = await startNodes('rotor', 2, redis, { channel: { namespaces } });
    const nodes = ctx.nodes;
    await sleep(1000);
    const one = async (channel, history) => {
      const box = {};
      const res = await gen.call(
        { cmd: 'autocannon', apiUrl: nodes[0].apiUrl, apiKey: API_KEY, channel, connections: API_CONNECTIONS, durationS: MEASURE_S, subscribers: 0 },
        windowWatcher(nodes, redis, gen, box),
      );
      const r = { channel, ...res.stats, window: box.win };
      r.acknowledged = res.stats.requests - res.stats.non2xx;
      r.cpuUsPerRequest = box.win.serverCpuUs / Math.max(1, res.stats.requests);
      r.nodeACpuUsPerRequest = box.win.nodeCpuUs[0] / Math.max(1, res.stats.requests);
      r.redisCpuUsPerRequest = box.win.redisCpuUs / Math.max(1, res.stats.requests);
      // The stream's top offset, read through node B: every acknowledged publish is in it (it may
      // also count requests the server answered after autocannon stopped counting).
      if (history) r.historyOffset = await historyOffset(nodes[1], channel);
      return r;
    };
    const withHistory = await one(`${HIST_NS}:c0`, true);
    await sleep(1000);
    const withoutHistory = await one(`${CHANNEL_PREFIX}api`, false);
    return { nodes: nodes.length, connections: API_CONNECTIONS, history: withHistory, plain: withoutHistory };
  });
}

async function historyOffset(node, channel) {
  const url = new URL('/api/history', node.apiUrl);
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': API_KEY }, body: JSON.stringify({ channel, limit: 0 }) });
  const body = await res.json();
  return body?.result?.offset ?? null;
}

/**
 * Resolves once the node's resubscribed log lines (one per PUB/SUB connection: a node spreads
 * many channels over several) add up to `total` channels: {at (performance.now() of the last
 * line), channels (summed), ms (the largest), lines}.
 */
function resubscribedLines(node, total, timeoutMs) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const got = { channels: 0, ms: 0, lines: 0 };
    const onData = (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let m;
        try {
          m = JSON.parse(line);
        } catch {
          continue;
        }
        if (m.level === 'warn' || m.level === 'error') process.stderr.write(`[rotor] ${line}\n`);
        if (m.message === RESUBSCRIBED_MSG) {
          got.channels += m.channels;
          got.ms = Math.max(got.ms, m.ms);
          got.lines++;
          if (got.channels >= total) {
            done();
            resolve({ at: performance.now(), ...got });
          }
        }
      }
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`"${RESUBSCRIBED_MSG}" lines for ${got.channels} of ${total} channels within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      node.child.stdout.off('data', onData);
      node.child.stderr.off('data', onData);
    };
    node.child.stdout.on('data', onData);
    node.child.stderr.on('data', onData);
  });
}

async function runResubscribe() {
  const channels = Math.max(RESUB_PER_CONN, Math.round(RESUB_CHANNELS * SCALE));
  const conns = Math.ceil(channels / RESUB_PER_CONN);
  return withSetup(true, async (ctx) => {
    const { gen } = ctx;
    const overrides = { log: { level: 'info' }, client: { channel_limit: RESUB_PER_CONN } };
    ctx.nodes = await startNodes('rotor', 1, ctx.redis, overrides, { quiet: true });
    const node = ctx.nodes[0];
    await sleep(1000);
    const sub = await gen.call({ cmd: 'subscribeMany', url: node.wsUrl, n: conns, perConn: RESUB_PER_CONN, channelPrefix: 'bench:r', secret: SECRET, concurrency: 20 });
    const r = { connections: sub.ok, connectFailed: sub.failed, channels: sub.channels, subscribeMs: sub.ms };
    if (sub.failed) r.connectErrors = sub.errors;
    await sleep(1000);
    const line = resubscribedLines(node, sub.channels, 60000);
    line.catch(() => {});
    const port = ctx.redis.port;
    const tKill = performance.now();
    await ctx.redis.kill();
    ctx.redis = undefined;
    ctx.redis = await startRedis({ cpu: SERVER_CPU, port });
    const back = ctx.redis.readyAt;
    r.redisDownMs = back - tKill;
    const got = await line;
    r.backToLoggedMs = got.at - back;
    r.loggedChannels = got.channels;
    r.loggedMs = got.ms;
    r.loggedLines = got.lines;
    // Delivery afterwards: 100 publications/s over the first channels, one subscriber each.
    const probe = await gen.call({
      cmd: 'publish',
      apiUrl: node.apiUrl,
      apiKey: API_KEY,
      rate: 100,
      warmupS: 1,
      measureS: 2,
      channels: sub.channels,
      channelPrefix: 'bench:r',
      drainMs: 5000,
      payloadBytes: PAYLOAD_BYTES,
    });
    r.after = { expected: probe.stats.expected, delivered: probe.stats.delivered, lost: probe.stats.lost, publishErrors: probe.stats.publishErrors, closedUnexpectedly: probe.stats.closedUnexpectedly };
    await gen.call({ cmd: 'close' });
    return r;
  });
}

// ------------------------------------------------------------------ main

async function runStep(step) {
  if (step.part === 'broadcast') return runBroadcast(step.target);
  if (step.part === 'api') return runApi();
  return runResubscribe();
}

async function main() {
  const steps = [];
  for (const part of PART_IDS) {
    if (part === 'broadcast') for (const t of TARGET_IDS) steps.push({ part, target: t, key: `broadcast/${t}` });
    else steps.push({ part, key: part });
  }
  const command = `node bench/two-node.mjs ${argv.join(' ')}`.trim();
  const results = {
    command,
    label: LABEL,
    startedAt: new Date().toISOString(),
    machine: machineInfo(ROTOR_ROOT),
    settings: { measureS: MEASURE_S, warmupS: WARMUP_S, scale: SCALE, repeat: REPEAT, serverCpu: SERVER_CPU, generatorCpu: GEN_CPU, subscribers: Math.round(SUBSCRIBERS * SCALE), rate: RATE, payloadBytes: PAYLOAD_BYTES, rotorRoot: ROTOR_ROOT, sioClient: SIO_CLIENT },
    targets: Object.fromEntries(TARGET_IDS.map((t) => [t, TARGETS[t].label])),
  };
  console.error(`two-node bench: ${steps.map((s) => s.key).join(', ')}; servers and Redis on CPU ${SERVER_CPU}, generator on CPU ${GEN_CPU}; window ${MEASURE_S}s`);
  const runs = Object.fromEntries(steps.map((s) => [s.key, []]));
  for (let k = 0; k < REPEAT; k++) {
    // Every other round in reverse, so a steady drift of the machine favours no target.
    const order = k % 2 === 0 ? steps : [...steps].reverse();
    for (const step of order) {
      console.error(`\n== ${step.key}${REPEAT > 1 ? ` (run ${k + 1} of ${REPEAT})` : ''}`);
      try {
        runs[step.key].push(await runStep(step));
      } catch (err) {
        console.error(`   failed: ${err.stack ?? err}`);
        runs[step.key].push({ failed: String(err.message ?? err) });
      }
      await sleep(1000);
    }
  }
  const pick = (key) => (runs[key] === undefined ? undefined : REPEAT === 1 ? runs[key][0] : medianOf(runs[key]));
  results.broadcast = Object.fromEntries(TARGET_IDS.filter(() => PART_IDS.includes('broadcast')).map((t) => [t, pick(`broadcast/${t}`)]));
  results.api = pick('api');
  results.resubscribe = pick('resubscribe');
  if (REPEAT > 1) results.runs = runs;
  results.finishedAt = new Date().toISOString();
  results.checks = evaluateTwoNode(results);
  console.log(`\n${renderTwoNode(results)}`);
  if (!flags.has('--no-write')) {
    const file = path.join(ROOT, 'bench/results/two-node-latest.json');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(results, null, 2));
    console.error(`results: ${path.relative(ROOT, file)}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
