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
 * A server is `rotor` (this checkout's dist/), `rotor:/path/to/other/checkout` (its dist/),
 * `baseline` or `baseline-echo` (the baseline sent a connect command, which it answers with a fixed
 * reply: the `storm-echo` variant). `--echo` makes a plain `baseline` an echo one too.
 * Each round runs one storm of `--n` connects against each server, in alternating order, with
 * the generator polling; the storm's connections are closed with RST after it. After a warm-up
 * storm per server, it prints CPU-µs per connect of each server (sum over the rounds), the
 * per-round ratios' median and quartiles, and the connects/s.
 *
 * Needs Linux, 2+ cores, `npm run build` done in every checkout named.
 */
import path from 'node:path';
import { sleep } from './lib/proc.mjs';
import { ROOT, SECRET, startServer } from './lib/servers.mjs';
import { Gen } from './lib/gen.mjs';
import { interleavedStorms, quantile } from './lib/interleaved.mjs';

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : def;
};
const SERVER_CPU = 0;
const GEN_CPU = 1;

/** `rotor`, `rotor:/path/to/checkout`, `baseline` or `baseline-echo`. */
async function start(spec) {
  const target = spec.startsWith('baseline') ? 'baseline' : 'rotor';
  if (target === 'baseline' && spec !== 'baseline' && spec !== 'baseline-echo') throw new Error(`unknown server ${spec}`);
  const rotorRoot = spec.startsWith('rotor:') ? path.resolve(spec.slice(6)) : ROOT;
  const echo = spec === 'baseline-echo' ? true : undefined;
  return { spec, echo, ...(await startServer(target, { cpu: SERVER_CPU, rotorRoot, quiet: true })) };
}

const gen = new Gen(GEN_CPU, { quiet: true });
const servers = [];
try {
  await gen.ready();
  // Started one by one inside the try: a server that fails to start leaves none running.
  servers.push(await start(opt('a', 'rotor')));
  servers.push(await start(opt('b', 'baseline')));
  const rounds = Number(opt('rounds', '30'));
  const n = Number(opt('n', '2000'));
  const { results, ratios } = await interleavedStorms(gen, servers, { n, rounds, warmup: 10000, concurrency: 200, echo: argv.includes('--echo'), secret: SECRET });
  results.forEach((r, i) => {
    if (r.connectsFailed > 0) console.log(`${servers[i].spec}: ${r.connectsFailed} connects failed: ${JSON.stringify(r.errors)}`);
    console.log(`${servers[i].spec.padEnd(30)} ${r.cpuUsPerConnect.toFixed(1)} CPU-µs per connect (kernel ${r.sysUsPerConnect.toFixed(1)}), ${Math.round(r.connectsPerSec)} connects/s, ${r.connects} connects`);
  });
  const [a, b] = results;
  console.log(`A/B CPU per connect: ${(a.cpuUsPerConnect / b.cpuUsPerConnect).toFixed(3)} (per-round ratio median ${quantile(ratios, 0.5).toFixed(3)}, quartiles ${quantile(ratios, 0.25).toFixed(3)}–${quantile(ratios, 0.75).toFixed(3)}, ${rounds} rounds of ${n})`);
} finally {
  await gen.exit();
  await Promise.all(servers.map((s) => s.stop()));
  await sleep(100);
}
