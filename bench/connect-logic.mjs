#!/usr/bin/env node
/**
 * Rotor's connect logic alone, without sockets: a Session on a stand-in transport receives a
 * connect command with a fresh HS256 token, answers it, and is closed; 200 connects in flight, as
 * in the storm scenario. Separates what Rotor's own code costs from the WebSocket upgrade and the
 * kernel, which dominate the storm and make its runs spread by ±25 % on a shared VM.
 *
 *   node bench/connect-logic.mjs [N]            CPU-µs per connect (N connects, default 40,000,
 *                                               after as many warm-up connects)
 *   node bench/connect-logic.mjs [N] --alloc    also bytes allocated per connect: re-runs itself
 *                                               with a young generation too large to collect
 *   node bench/connect-logic.mjs [N] --sites    the 25 functions allocating most per connect
 *                                               (sampling heap profiler, collected objects included)
 *
 * Pin it for stable figures: `taskset -c 0 node bench/connect-logic.mjs`. Needs `npm run build`.
 */
import { createHmac } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { Session as InspectorSession } from 'node:inspector';
import { getHeapStatistics } from 'node:v8';
import { fileURLToPath } from 'node:url';
import { configSchema } from '../dist/config/schema.js';
import { App } from '../dist/app/app.js';
import { Session } from '../dist/node/client/session.js';
import { jsonCodec } from '../dist/protocol/json/codec.js';

const args = process.argv.slice(2);
const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 40_000);
const IN_FLIGHT = 200;
const SECRET = 'bench-hmac-secret-0123456789abcdef';

if (args.includes('--alloc') && !args.includes('--child')) {
  // 1 GiB semi-spaces: no scavenge during the window, so heap growth = bytes allocated.
  const flags = ['--max-semi-space-size=1024', '--min-semi-space-size=1024'];
  const n = Math.min(N, 20_000);
  process.stdout.write(execFileSync(process.execPath, [...flags, fileURLToPath(import.meta.url), String(n), '--child', '--measure-heap'], { encoding: 'utf8' }));
  process.exit(0);
}

const noop = () => {};
const config = configSchema.parse({
  http_server: { port: 0, address: '127.0.0.1' },
  log: { level: 'error' },
  client: { token: { hmac_secret_key: SECRET } },
  http_api: { key: 'bench' },
});
const app = await App.create(config, { trace: noop, debug: noop, info: noop, warn: noop, error: console.error });
await app.start();

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
const header = b64({ alg: 'HS256', typ: 'JWT' });
const exp = Math.floor(Date.now() / 1000) + 3600;
const frames = Array.from({ length: 2 * N }, (_, i) => {
  const unsigned = `${header}.${b64({ sub: `storm${i}`, exp })}`;
  const token = `${unsigned}.${createHmac('sha256', SECRET).update(unsigned).digest('base64url')}`;
  return Buffer.from(JSON.stringify({ id: 1, connect: { token, name: 'bench' } }));
});

/** A WebSocket-like transport that hands the first write (the connect reply) to `done`. */
class StandIn {
  name = 'websocket';
  protocol = 'json';
  unidirectional = false;
  emulation = false;
  pingStyle = 'app';
  closeFrameDisconnect = true;
  constructor(done) {
    this.done = done;
  }
  write() {
    this.done();
  }
  bufferedBytes() {
    return 0;
  }
  close() {}
}

const HEADERS = { host: 'bench', 'user-agent': 'bench' };
function connectOnce(frame) {
  return new Promise((resolve) => {
    let session;
    const transport = new StandIn(() => {
      session.onTransportClosed();
      resolve();
    });
    session = new Session(app.node, transport, jsonCodec, { headers: HEADERS });
    session.handleFrame(frame);
  });
}

async function storm(offset) {
  let next = 0;
  const lane = async () => {
    while (next < N) await connectOnce(frames[offset + next++]);
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
}

await storm(0); // warm-up: the JIT optimises the path first
let sites;
if (args.includes('--sites')) {
  sites = new InspectorSession();
  sites.connect();
  await post(sites, 'HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
}
const heap0 = getHeapStatistics().used_heap_size;
const cpu0 = process.cpuUsage();
await storm(N);
const cpu = process.cpuUsage(cpu0);
const heap1 = getHeapStatistics().used_heap_size;

// With --alloc the huge young generation costs page faults: its CPU figure means nothing.
if (!args.includes('--measure-heap')) console.log(`connect logic: ${((cpu.user + cpu.system) / N).toFixed(1)} CPU-µs per connect (${N} connects, ${IN_FLIGHT} in flight)`);
if (args.includes('--measure-heap')) console.log(`allocated: ${Math.round((heap1 - heap0) / N)} bytes per connect (stand-in transport and promises of this script included)`);
if (sites !== undefined) {
  const { profile } = await post(sites, 'HeapProfiler.stopSampling');
  const bySite = new Map();
  const walk = (node) => {
    const f = node.callFrame;
    const key = `${f.functionName || '(anonymous)'}  ${f.url.replace(/^.*\/(dist|node_modules|bench)\//, '$1/')}:${f.lineNumber + 1}`;
    if (node.selfSize > 0) bySite.set(key, (bySite.get(key) ?? 0) + node.selfSize);
    for (const c of node.children) walk(c);
  };
  walk(profile.head);
  const total = [...bySite.values()].reduce((a, b) => a + b, 0);
  console.log(`sampled allocations: ${Math.round(total / N)} bytes per connect; top sites (bytes per connect):`);
  for (const [k, v] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${String(Math.round(v / N)).padStart(7)}  ${k}`);
}
await app.stop(100);
process.exit(0);

function post(session, method, params) {
  return new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
}
