#!/usr/bin/env node
/**
 * Rotor benchmark suite (issue #5). Runs every scenario against Rotor AND the bare `ws` baseline
 * (bench/baseline-server.mjs), server pinned to CPU 0 and the load generator (bench/loadgen.mjs)
 * to CPU 1, and reports server CPU-µs per delivered message (/proc/PID/stat), delivered msg/s,
 * latency p50/p99/max, lost messages, RSS per connection, connects/s, with Rotor/baseline ratios.
 *
 *   node bench/run.mjs                     all scenarios → bench/results/latest.json + docs/performance.md
 *   node bench/run.mjs broadcast           one group (broadcast | channels | hot | idle | storm | api)
 *   node bench/run.mjs broadcast-json hot  individual cases work too
 *   node bench/run.mjs broadcast --profile Rotor and baseline under --cpu-prof; prints top self-time functions
 *
 * Options: --measure S (window, default 10), --warmup S (default 3), --scale F (multiplies the
 * connection counts, for smoke tests), --targets rotor,baseline, --write (write latest.json and
 * docs/performance.md even for a partial run), --no-write, --label TEXT (shown in the report),
 * --repeat N (run each case N times, Rotor and baseline alternating, and report the median of
 * every figure; the single runs are kept in the JSON under `runs`).
 *
 * Needs Linux (/proc, taskset), 2+ cores, `npm run build` done. Loopback only.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { cpuMicros, cpuTimes, rssBytes, sleep, systemBusy, CLK_TCK } from './lib/proc.mjs';
import { startServer, ROOT, SECRET, API_KEY, CHANNEL_PREFIX } from './lib/servers.mjs';
import { summarizeProfile, formatProfile } from './lib/profile.mjs';
import { Gen } from './lib/gen.mjs';
import { interleavedStorms } from './lib/interleaved.mjs';
import { renderMarkdown, renderCaseTable } from './report.mjs';
import { machineInfo } from './lib/machine.mjs';
import { ratio } from './lib/format.mjs';

// ------------------------------------------------------------------ scenarios

export const CASES = {
  'broadcast-json': {
    group: 'broadcast',
    kind: 'pubsub',
    title: '(a) Broadcast, JSON — 5,000 subscribers on one channel, 10 publications/s (50k deliveries/s)',
    protocol: 'json',
    n: 5000,
    channels: 1,
    rate: 10,
  },
  'broadcast-protobuf': {
    group: 'broadcast',
    kind: 'pubsub',
    title: '(a) Broadcast, Protobuf — 5,000 subscribers on one channel, 10 publications/s (50k deliveries/s)',
    protocol: 'protobuf',
    n: 5000,
    channels: 1,
    rate: 10,
  },
  'broadcast-protocols': {
    group: 'broadcast',
    kind: 'protocols',
    title:
      '(a) Protobuf against JSON in one server — 5,000 JSON subscribers on one channel and 5,000 Protobuf subscribers on another, all connected at once; 2-second slices of 10 publications/s alternate between the channels (order J-P-P-J, 6 such groups), and server CPU is read at each slice\'s edges',
    n: 10000,
    rate: 10,
    sliceS: 2,
    slices: 24,
  },
  channels: {
    group: 'channels',
    kind: 'pubsub',
    title: '(b) Many channels — 1,000 channels × 5 subscribers, 1,000 publications/s round-robin (5k deliveries/s)',
    protocol: 'json',
    n: 5000,
    channels: 1000,
    rate: 1000,
  },
  hot: {
    group: 'hot',
    kind: 'pubsub',
    title: '(c) Hot small channel — 100 subscribers, 1,000 publications/s (100k deliveries/s)',
    protocol: 'json',
    n: 100,
    channels: 1,
    rate: 1000,
  },
  idle: {
    group: 'idle',
    kind: 'idle',
    title: '(d) Idle memory — 15,000 connections, each subscribed to its own channel',
    protocol: 'json',
    n: 15000,
    channels: 15000,
  },
  storm: {
    group: 'storm',
    kind: 'storm',
    title:
      '(e) Connection storm — 10,000 connects, 200 in flight, after 10,000 warm-up connects, generator polling (Rotor: WebSocket + JWT connect command; baseline: plain upgrade)',
    protocol: 'json',
    n: 10000,
    warmup: 10000,
    concurrency: 200,
    poll: true,
  },
  'storm-sleeping': {
    group: 'storm',
    kind: 'storm',
    title: '(e, diagnostic) The same storm with a generator that sleeps between events: each wake-up of its idle core is charged to the server whose write woke it',
    protocol: 'json',
    n: 10000,
    warmup: 10000,
    concurrency: 200,
  },
  'storm-echo': {
    group: 'storm',
    kind: 'storm',
    title:
      '(e, diagnostic) Connection storm, the baseline doing the same round trips as Rotor — after the upgrade it reads the connect frame and writes a fixed reply (no JWT, no session)',
    protocol: 'json',
    n: 10000,
    warmup: 10000,
    concurrency: 200,
    echo: true,
    poll: true,
  },
  'storm-interleaved': {
    group: 'storm',
    kind: 'storm',
    paired: true,
    title:
      '(e, diagnostic) The storm with both servers up side by side on the server core, the generator alternating 2,000-connect storms between them, 15 rounds per run: a slow period of the VM slows both, so the ratio is steadier than that of whole storms run one after the other',
    protocol: 'json',
    n: 2000,
    rounds: 15,
    warmup: 10000,
    concurrency: 200,
  },
  'storm-echo-floor': {
    group: 'storm',
    kind: 'storm',
    paired: true,
    // Both columns are the baseline: the left one answers the connect frame (echo), the right one
    // does the plain upgrade. Stored under the rotor and baseline slots of the results.
    servers: [
      { slot: 'rotor', server: 'baseline-echo', target: 'baseline', echo: true },
      { slot: 'baseline', server: 'baseline', target: 'baseline' },
    ],
    columns: ['echo baseline', 'plain baseline'],
    title:
      '(e, diagnostic) The echo baseline against the plain one, side by side, storms interleaved as in `storm-interleaved`: what reading a connect frame and writing a fixed reply cost on their own, the floor under any server that answers a connect command',
    protocol: 'json',
    n: 2000,
    rounds: 15,
    warmup: 10000,
    concurrency: 200,
  },
  'api-nosubs': {
    group: 'api',
    kind: 'api',
    title: '(f) API publish throughput (autocannon, 32 connections) — channel without subscribers',
    subscribers: 0,
    connections: 32,
  },
  'api-subs': {
    group: 'api',
    kind: 'api',
    title: '(f) API publish throughput (autocannon, 32 connections) — channel with 10 subscribers',
    protocol: 'json',
    subscribers: 10,
    connections: 32,
  },
};

// ------------------------------------------------------------------ args

const argv = process.argv.slice(2);
const flags = new Set(argv.filter((a) => a.startsWith('--')));
const optVal = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : def;
};
const valueOpts = new Set(['--measure', '--warmup', '--scale', '--targets', '--label', '--repeat']);
const positional = argv.filter((a, i) => !a.startsWith('--') && !valueOpts.has(argv[i - 1]));
const MEASURE_S = Number(optVal('measure', '10'));
const WARMUP_S = Number(optVal('warmup', '3'));
const SCALE = Number(optVal('scale', '1'));
const TARGETS = optVal('targets', 'baseline,rotor').split(',');
const PROFILE = flags.has('--profile');
const LABEL = optVal('label', '');
const SERVER_CPU = 0;
const GEN_CPU = 1;

function selectCases() {
  if (positional.length === 0 || positional.includes('all')) return Object.keys(CASES);
  const out = [];
  for (const p of positional) {
    const matched = Object.keys(CASES).filter((k) => k === p || CASES[k].group === p);
    if (matched.length === 0) {
      console.error(`unknown scenario "${p}"; known: ${[...new Set(Object.values(CASES).map((c) => c.group))].join(', ')}, ${Object.keys(CASES).join(', ')}`);
      process.exit(2);
    }
    for (const m of matched) if (!out.includes(m)) out.push(m);
  }
  return out;
}

// ------------------------------------------------------------------ machine / noise

// ------------------------------------------------------------------ load generator driver

function serverCpu(pid) {
  const t = cpuTimes(pid);
  return { serverCpuUs: t.totalUs, serverSysUs: t.sysUs };
}

/** Samples CPU of server and generator, system busy and monotonic time at a window edge. */
function sampleEdge(server, gen) {
  return {
    hr: process.hrtime.bigint(),
    ...serverCpu(server.pid),
    genCpuUs: cpuMicros(gen.pid),
    sys: systemBusy(),
  };
}

function windowStats(a, b) {
  const secs = Number(b.hr - a.hr) / 1e9;
  const serverCpuUs = b.serverCpuUs - a.serverCpuUs;
  const genCpuUs = b.genCpuUs - a.genCpuUs;
  const sysBusyUs = ((b.sys.cpu - a.sys.cpu) * 1e6) / CLK_TCK;
  const otherCores = Math.max(0, (sysBusyUs - serverCpuUs - genCpuUs) / 1e6 / secs);
  return {
    seconds: secs,
    serverCpuUs,
    serverCpuPct: (100 * serverCpuUs) / 1e6 / secs,
    serverSysUs: b.serverSysUs - a.serverSysUs,
    genCpuPct: (100 * genCpuUs) / 1e6 / secs,
    otherCores,
    // hrtime is CLOCK_MONOTONIC in ns; V8 profile timestamps are the same clock in µs.
    startUs: Number(a.hr / 1000n),
    endUs: Number(b.hr / 1000n),
  };
}

// ------------------------------------------------------------------ one case × one target

async function runTarget(caseId, target) {
  const c = CASES[caseId];
  const n = Math.max(1, Math.round((c.n ?? 0) * SCALE));
  const profileDir = PROFILE ? path.join(ROOT, 'bench/results/profiles') : undefined;
  const profileName = `${target}-${caseId}-${Date.now()}.cpuprofile`;
  const server = await startServer(target, { cpu: SERVER_CPU, profileDir, profileName });
  const gen = new Gen(GEN_CPU);
  const r = { target, pid: server.pid };
  let win;
  try {
    await gen.ready();
    await sleep(1000);
    const rss0 = rssBytes(server.pid);
    r.rssStartMB = rss0 / 2 ** 20;

    const subscribers = c.kind === 'api' ? Math.round(c.subscribers * SCALE) : n;
    if (c.kind !== 'storm' && subscribers > 0) {
      const conn = await gen.call({
        cmd: 'connect',
        target,
        url: server.wsUrl,
        protocol: c.protocol ?? 'json',
        // Channel 0 gets the JSON subscribers, channel 1 the Protobuf ones (connection i: i % 2).
        protocols: c.kind === 'protocols' ? ['json', 'protobuf'] : undefined,
        n: subscribers,
        channels: c.kind === 'api' ? 1 : c.kind === 'protocols' ? 2 : Math.min(c.channels, subscribers),
        channelPrefix: CHANNEL_PREFIX,
        secret: SECRET,
        concurrency: 200,
      });
      r.connections = conn.ok;
      r.connectFailed = conn.failed;
      if (conn.failed) r.connectErrors = conn.errors;
      r.setupConnectsPerSec = conn.ok / (conn.ms / 1000);
      await sleep(c.kind === 'idle' ? 5000 : 2000);
      const rss1 = rssBytes(server.pid);
      r.rssAfterConnectMB = rss1 / 2 ** 20;
      r.rssPerConnKB = (rss1 - rss0) / 1024 / conn.ok;
    }

    let a;
    const onWindow = (ev) => {
      if (ev === 'window-start') a = sampleEdge(server, gen);
      else win = windowStats(a, sampleEdge(server, gen));
    };

    if (c.kind === 'pubsub') {
      const res = await gen.call(
        {
          cmd: 'publish',
          apiUrl: server.apiUrl,
          apiKey: API_KEY,
          rate: c.rate,
          warmupS: WARMUP_S,
          measureS: MEASURE_S,
          channels: Math.min(c.channels, n),
          channelPrefix: CHANNEL_PREFIX,
          drainMs: 5000,
          payloadBytes: 100,
        },
        onWindow,
      );
      Object.assign(r, res.stats);
      r.cpuUsPerDelivery = win.serverCpuUs / Math.max(1, res.stats.delivered);
    } else if (c.kind === 'protocols') {
      Object.assign(r, await runProtocolSlices(c, server, gen, onWindow));
    } else if (c.kind === 'storm') {
      const res = await gen.call({ cmd: 'storm', target, url: server.wsUrl, protocol: 'json', n, warmup: Math.round((c.warmup ?? 0) * SCALE), concurrency: c.concurrency, echo: c.echo === true, poll: c.poll === true, secret: SECRET }, onWindow);
      Object.assign(r, res.stats);
      r.cpuUsPerConnect = win.serverCpuUs / Math.max(1, res.stats.connects);
      r.sysUsPerConnect = win.serverSysUs / Math.max(1, res.stats.connects);
    } else if (c.kind === 'api') {
      const res = await gen.call(
        {
          cmd: 'autocannon',
          apiUrl: server.apiUrl,
          apiKey: API_KEY,
          channel: `${CHANNEL_PREFIX}0`,
          connections: c.connections,
          durationS: MEASURE_S,
          subscribers,
        },
        onWindow,
      );
      Object.assign(r, res.stats);
      r.subscribers = subscribers;
      r.cpuUsPerRequest = win.serverCpuUs / Math.max(1, res.stats.requests);
      r.deliveriesPerSec = res.stats.deliveries / (win.seconds || 1);
    }
    if (win) r.window = win;

    await gen.call({ cmd: 'close' });
  } finally {
    await gen.exit();
    await server.stop();
  }
  if (PROFILE && server.profilePath) {
    await sleep(300);
    try {
      const s = summarizeProfile(server.profilePath, { top: 15, window: win && { startUs: win.startUs, endUs: win.endUs }, root: ROOT });
      r.profile = s;
      console.log(`\n${formatProfile(s, `CPU profile, ${target} ${caseId} (${path.relative(ROOT, server.profilePath)})`)}\n`);
    } catch (err) {
      console.error(`could not read profile ${server.profilePath}: ${err.message}`);
    }
  }
  return r;
}

/**
 * JSON and Protobuf subscribers of one server, measured in alternating slices: the two protocols'
 * separate broadcast cases run tens of seconds apart, and the machine's drift between them was
 * larger than any difference between the two paths. Server CPU of a slice, from its first
 * publish until its last delivery arrived, over the deliveries of that slice.
 */
async function runProtocolSlices(c, server, gen, onWindow) {
  const cpu = [];
  let t0;
  const res = await gen.call(
    { cmd: 'slices', apiUrl: server.apiUrl, apiKey: API_KEY, rate: c.rate, warmupS: WARMUP_S, sliceS: c.sliceS, slices: c.slices, channelPrefix: CHANNEL_PREFIX, drainMs: 5000, payloadBytes: 100 },
    (ev, m) => {
      if (ev !== 'slice') onWindow(ev);
      else if (m.phase === 'start') t0 = cpuTimes(server.pid).totalUs;
      else cpu.push(cpuTimes(server.pid).totalUs - t0);
    },
  );
  const slices = res.stats.slices.map((s, i) => ({ ...s, cpuUs: cpu[i] }));
  const sum = (ch, key) => slices.filter((s) => s.ch === ch).reduce((acc, s) => acc + s[key], 0);
  const perDelivery = (s) => s.cpuUs / Math.max(1, s.delivered);
  const json = sum(0, 'cpuUs') / Math.max(1, sum(0, 'delivered'));
  const protobuf = sum(1, 'cpuUs') / Math.max(1, sum(1, 'delivered'));
  const expected = sum(0, 'expected') + sum(1, 'expected');
  const delivered = sum(0, 'delivered') + sum(1, 'delivered');
  return {
    jsonCpuUsPerDelivery: json,
    protobufCpuUsPerDelivery: protobuf,
    protobufToJson: protobuf / json,
    // Per slice, in order: channel (0 JSON, 1 Protobuf) and CPU-µs per delivery. The report
    // reads the J-P-P-J groups from these.
    slices: slices.map((s) => [s.ch, Number(perDelivery(s).toFixed(3))]),
    expected,
    delivered,
    lost: Math.max(0, expected - delivered),
    publishErrors: res.stats.publishErrors,
    closedUnexpectedly: res.stats.closedUnexpectedly,
  };
}

/**
 * A paired case: both servers at once, storms interleaved (lib/interleaved.mjs). The servers are
 * the case's `servers` (each stored under its `slot`), or else Rotor and the baseline. Resolves
 * with the result per slot.
 */
async function runPaired(caseId) {
  const c = CASES[caseId];
  const specs = c.servers ?? TARGETS.map((t) => ({ slot: t, server: t, target: t }));
  if (!specs.every((s) => TARGETS.includes(s.slot)) || TARGETS.length !== 2) {
    throw new Error(`${caseId} runs two servers at once and fills both columns: it needs --targets with both (got ${TARGETS.join(',')})`);
  }
  const gen = new Gen(GEN_CPU);
  const servers = [];
  try {
    await gen.ready();
    for (const s of specs) servers.push({ ...(await startServer(s.target, { cpu: SERVER_CPU })), echo: s.echo });
    await sleep(1000);
    const n = Math.max(1, Math.round(c.n * SCALE));
    const { results } = await interleavedStorms(gen, servers, { n, rounds: c.rounds, warmup: Math.round(c.warmup * SCALE), concurrency: c.concurrency, echo: false, secret: SECRET });
    // Per-round figures stay out: the run's median merge would keep only the first run's.
    return Object.fromEntries(specs.map((s, i) => [s.slot, { target: s.target, server: s.server, pid: servers[i].pid, attempted: n * c.rounds, ...results[i], perRound: undefined }]));
  } finally {
    await gen.exit();
    await Promise.all(servers.map((s) => s.stop()));
  }
}

// ------------------------------------------------------------------ main

const HEADLINE = ['protobufToJson', 'cpuUsPerDelivery', 'cpuUsPerConnect', 'cpuUsPerRequest', 'rssPerConnKB', 'connectsPerSec', 'requestsPerSec'];

/** The element-wise median of several runs' results (numbers, one level of nested objects). */
function medianResult(runs) {
  const ok = runs.filter((r) => !r.failed);
  if (ok.length === 0) return runs[0];
  const med = (xs) => {
    const s = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
    return s.length === 0 ? undefined : s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const merge = (objs) => {
    const out = { ...objs[0] };
    for (const key of Object.keys(objs[0])) {
      const vals = objs.map((o) => o[key]);
      if (typeof vals[0] === 'number') out[key] = med(vals) ?? vals[0];
      else if (vals[0] && typeof vals[0] === 'object' && !Array.isArray(vals[0])) out[key] = merge(vals.map((v) => v ?? {}));
    }
    return out;
  };
  // The headline figures of every run, so the spread behind each median stays visible. A failed
  // run keeps its place, so index i is round i+1 in every case and target.
  const perRun = runs.map((r) =>
    r.failed
      ? { failed: true }
      : Object.fromEntries(
          HEADLINE.filter((k) => typeof r[k] === 'number')
            .map((k) => [k, r[k]])
            .concat(r.latencyMs ? [['p99Ms', r.latencyMs.p99]] : [])
            .concat(Array.isArray(r.slices) ? [['slices', r.slices]] : []),
        ),
  );
  const merged = merge(ok);
  // Arrays have no median: a run's per-slice figures stay in its perRun entry.
  for (const key of Object.keys(merged)) if (Array.isArray(merged[key])) delete merged[key];
  return { ...merged, runs: ok.length, failedRuns: runs.length - ok.length, perRun };
}

async function main() {
  const caseIds = selectCases();
  const full = positional.length === 0 || positional.includes('all');
  const machine = machineInfo();
  const command = `node bench/run.mjs ${process.argv.slice(2).join(' ')}`.trim();
  const startedAt = new Date();
  console.error(`Rotor bench: ${caseIds.join(', ')}; server on CPU ${SERVER_CPU}, generator on CPU ${GEN_CPU}; window ${MEASURE_S}s${PROFILE ? '; PROFILING (numbers include profiler overhead)' : ''}`);
  const results = {
    command,
    label: LABEL,
    profile: PROFILE,
    startedAt: startedAt.toISOString(),
    machine,
    settings: { measureS: MEASURE_S, warmupS: WARMUP_S, scale: SCALE, serverCpu: SERVER_CPU, generatorCpu: GEN_CPU },
    cases: {},
  };
  const repeat = Math.max(1, Number(optVal('repeat', '1')) | 0);
  results.settings.repeat = repeat;
  // Rounds are interleaved across cases (round 1 of every case, then round 2, ...), Rotor and the
  // baseline alternating within each, so slow drift of the machine spreads over all figures.
  const runs = Object.fromEntries(caseIds.map((id) => [id, Object.fromEntries(TARGETS.map((t) => [t, []]))]));
  // Every other round runs the cases and the targets in reverse, so a steady drift of the machine
  // does not always favour whichever runs first (JSON before Protobuf, Rotor before the baseline).
  // With an even number of rounds such a drift cancels out of the comparisons.
  for (let k = 0; k < repeat; k++) {
    const order = k % 2 === 0 ? caseIds : [...caseIds].reverse();
    const targets = k % 2 === 0 ? TARGETS : [...TARGETS].reverse();
    for (const id of order) {
      if (CASES[id].paired) {
        console.error(`\n== ${id} / ${TARGETS.join(' + ')}${repeat > 1 ? ` (run ${k + 1} of ${repeat})` : ''}`);
        try {
          const pair = await runPaired(id);
          for (const target of TARGETS) runs[id][target].push(pair[target]);
        } catch (err) {
          console.error(`   failed: ${err.stack ?? err}`);
          for (const target of TARGETS) runs[id][target].push({ target, failed: String(err.message ?? err) });
        }
        await sleep(1000);
        continue;
      }
      for (const target of targets) {
        console.error(`\n== ${id} / ${target}${repeat > 1 ? ` (run ${k + 1} of ${repeat})` : ''}`);
        try {
          runs[id][target].push(await runTarget(id, target));
        } catch (err) {
          console.error(`   failed: ${err.stack ?? err}`);
          runs[id][target].push({ target, failed: String(err.message ?? err) });
        }
        await sleep(1000);
      }
    }
  }
  for (const id of caseIds) {
    const entry = { id, ...CASES[id], results: {} };
    for (const target of TARGETS) entry.results[target] = repeat === 1 ? runs[id][target][0] : medianResult(runs[id][target]);
    results.cases[id] = entry;
    console.log(`\n${renderCaseTable(entry, results)}\n`);
  }
  results.finishedAt = new Date().toISOString();
  results.machine.loadavgEnd = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

  const outDir = path.join(ROOT, 'bench/results');
  mkdirSync(outDir, { recursive: true });
  const write = (full || flags.has('--write')) && !flags.has('--no-write') && !PROFILE;
  const file = write ? path.join(outDir, 'latest.json') : path.join(outDir, PROFILE ? 'last-profile.json' : 'last-partial.json');
  writeFileSync(file, JSON.stringify(results, null, 2));
  console.error(`results: ${path.relative(ROOT, file)}`);
  if (write) {
    writeFileSync(path.join(ROOT, 'docs/performance.md'), renderMarkdown(results));
    console.error('report: docs/performance.md');
  }
}

export { ratio };

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
