#!/usr/bin/env node
/**
 * Paired A/B for a pub/sub case: Rotor and the bare `ws` baseline run side by side on the server
 * core, each with the same subscribers on the same channels, and the generator alternates short
 * slices of publishing between their APIs (A-B-B-A groups). A slow period of the machine then
 * slows both servers' slices alike, where separate runs of one server after the other (bench/run.mjs)
 * spread by ±15 % round to round. Server CPU is read per slice, for the server published to.
 *
 *   node bench/pubsub-ab.mjs [--case channels|broadcast] [--groups 12] [--slice 2] [--pair baseline|metrics|same|build]
 *
 * `--pair metrics` pits Rotor against itself instead: A is Rotor with `prometheus.enabled` (and
 * /metrics scraped every 5 s while it runs, as Prometheus would), B the same without, so the
 * ratio is what counting costs the fan-out (issue #19: within 3 %, a ratio ≤ 1.03). `--pair same`
 * runs two identical Rotors, which reads the pairing's own bias. `--pair build --against DIR` pits
 * this checkout's build (A) against the build of another checkout (B, its `dist/` built), so a
 * change to the hot path is read against the code before it.
 *
 * `channels` (default): 1,000 channels × 5 subscribers per server, 1,000 publications/s
 * round-robin (issue #5's case (b)); `broadcast`: 5,000 subscribers on one channel, 10/s.
 * Prints each server's CPU-µs per delivery (sum over its slices), the Rotor/baseline ratio of
 * each A-B-B-A group with their mean and 95 % confidence interval, p50/p99 latency per server and
 * what was lost. Needs Linux, 2+ cores, `npm run build` done.
 */
import { cpuTimes, sleep } from './lib/proc.mjs';
import { API_KEY, CHANNEL_PREFIX, SECRET, startServer } from './lib/servers.mjs';
import { Gen } from './lib/gen.mjs';

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : def;
};
const CASES = {
  channels: { n: 5000, channels: 1000, rate: 1000 },
  broadcast: { n: 5000, channels: 1, rate: 10 },
};
const caseId = opt('case', 'channels');
const c = CASES[caseId];
if (c === undefined) throw new Error(`unknown case ${caseId}; use ${Object.keys(CASES).join(' or ')}`);
const groups = Number(opt('groups', '12'));
const sliceS = Number(opt('slice', caseId === 'broadcast' ? '4' : '2'));
const pair = opt('pair', 'baseline');
const PAIRS = {
  baseline: { targets: ['rotor', 'baseline'], names: ['rotor', 'baseline'], overrides: [undefined, undefined] },
  metrics: { targets: ['rotor', 'rotor'], names: ['metrics on', 'metrics off'], overrides: [{ prometheus: { enabled: true } }, undefined] },
  // The harness against itself: two identical Rotors, to read the bias of the pairing.
  same: { targets: ['rotor', 'rotor'], names: ['rotor A', 'rotor B'], overrides: [undefined, undefined] },
  build: { targets: ['rotor', 'rotor'], names: ['this build', 'other build'], overrides: [undefined, undefined], roots: [undefined, opt('against', '')] },
};
if (pair === 'build' && !PAIRS.build.roots[1]) throw new Error('--pair build needs --against <checkout with dist/ built>');
if (!(pair in PAIRS)) throw new Error(`unknown pair ${pair}; use ${Object.keys(PAIRS).join(', ')}`);
const TARGETS = PAIRS[pair].targets;
const NAMES = PAIRS[pair].names;
/** Per server: Rotor config overrides (the first is the one measured against the second). */
const OVERRIDES = PAIRS[pair].overrides;
/** How often the metrics server is scraped; BENCH_SCRAPE_MS=0 turns scraping off (a diagnostic). */
const SCRAPE_EVERY_MS = Number(process.env.BENCH_SCRAPE_MS ?? 5000);

const gen = new Gen(1, { quiet: true });
const servers = [];
try {
  await gen.ready();
  for (const [i, t] of TARGETS.entries()) servers.push(await startServer(t, { cpu: 0, quiet: process.env.BENCH_SERVER_OUTPUT !== '1', rotorOverrides: OVERRIDES[i], ...(PAIRS[pair].roots?.[i] ? { rotorRoot: PAIRS[pair].roots[i] } : {}) }));
  await sleep(1000);
  // Prometheus scrapes the metrics server; its cost is the server's, as in production.
  const scraper =
    pair === 'metrics' && SCRAPE_EVERY_MS > 0
      ? setInterval(() => {
          fetch(servers[0].apiUrl.replace(/\/api\/publish$/, '/metrics')).then((r) => r.text()).catch(() => {});
        }, SCRAPE_EVERY_MS)
      : undefined;
  const conn = await gen.call({
    cmd: 'connect',
    target: 'rotor',
    targets: TARGETS,
    urls: servers.map((s) => s.wsUrl),
    protocol: 'json',
    n: c.n * 2,
    channels: c.channels,
    channelPrefix: CHANNEL_PREFIX,
    secret: SECRET,
    concurrency: 200,
  });
  if (conn.failed > 0) throw new Error(`${conn.failed} connects failed: ${JSON.stringify(conn.errors)}`);
  await sleep(2000);
  const cpu = [];
  let t0 = 0;
  const res = await gen.call(
    { cmd: 'abSlices', apiUrls: servers.map((s) => s.apiUrl), apiKey: API_KEY, rate: c.rate, sliceS, slices: groups * 4, channels: c.channels, channelPrefix: CHANNEL_PREFIX, drainMs: 5000, payloadBytes: 100 },
    (ev, m) => {
      if (ev !== 'slice') return;
      if (m.phase === 'start') t0 = cpuTimes(servers[m.server].pid).totalUs;
      else cpu.push(cpuTimes(servers[m.server].pid).totalUs - t0);
    },
  );
  if (scraper !== undefined) clearInterval(scraper);
  const slices = res.stats.slices.map((s, i) => ({ ...s, cpuUs: cpu[i] }));
  const sum = (server, key) => slices.filter((s) => s.server === server).reduce((a, s) => a + s[key], 0);
  const perDelivery = TARGETS.map((_, i) => sum(i, 'cpuUs') / Math.max(1, sum(i, 'delivered')));
  // One ratio per A-B-B-A group: Rotor's two slices against the baseline's two.
  const ratios = [];
  for (let g = 0; g + 4 <= slices.length; g += 4) {
    const grp = slices.slice(g, g + 4);
    const per = (server) => grp.filter((s) => s.server === server).reduce((a, s) => a + s.cpuUs, 0) / Math.max(1, grp.filter((s) => s.server === server).reduce((a, s) => a + s.delivered, 0));
    ratios.push(per(0) / per(1));
  }
  const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
  const sd = Math.sqrt(ratios.reduce((a, r) => a + (r - mean) ** 2, 0) / Math.max(1, ratios.length - 1));
  // Student's t for 95 % two-sided, by degrees of freedom (enough for up to 30 groups).
  const T95 = [12.71, 4.3, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23, 2.2, 2.18, 2.16, 2.14, 2.13, 2.12, 2.11, 2.1, 2.09, 2.09, 2.08, 2.07, 2.07, 2.06, 2.06, 2.06, 2.05, 2.05, 2.05];
  const half = (T95[Math.min(ratios.length - 2, T95.length - 1)] ?? 2) * (sd / Math.sqrt(ratios.length));
  const lost = TARGETS.map((_, i) => sum(i, 'expected') - sum(i, 'delivered'));
  console.log(`pubsub A/B (${NAMES.join(' vs ')}), case ${caseId}: ${c.n} subscribers per server over ${c.channels} channel(s), ${c.rate}/s, ${groups} A-B-B-A groups of ${sliceS} s slices; both servers on CPU 0, generator on CPU 1`);
  NAMES.forEach((t, i) => {
    console.log(`${t.padEnd(11)} ${perDelivery[i].toFixed(2)} CPU-µs per delivery; p50 ${res.stats.p50Ms[i]?.toFixed(2)} ms, p99 ${res.stats.p99Ms[i]?.toFixed(2)} ms; lost ${lost[i]} of ${sum(i, 'expected')}; publish errors ${res.stats.publishErrors[i]}`);
  });
  console.log(`${NAMES[0]} / ${NAMES[1]} CPU per delivery: ${(perDelivery[0] / perDelivery[1]).toFixed(3)} over all slices; per group mean ${mean.toFixed(3)} (95 % CI ${(mean - half).toFixed(3)}–${(mean + half).toFixed(3)}, ${ratios.length} groups)`);
  console.log(`${NAMES[0]} / ${NAMES[1]} p99: ${(res.stats.p99Ms[0] / res.stats.p99Ms[1]).toFixed(2)}`);
  console.log(`per-group ratios: ${ratios.map((r) => r.toFixed(3)).join(' ')}`);
} finally {
  await gen.exit();
  await Promise.all(servers.map((s) => s.stop()));
}
