#!/usr/bin/env node
/**
 * Interleaved connection storms against two servers at once, for comparing them when the machine
 * itself drifts. Full storm runs of one server after the other spread by ±25 % on a shared VM
 * (slow and fast periods last tens of seconds), more than most changes to the connect path move
 * the figure. Here both servers run side by side on the server core and the generator alternates
 * short storms between them, so a slow period slows both.
 *
 *   node bench/storm-ab.mjs [--rounds 30] [--n 2000] [--a rotor] [--b baseline] [--echo]
 *
 * A server is `rotor` (this checkout's dist/), `rotor:/path/to/other/checkout` (its dist/) or
 * `baseline`. `--echo` makes the baseline answer a connect command (the `storm-echo` variant).
 * Each round runs one storm of `--n` connects against each server, in alternating order, with
 * the generator polling; the storm's connections are closed with RST after it. After a warm-up
 * storm per server, it prints CPU-µs per connect of each server (sum over the rounds), the
 * per-round ratios' median and quartiles, and the connects/s.
 *
 * Needs Linux, 2+ cores, `npm run build` done in every checkout named.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cpuTimes, freePort, sleep, spawnPinned, stopProcess, waitHttp } from './lib/proc.mjs';
import { ROOT, SECRET, API_KEY, rotorConfig } from './lib/servers.mjs';

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : def;
};
const ROUNDS = Number(opt('rounds', '30'));
const N = Number(opt('n', '2000'));
const ECHO = argv.includes('--echo');
const SERVER_CPU = 0;
const GEN_CPU = 1;

async function start(spec) {
  const port = await freePort();
  let args;
  if (spec === 'baseline') {
    args = [path.join(ROOT, 'bench/baseline-server.mjs'), '--port', String(port), '--api-key', API_KEY];
  } else {
    const root = spec.startsWith('rotor:') ? path.resolve(spec.slice(6)) : ROOT;
    const dir = mkdtempSync(path.join(tmpdir(), 'rotor-ab-'));
    const cfg = path.join(dir, 'config.json');
    writeFileSync(cfg, JSON.stringify(rotorConfig(port)));
    args = [path.join(root, 'dist/cli/main.js'), '-c', cfg];
  }
  const child = spawnPinned(SERVER_CPU, [process.execPath, ...args], { cwd: ROOT, quiet: true });
  await waitHttp(`http://127.0.0.1:${port}/health`);
  return { spec, child, pid: child.pid, url: `ws://127.0.0.1:${port}/connection/websocket`, target: spec === 'baseline' ? 'baseline' : 'rotor', cpuUs: 0, sysUs: 0, connects: 0, ms: 0, perRound: [] };
}

const gen = spawnPinned(GEN_CPU, [process.execPath, '--expose-gc', '--max-semi-space-size=64', path.join(ROOT, 'bench/loadgen.mjs')], { ipc: true, cwd: ROOT, quiet: true });
let pending;
gen.on('message', (m) => {
  if (m.ev === 'window-start' || m.ev === 'window-end') pending?.onWindow(m.ev);
  else if (m.ev === 'error') pending?.reject(new Error(m.message));
  else if (m.ev === 'result') pending?.resolve(m);
});
await new Promise((r) => gen.once('message', r)); // ready

function storm(server, n, measure) {
  return new Promise((resolve, reject) => {
    let a;
    pending = {
      resolve,
      reject,
      onWindow: (ev) => {
        const t = cpuTimes(server.pid);
        if (ev === 'window-start') a = t;
        else if (measure) {
          server.cpuUs += t.totalUs - a.totalUs;
          server.sysUs += t.sysUs - a.sysUs;
          server.lastUs = t.totalUs - a.totalUs;
        }
      },
    };
    gen.send({ cmd: 'storm', target: server.target, url: server.url, n, warmup: 0, concurrency: 200, echo: ECHO, poll: true, secret: SECRET });
  });
}

const a = await start(opt('a', 'rotor'));
const b = await start(opt('b', 'baseline'));
try {
  for (const s of [a, b]) await storm(s, 10000, false);
  const ratios = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? [a, b] : [b, a];
    for (const s of order) {
      const res = await storm(s, N, true);
      if (res.stats.connectsFailed > 0) throw new Error(`${s.spec}: ${res.stats.connectsFailed} connects failed: ${JSON.stringify(res.stats.errors)}`);
      s.connects += res.stats.connects;
      s.ms += res.stats.ms;
      s.perRound.push(s.lastUs / res.stats.connects);
    }
    ratios.push(a.perRound[round] / b.perRound[round]);
  }
  const q = (xs, p) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
  for (const s of [a, b]) {
    console.log(`${s.spec.padEnd(30)} ${(s.cpuUs / s.connects).toFixed(1)} CPU-µs per connect (kernel ${(s.sysUs / s.connects).toFixed(1)}), ${Math.round(s.connects / (s.ms / 1000))} connects/s, ${s.connects} connects`);
  }
  console.log(`A/B CPU per connect: ${(a.cpuUs / a.connects / (b.cpuUs / b.connects)).toFixed(3)} (per-round ratio median ${q(ratios, 0.5).toFixed(3)}, quartiles ${q(ratios, 0.25).toFixed(3)}–${q(ratios, 0.75).toFixed(3)}, ${ROUNDS} rounds of ${N})`);
} finally {
  gen.send({ cmd: 'exit' });
  await Promise.all([stopProcess(a.child), stopProcess(b.child)]);
  await sleep(100);
}
