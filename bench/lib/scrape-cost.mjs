#!/usr/bin/env node
/**
 * What one Prometheus scrape of `/metrics` costs Rotor: a Rotor with `prometheus.enabled` on CPU 0
 * holding `--n` subscribers (the broadcast case's 5,000 by default) on one channel, the generator on
 * CPU 1; `--scrapes` scrapes one after another, the server's CPU-µs per scrape read from /proc.
 * A diagnostic for `pubsub-ab.mjs --pair metrics` (docs/performance.md).
 *
 *   node bench/lib/scrape-cost.mjs [--n 5000] [--scrapes 50]
 */
import { cpuTimes, sleep } from './proc.mjs';
import { CHANNEL_PREFIX, SECRET, startServer } from './servers.mjs';
import { Gen } from './gen.mjs';

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : def;
};
const n = Number(opt('n', '5000'));
const scrapes = Number(opt('scrapes', '50'));
const gen = new Gen(1, { quiet: true });
let server;
try {
  await gen.ready();
  server = await startServer('rotor', { cpu: 0, quiet: true, rotorOverrides: { prometheus: { enabled: true } } });
  const conn = await gen.call({ cmd: 'connect', target: 'rotor', urls: [server.wsUrl], protocol: 'json', n, channels: 1, channelPrefix: CHANNEL_PREFIX, secret: SECRET, concurrency: 200 });
  if (conn.failed > 0) throw new Error(`${conn.failed} connects failed`);
  await sleep(2000);
  const url = server.apiUrl.replace(/\/api\/publish$/, '/metrics');
  let bytes = 0;
  for (let i = 0; i < 5; i++) await (await fetch(url)).text();
  const c0 = cpuTimes(server.pid).totalUs;
  const t0 = performance.now();
  for (let i = 0; i < scrapes; i++) bytes = (await (await fetch(url)).text()).length;
  const us = (cpuTimes(server.pid).totalUs - c0) / scrapes;
  console.log(`${n} subscribers: ${us.toFixed(0)} server CPU-µs per scrape (${((performance.now() - t0) / scrapes).toFixed(1)} ms wall), ${bytes} bytes of text`);
} finally {
  await gen.exit();
  await server?.stop();
}
