#!/usr/bin/env node
/**
 * What one connect-proxy call costs the caller, by how its deadline is set: CPU-µs per
 * `Pool.request` POST of a connect-proxy-sized JSON body to the bench backend
 * (lib/proxy-backend.mjs), 200 calls in flight, the answer read and parsed. A diagnostic for the
 * connect-proxy storm (docs/performance-proxy.md), apart from Rotor:
 *
 * - `signal`: `AbortSignal.timeout(ms)` per call, passed as `signal` (undici then adds and
 *   removes an abort listener per call), the body read with `for await` — the shape of
 *   src/proxy/http-caller.ts when this was written;
 * - `controller`: one `AbortController` and a `setTimeout` per call, cleared after it;
 * - `undici-timeouts`: no signal; undici's own `headersTimeout` and `bodyTimeout` (its coarse
 *   shared timers). Not the same deadline: the body timeout restarts with every chunk.
 *
 * - `dispatch`: `Pool.dispatch` with a handler object collecting the answer's chunks (no Readable
 *   body, no promise per stage), its deadline a `setTimeout` that aborts through the controller.
 *
 *   node bench/lib/undici-call-cost.mjs [--calls 20000] [--rounds 6] [--shapes signal,controller,dispatch,undici-timeouts]
 *
 * The caller runs pinned to CPU 0 (this process re-executes itself under taskset), the backend to
 * CPU 1. After a warm-up of 5,000 calls per shape, each round runs `--calls` calls of every
 * shape, in alternating order; prints the median and range of CPU-µs per call (process.cpuUsage,
 * user + system) and calls/s per shape.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { startProxyBackend } from './proxy-backend.mjs';

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : def;
};
const CALLER_CPU = 0;
const BACKEND_CPU = 1;
const TIMEOUT_MS = 1000;
const IN_FLIGHT = 200;

if (process.env.UNDICI_CALL_COST_PINNED !== '1') {
  execFileSync('taskset', ['-c', String(CALLER_CPU), process.execPath, fileURLToPath(import.meta.url), ...argv], {
    stdio: 'inherit',
    env: { ...process.env, UNDICI_CALL_COST_PINNED: '1' },
  });
  process.exit(0);
}

const calls = Number(opt('calls', '20000'));
const rounds = Number(opt('rounds', '6'));
const backend = await startProxyBackend({ cpu: BACKEND_CPU });
const origin = new URL(backend.url).origin;
const pool = new Pool(origin, { connections: 255, keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 });
// A connect request as Rotor sends it for a tokenless connect with no data.
const body = JSON.stringify({ client: '3f2b1c9e-7f39-4c4e-9e77-1a2b3c4d5e6f', transport: 'websocket', protocol: 'json', encoding: 'json', name: 'bench', version: '', channels: [] });
const headers = { 'content-type': 'application/json' };

async function readAll(b) {
  const chunks = [];
  let n = 0;
  for await (const c of b) {
    n += c.length;
    chunks.push(c);
  }
  return Buffer.concat(chunks, n).toString('utf8');
}

/** A raw dispatch handler: the answer's chunks collected, no Readable body, no per-call closures. */
class DispatchCall {
  constructor(resolve, reject) {
    this.resolve = resolve;
    this.reject = reject;
    this.chunks = [];
    this.n = 0;
    this.status = 0;
    this.controller = undefined;
    this.timer = undefined;
    this.done = false;
  }
  onRequestStart(controller) {
    this.controller = controller;
    if (this.done) controller.abort(new Error('timeout'));
  }
  onResponseStart(_c, statusCode) {
    this.status = statusCode;
  }
  onResponseData(_c, chunk) {
    this.n += chunk.length;
    this.chunks.push(chunk);
  }
  onResponseEnd() {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.resolve(Buffer.concat(this.chunks, this.n).toString('utf8'));
  }
  onResponseError(_c, err) {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.reject(err);
  }
}
function abortDispatch(h) {
  if (h.done) return;
  h.done = true;
  h.controller?.abort(new Error('timeout'));
  h.reject(new Error('timeout'));
}

const shapes = {
  signal: async () => {
    const signal = AbortSignal.timeout(TIMEOUT_MS);
    const res = await pool.request({ method: 'POST', path: '/connect', headers, body, signal });
    return JSON.parse(await readAll(res.body));
  },
  controller: async () => {
    const ac = new AbortController();
    const t = setTimeout(() => ac.abort(), TIMEOUT_MS);
    try {
      const res = await pool.request({ method: 'POST', path: '/connect', headers, body, signal: ac.signal });
      return JSON.parse(await readAll(res.body));
    } finally {
      clearTimeout(t);
    }
  },
  dispatch: () =>
    new Promise((resolve, reject) => {
      const h = new DispatchCall(resolve, reject);
      h.timer = setTimeout(abortDispatch, TIMEOUT_MS, h);
      pool.dispatch({ origin, method: 'POST', path: '/connect', headers, body }, h);
    }).then((text) => JSON.parse(text)),
  'undici-timeouts': async () => {
    const res = await pool.request({ method: 'POST', path: '/connect', headers, body, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS });
    return JSON.parse(await readAll(res.body));
  },
};
const names = opt('shapes', Object.keys(shapes).join(',')).split(',');
for (const n of names) if (!(n in shapes)) throw new Error(`unknown shape ${n}`);

async function run(fn, n) {
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next++ < n) await fn();
    }),
  );
}
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

try {
  for (const n of names) await run(shapes[n], 5000);
  const res = Object.fromEntries(names.map((n) => [n, { us: [], rate: [] }]));
  for (let r = 0; r < rounds; r++) {
    for (const n of r % 2 === 0 ? names : [...names].reverse()) {
      const c0 = cpuUs();
      const t0 = performance.now();
      await run(shapes[n], calls);
      res[n].us.push((cpuUs() - c0) / calls);
      res[n].rate.push(calls / ((performance.now() - t0) / 1000));
    }
  }
  const med = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  console.log(`${rounds} rounds × ${calls} calls per shape, ${IN_FLIGHT} in flight; caller on CPU ${CALLER_CPU}, backend on CPU ${BACKEND_CPU}`);
  for (const n of names) {
    const { us, rate } = res[n];
    console.log(`${n.padEnd(16)} ${med(us).toFixed(1).padStart(6)} CPU-µs per call (range ${Math.min(...us).toFixed(1)}–${Math.max(...us).toFixed(1)}), ${Math.round(med(rate))} calls/s`);
  }
} finally {
  await pool.close();
  await backend.stop();
}
