#!/usr/bin/env node
/**
 * Rotor against the real Centrifugo v1.8 (Go; `../shared/reference/centrifugo-v1.8.0`, a
 * development aid: this script is not part of `npm test` and stops with one line when the binary
 * is missing). Both start from one v1 config file and are driven the same way: Centrifugo v1
 * clients over WebSocket (connect with v1's HMAC token, subscribe; v1 `message` pushes), and
 * publications through v1's signed API at `/api/`, one command per request. Rotor serves both as
 * it serves any v1 deployment (its v1 protocol and `http_api.v1_format`).
 *
 * Cases (`--cases`, default both), the shapes of bench/run.mjs:
 *  broadcast  5,000 subscribers on one channel, 10 publications/s (50k deliveries/s);
 *  channels   1,000 channels × 5 subscribers, 1,000 publications/s round-robin (5k deliveries/s).
 *
 * The server on CPU 0, the generator (bench/loadgen.mjs) on CPU 1; server CPU-µs per delivery is
 * its utime+stime over the window divided by the deliveries received. `--repeat N` alternates
 * the servers, every other round reversed, and reports medians. Options: --measure S (10),
 * --warmup S (3), --scale F, --repeat N (1), --cases LIST.
 *
 * Needs Linux (/proc, taskset), 2+ cores and a built dist/.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cpuTimes, freePort, rssBytes, sleep, spawnPinned, stopProcess, waitHttp } from './lib/proc.mjs';
import { ROOT, CHANNEL_PREFIX } from './lib/servers.mjs';
import { Gen } from './lib/gen.mjs';
import { num, x } from './lib/format.mjs';

const V1 = path.resolve(ROOT, '../shared/reference/centrifugo-v1.8.0');
if (!existsSync(V1)) {
  console.error(`v1-compare needs the reference Centrifugo v1.8 at ${V1}`);
  process.exit(2);
}
if (!existsSync(path.join(ROOT, 'dist/cli/main.js'))) {
  console.error('v1-compare needs a built Rotor: run `npm run build` first');
  process.exit(2);
}

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : def;
};
const MEASURE_S = Number(opt('measure', '10'));
const WARMUP_S = Number(opt('warmup', '3'));
const SCALE = Number(opt('scale', '1'));
const REPEAT = Math.max(1, Number(opt('repeat', '1')) | 0);
const CASE_IDS = opt('cases', 'broadcast,channels').split(',');
const SERVER_CPU = 0;
const GEN_CPU = 1;
const SECRET = 'v1-compare-secret';

const CASES = {
  broadcast: { title: '5,000 subscribers on one channel, 10 publications/s', n: 5000, channels: 1, rate: 10 },
  channels: { title: '1,000 channels × 5 subscribers, 1,000 publications/s round-robin', n: 5000, channels: 1000, rate: 1000 },
};
const SERVERS = {
  centrifugo: 'Centrifugo v1.8 (Go)',
  rotor: 'Rotor (v1 clients and API)',
};
for (const c of CASE_IDS) if (!CASES[c]) throw new Error(`unknown case ${c}; use ${Object.keys(CASES).join(', ')}`);

// The namespace of the generator's channels (`bench:c0`...), with nothing else switched on.
const dir = mkdtempSync(path.join(tmpdir(), 'rotor-v1-compare-'));
const configFile = path.join(dir, 'v1.json');
writeFileSync(configFile, JSON.stringify({ secret: SECRET, namespaces: [{ name: CHANNEL_PREFIX.split(':')[0] }] }));

async function startServer(kind) {
  const port = await freePort();
  const args =
    kind === 'centrifugo'
      ? [V1, '--config', configFile, '--port', String(port), '--address', '127.0.0.1', '--log_level', 'error']
      : [process.execPath, path.join(ROOT, 'dist/cli/main.js'), '-c', configFile, '--port', String(port), '--address', '127.0.0.1', '--log.level', 'error'];
  const child = spawnPinned(SERVER_CPU, args, { cwd: dir, quiet: true });
  await waitHttp(`http://127.0.0.1:${port}/connection/info`).catch(async (err) => {
    await stopProcess(child);
    throw err;
  });
  return { child, pid: child.pid, wsUrl: `ws://127.0.0.1:${port}/connection/websocket`, apiUrl: `http://127.0.0.1:${port}/api/` };
}

async function runCase(caseId, kind) {
  const c = CASES[caseId];
  const n = Math.max(1, Math.round(c.n * SCALE));
  const gen = new Gen(GEN_CPU, { quiet: true });
  let server;
  try {
    await gen.ready();
    server = await startServer(kind);
    await sleep(500);
    const rss0 = rssBytes(server.pid);
    const conn = await gen.call({ cmd: 'connect', target: 'v1', urls: [server.wsUrl], protocol: 'json', n, channels: Math.min(c.channels, n), channelPrefix: CHANNEL_PREFIX, secret: SECRET, concurrency: 100 });
    if (conn.failed > 0) throw new Error(`${conn.failed} connects failed: ${JSON.stringify(conn.errors)}`);
    await sleep(1500);
    const rssPerConnKB = (rssBytes(server.pid) - rss0) / 1024 / conn.ok;
    let a;
    let win;
    const res = await gen.call(
      { cmd: 'publish', apiUrl: server.apiUrl, v1Secret: SECRET, rate: c.rate, warmupS: WARMUP_S, measureS: MEASURE_S, channels: Math.min(c.channels, n), channelPrefix: CHANNEL_PREFIX, drainMs: 5000, payloadBytes: 100 },
      (ev) => {
        if (ev === 'window-start') a = { t: process.hrtime.bigint(), cpu: cpuTimes(server.pid).totalUs };
        else if (ev === 'window-end') win = { seconds: Number(process.hrtime.bigint() - a.t) / 1e9, cpuUs: cpuTimes(server.pid).totalUs - a.cpu };
      },
    );
    await gen.call({ cmd: 'close' });
    const s = res.stats;
    return {
      connections: conn.ok,
      delivered: s.delivered,
      expected: s.expected,
      lost: s.lost,
      publishErrors: s.publishErrors,
      closedUnexpectedly: s.closedUnexpectedly,
      cpuUsPerDelivery: win.cpuUs / Math.max(1, s.delivered),
      cpuPct: (100 * win.cpuUs) / 1e6 / win.seconds,
      p50: s.latencyMs?.p50,
      p99: s.latencyMs?.p99,
      rssPerConnKB,
    };
  } finally {
    await gen.exit();
    if (server) await stopProcess(server.child);
  }
}

const median = (xs) => {
  const s = xs.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((p, q) => p - q);
  return s.length === 0 ? undefined : s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const results = {};
for (const caseId of CASE_IDS) {
  const runs = { centrifugo: [], rotor: [] };
  for (let round = 0; round < REPEAT; round++) {
    const order = round % 2 === 0 ? ['centrifugo', 'rotor'] : ['rotor', 'centrifugo'];
    for (const kind of order) {
      process.stderr.write(`== ${caseId} / ${kind} (round ${round + 1} of ${REPEAT})\n`);
      runs[kind].push(await runCase(caseId, kind));
    }
  }
  results[caseId] = runs;
}

const started = new Date().toISOString();
console.log(`## Rotor against Centrifugo v1.8 (\`node bench/v1-compare.mjs${argv.length ? ` ${argv.join(' ')}` : ''}\`, ${started})\n`);
console.log(`Server on CPU ${SERVER_CPU}, generator on CPU ${GEN_CPU}; v1 clients and v1's signed API for both, one v1 config file; window ${MEASURE_S} s after ${WARMUP_S} s of warm-up; ${REPEAT} round(s), medians.\n`);
const ROWS = [
  ['Server CPU-µs per delivered message', (r) => r.cpuUsPerDelivery, (v) => num(v, 2), true],
  ['Server CPU (% of a core)', (r) => r.cpuPct, (v) => num(v, 0), true],
  ['Latency p50 (ms)', (r) => r.p50, (v) => num(v, 2), true],
  ['Latency p99 (ms)', (r) => r.p99, (v) => num(v, 2), true],
  ['RSS per connection (KB)', (r) => r.rssPerConnKB, (v) => num(v, 1), true],
  ['Lost (of expected), summed', null, null, false],
  ['Publish errors / unexpected disconnects, summed', null, null, false],
];
for (const [caseId, runs] of Object.entries(results)) {
  console.log(`### ${CASES[caseId].title}\n`);
  console.log(`| Metric | ${SERVERS.centrifugo} | ${SERVERS.rotor} | Rotor / Centrifugo |\n|---|---:|---:|---:|`);
  for (const [label, get, fmt, ratio] of ROWS) {
    if (get === null) {
      const sum = (k, f) => runs[k].reduce((acc, r) => acc + f(r), 0);
      const cell =
        label.startsWith('Lost')
          ? (k) => `${sum(k, (r) => r.lost)} of ${sum(k, (r) => r.expected)}`
          : (k) => `${sum(k, (r) => r.publishErrors)} / ${sum(k, (r) => r.closedUnexpectedly)}`;
      console.log(`| ${label} | ${cell('centrifugo')} | ${cell('rotor')} | |`);
      continue;
    }
    const [cv, rv] = [median(runs.centrifugo.map(get)), median(runs.rotor.map(get))];
    console.log(`| ${label} | ${fmt(cv)} | ${fmt(rv)} | ${ratio && cv && rv !== undefined ? x(rv / cv) : ''} |`);
  }
  console.log(`\nPer round, CPU-µs per delivery: Centrifugo ${runs.centrifugo.map((r) => num(r.cpuUsPerDelivery, 2)).join(', ')}; Rotor ${runs.rotor.map((r) => num(r.cpuUsPerDelivery, 2)).join(', ')}\n`);
}
