#!/usr/bin/env node
// Which Redis client for Rotor's Redis engine (issue #17 item 6): ioredis against node-redis,
// measured on what the engine does most, plus small probes of the features it needs.
//
//   node bench/redis-clients.mjs [--url redis://127.0.0.1:6379] [--seconds 5] [--rounds 3]
//        [--client-dir /tmp/redis-cmp/node_modules] [--clients ioredis,node-redis]
//        [--no-probes | --probes-only] [--json out.json]
//
// Cases, each client in turn with the order alternating by round (A B, B A, A B ...) so drift of
// the machine falls on both:
// - history publish: EVALSHA of a script shaped like Centrifugo's history add (meta HINCRBY, XADD
//   with MAXLEN ~ and the offset as ID, EXPIRE both keys, PUBLISH), 100-byte payload, one in
//   flight, then 100 in flight (p50/p99 latency from the latter);
// - PUB/SUB: a subscriber process on 1,000 channels, a publisher process publishing 100-byte
//   Buffers round-robin with 500 in flight; messages/s received and the subscriber's CPU;
// - resubscribe: one connection SUBSCRIBEs 100,000 channels in batches of 512 (all sent at once),
//   as one command, and by the client's own resubscription after CLIENT KILL.
// Keys and channels carry a unique prefix; the keys are deleted at the end. Loopback only.
import { fork } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadVariant } from './lib/redis-client-adapters.mjs';
import { runProbes, probeTable } from './lib/redis-client-probes.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    url: { type: 'string', default: 'redis://127.0.0.1:6379' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    'client-dir': { type: 'string', default: existsSync('/tmp/redis-cmp/node_modules') ? '/tmp/redis-cmp/node_modules' : join(here, '..', 'node_modules') },
    clients: { type: 'string', default: 'ioredis,node-redis' },
    'no-probes': { type: 'boolean', default: false },
    'probes-only': { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const SECONDS = Number(args.seconds);
const ROUNDS = Number(args.rounds);
const WARMUP_MS = 1000;
const PAYLOAD = 100;
const INFLIGHT = 100;
const PUBSUB_CHANNELS = 1000;
const PUBSUB_INFLIGHT = 500;
const RESUB_CHANNELS = 100_000;
const RESUB_BATCH = 512;
const HISTORY_CHANNELS = 64;

const clientDir = args['client-dir'];
const clients = [];
for (const v of args.clients.split(',')) clients.push(await loadVariant(clientDir, v.trim()));
const prefix = `rcbench:${process.pid}:${Date.now().toString(36)}:`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The history add, written for this bench after the shape of Centrifugo's: the meta hash holds the
// top offset (`s`) and the stream's epoch (`e`), the stream entry's ID is `<offset>-0`.
// KEYS: stream, meta. ARGV: payload, max stream length, stream TTL s, channel, meta TTL s, epoch.
const HISTORY_LUA = `
local epoch = redis.call('hget', KEYS[2], 'e')
if not epoch then
  epoch = ARGV[6]
  redis.call('hset', KEYS[2], 'e', epoch)
end
local offset = redis.call('hincrby', KEYS[2], 's', 1)
redis.call('xadd', KEYS[1], 'MAXLEN', '~', ARGV[2], offset .. '-0', 'd', ARGV[1])
redis.call('expire', KEYS[1], ARGV[3])
redis.call('expire', KEYS[2], ARGV[5])
redis.call('publish', ARGV[4], '__p1:' .. offset .. ':' .. epoch .. '__' .. ARGV[1])
return {offset, epoch}
`;

/** Runs history adds for `ms` with `inflight` loops; returns requests/s and latency percentiles. */
async function historyCase(client, inflight, ms, keepLatency) {
  const conn = await client.connect(args.url);
  const sha = await conn.scriptLoad(HISTORY_LUA);
  const payload = Buffer.alloc(PAYLOAD, 0x61);
  let i = 0;
  const one = () => {
    const ch = i++ % HISTORY_CHANNELS;
    return conn.evalsha(sha, [`${prefix}s:{${ch}}`, `${prefix}m:{${ch}}`], [payload, '100', '300', `${prefix}p:${ch}`, '600', 'bench']);
  };
  const lat = [];
  let n = 0;
  let recording = false;
  let end = performance.now() + WARMUP_MS;
  const loop = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await one();
      if (recording) {
        n++;
        if (keepLatency) lat.push(performance.now() - t0);
      }
    }
  };
  await Promise.all(Array.from({ length: inflight }, loop));
  recording = true;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  end = t0 + ms;
  await Promise.all(Array.from({ length: inflight }, loop));
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await conn.close();
  lat.sort((a, b) => a - b);
  const pct = (p) => (lat.length === 0 ? NaN : lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))]);
  // This process does nothing else meanwhile: its CPU is the client's (and the loop's, the same for both).
  return { rps: (n / elapsed) * 1000, usPerReq: (cpu.user + cpu.system) / n, p50: pct(50), p99: pct(99) };
}

function child(role, variant, channels) {
  const cfg = { role, clientDir, variant, url: args.url, channels, payloadBytes: PAYLOAD, inflight: PUBSUB_INFLIGHT };
  const cp = fork(join(here, 'lib', 'redis-pubsub-child.mjs'), [JSON.stringify(cfg)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiters = [];
  cp.on('message', (m) => waiters.shift()?.(m));
  const ask = (m) => new Promise((resolve) => { waiters.push(resolve); if (m !== undefined) cp.send(m); });
  return { cp, ask, ready: ask() };
}

async function pubsubCase(client, ms) {
  const channels = Array.from({ length: PUBSUB_CHANNELS }, (_, i) => `${prefix}ps:${i}`);
  const sub = child('sub', client.name, channels);
  await sub.ready;
  const pub = child('pub', client.name, channels);
  await pub.ready;
  pub.cp.send('start');
  await sleep(WARMUP_MS);
  const [s0, p0] = await Promise.all([sub.ask('mark'), pub.ask('mark')]);
  await sleep(ms);
  const [s1, p1] = await Promise.all([sub.ask('mark'), pub.ask('mark')]);
  await pub.ask('stop');
  const a = s0.mark, b = s1.mark, pa = p0.mark, pb = p1.mark;
  const secs = (b.t - a.t) / 1000;
  const received = b.count - a.count;
  sub.cp.disconnect();
  pub.cp.disconnect();
  return {
    msgs: received / secs,
    published: (pb.count - pa.count) / ((pb.t - pa.t) / 1000),
    subCpu: (b.cpuUs - a.cpuUs) / 1e4 / secs, // % of one core
    subUsPerMsg: (b.cpuUs - a.cpuUs) / received,
    pubUsPerMsg: (pb.cpuUs - pa.cpuUs) / (pb.count - pa.count),
    invalid: b.bad + (b.closed ? 1 : 0) + pb.errors,
  };
}

/** Time to SUBSCRIBE `RESUB_CHANNELS` channels: in batches, as one command, and by reconnection. */
async function resubscribeCase(client) {
  const names = Array.from({ length: RESUB_CHANNELS }, (_, i) => `${prefix}rs:channel:${i}`);
  const out = {};
  {
    const conn = await client.connect(args.url);
    const t0 = performance.now();
    const batches = [];
    for (let i = 0; i < names.length; i += RESUB_BATCH) batches.push(conn.subscribe(names.slice(i, i + RESUB_BATCH), () => {}));
    await Promise.all(batches);
    out.batched = performance.now() - t0;
    await conn.close();
  }
  {
    const name = `rcbench-${process.pid}-${client.name}`;
    const conn = await client.connect(args.url, { name, reconnectMs: 1 });
    let t0 = performance.now();
    await conn.subscribe(names, () => {});
    out.single = performance.now() - t0;
    // What a node does when Redis comes back: the client resubscribes by itself. Timed from the
    // kill until CLIENT LIST shows the new connection holding every channel.
    const admin = await client.connect(args.url);
    const idOf = async () => /id=(\d+) .*name=(\S+)/.exec(String(await admin.call(['CLIENT', 'LIST'])).split('\n').find((l) => l.includes(`name=${name} `)) ?? '')?.[1];
    const id = await idOf();
    t0 = performance.now();
    await admin.call(['CLIENT', 'KILL', 'ID', id]);
    for (;;) {
      const line = String(await admin.call(['CLIENT', 'LIST'])).split('\n').find((l) => l.includes(`name=${name} `));
      if (line !== undefined && Number(/ sub=(\d+)/.exec(line)?.[1]) === RESUB_CHANNELS) break;
      if (performance.now() - t0 > 30_000) { out.auto = NaN; break; }
      await sleep(2);
    }
    out.auto ??= performance.now() - t0;
    await admin.close();
    await conn.close();
  }
  return out;
}

async function cleanup() {
  const conn = await clients[0].connect(args.url);
  let cursor = '0';
  do {
    const [next, keys] = await conn.call(['SCAN', cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000']);
    cursor = String(next);
    if (keys.length > 0) await conn.call(['UNLINK', ...keys.map(String)]);
  } while (cursor !== '0');
  await conn.close();
}

const CASES = [
  { id: 'seq', run: (c) => historyCase(c, 1, SECONDS * 1000, false) },
  { id: 'pipe', run: (c) => historyCase(c, INFLIGHT, SECONDS * 1000, true) },
  { id: 'pubsub', run: (c) => pubsubCase(c, SECONDS * 1000) },
  { id: 'resub', run: (c) => resubscribeCase(c) },
];

const results = Object.fromEntries(clients.map((c) => [c.name, Object.fromEntries(CASES.map((k) => [k.id, []]))]));
if (!args['probes-only']) {
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? clients : [...clients].reverse();
      for (const k of CASES) {
        for (const c of order) {
          const res = await k.run(c);
          results[c.name][k.id].push(res);
          process.stderr.write(`round ${r + 1} ${k.id} ${c.name}: ${JSON.stringify(res, (_, v) => (typeof v === 'number' ? Math.round(v * 100) / 100 : v))}\n`);
        }
      }
    }
  } finally {
    await cleanup();
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ROWS = [
  ['history publish, 1 in flight (req/s)', 'seq', 'rps', 0, true],
  ['  client CPU per request, 1 in flight (µs)', 'seq', 'usPerReq', 1, false],
  ['history publish, 100 in flight (req/s)', 'pipe', 'rps', 0, true],
  ['  client CPU per request, 100 in flight (µs)', 'pipe', 'usPerReq', 1, false],
  ['  p50 latency at 100 in flight (ms)', 'pipe', 'p50', 2, false],
  ['  p99 latency at 100 in flight (ms)', 'pipe', 'p99', 2, false],
  ['PUB/SUB received, 1,000 channels (msg/s)', 'pubsub', 'msgs', 0, true],
  ['  subscriber CPU (% of a core)', 'pubsub', 'subCpu', 0, false],
  ['  subscriber CPU per message (µs)', 'pubsub', 'subUsPerMsg', 2, false],
  ['  publisher CPU per message (µs)', 'pubsub', 'pubUsPerMsg', 2, false],
  ['resubscribe 100k, batches of 512 (ms)', 'resub', 'batched', 0, false],
  ['resubscribe 100k, one command (ms)', 'resub', 'single', 0, false],
  ['resubscribe 100k, client\'s own after CLIENT KILL (ms)', 'resub', 'auto', 0, false],
];
const fmt = (x, d) => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : 'n/a');

const lines = [];
if (!args['probes-only']) {
  const [a, ...others] = clients;
  lines.push(`| measure | ${clients.map((c) => c.label).join(' | ')} |${others.map((b) => ` ${b.name} / ${a.name} |`).join('')}`);
  lines.push(`| --- |${clients.map(() => ' --- |').join('')}${others.map(() => ' --- |').join('')}`);
  for (const [label, kase, field, d] of ROWS) {
    const cells = clients.map((c) => {
      const xs = results[c.name][kase].map((x) => x[field]);
      return `${fmt(median(xs), d)} (${fmt(Math.min(...xs), d)}–${fmt(Math.max(...xs), d)})`;
    });
    const mid = (c) => median(results[c.name][kase].map((x) => x[field]));
    lines.push(`| ${label} | ${cells.join(' | ')} |${others.map((b) => ` ${fmt(mid(b) / mid(a), 2)} |`).join('')}`);
  }
  const invalid = clients.map((c) => `${c.name} ${results[c.name].pubsub.reduce((s, x) => s + x.invalid, 0)}`).join(', ');
  lines.push('', `Median of ${ROUNDS} rounds (min–max), ${SECONDS} s windows after 1 s warm-up; 100-byte payloads; RESP3 unless a column says RESP2. ` +
    `Node ${process.version}, ${cpus().length} CPUs, Redis at ${args.url}. PUB/SUB messages that were not a ${PAYLOAD}-byte Buffer, publish errors or dropped subscribers: ${invalid}.`);
}
let probes;
if (!args['no-probes']) {
  probes = await runProbes(clients);
  lines.push('', ...probeTable(clients, probes));
}
console.log(lines.join('\n'));
if (args.json) writeFileSync(args.json, JSON.stringify({ args, results, probes }, null, 2));
process.exit(0);
