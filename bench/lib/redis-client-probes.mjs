// Feature probes for bench/redis-clients.mjs: does each client do what Rotor's Redis engine needs?
// Each probe starts its own redis-server processes on free loopback ports (never the shared one on
// 6379 when it has to stop or kill Redis) and stops them afterwards.
//   timeout     a command sent to a SIGSTOPped Redis rejects after the 500 ms per-command timeout;
//               after SIGCONT the next command gets its own reply (the late one is not handed on)
//   offline     with the offline queue off, a command while disconnected rejects at once
//   buffers     PUB/SUB payloads and EVALSHA replies come back as the exact bytes (all 256 values)
//   sentinel    connects through a real Sentinel (`redis-server --sentinel`), SET/GET
//   cluster     a real 3-master Cluster: SET/GET across slots, SSUBSCRIBE/SPUBLISH on 12 channels
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const CAP_MS = 3000;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function pingOnce(port) {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    let buf = '';
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => { buf += d; if (buf.includes('\r\n')) { sock.destroy(); resolve(buf.startsWith('+PONG')); } });
    sock.on('error', () => resolve(false));
  });
}

/** A redis-server of our own; `extra` are more command-line options. */
async function startRedis(dir, extra = []) {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extra], { stdio: 'ignore' });
  for (let i = 0; i < 200 && !(await pingOnce(port)); i++) await sleep(25);
  return { port, proc, url: `redis://127.0.0.1:${port}`, stop: () => { proc.kill('SIGCONT'); proc.kill('SIGKILL'); } };
}

/** Settles `p` or gives up after `ms`: `{ ok, value | error, ms }`. */
async function timed(p, ms = CAP_MS) {
  const t0 = performance.now();
  let timer;
  const cap = new Promise((resolve) => { timer = setTimeout(() => resolve({ capped: true }), ms); });
  const r = await Promise.race([p.then((value) => ({ value }), (error) => ({ error })), cap]);
  clearTimeout(timer);
  return { ...r, ms: performance.now() - t0 };
}

const short = (e) => `${e?.name ?? 'Error'}: ${String(e?.message ?? e).slice(0, 90)}`;

async function probeTimeout(client, dir, extra) {
  const r = await startRedis(dir);
  try {
    const conn = await client.connect(r.url, { timeoutMs: 500, ...extra });
    await conn.set('k', 'mine');
    await conn.set('other', 'other');
    r.proc.kill('SIGSTOP');
    const got = await timed(conn.get('k'));
    r.proc.kill('SIGCONT');
    const after = await timed(conn.get('other'));
    conn.destroy();
    const first = got.capped ? `no rejection within ${CAP_MS} ms` : got.error ? `rejects after ${Math.round(got.ms)} ms (${short(got.error)})` : `resolved ${got.value}`;
    const next = after.capped ? 'next command: no reply' : after.error ? `next command fails (${short(after.error)})` : after.value === 'other' ? 'next command gets its own reply' : `next command got "${after.value}" (WRONG REPLY)`;
    return `${first}; ${next}`;
  } finally {
    r.stop();
  }
}

async function probeOffline(client, dir) {
  const r = await startRedis(dir);
  const conn = await client.connect(r.url, { offlineQueue: false, reconnectMs: 200 });
  r.stop();
  await sleep(300);
  const got = await timed(conn.get('k'));
  conn.destroy();
  return got.capped ? `queued: no rejection within ${CAP_MS} ms` : got.error ? `rejects after ${got.ms.toFixed(1)} ms (${short(got.error)})` : 'resolved?';
}

async function probeBuffers(client, dir) {
  const r = await startRedis(dir);
  try {
    const bytes = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
    const sub = await client.connect(r.url);
    const pub = await client.connect(r.url);
    const got = new Promise((resolve) => sub.subscribe(['bin'], (_ch, msg) => resolve(msg)));
    await sleep(50);
    await pub.publish('bin', bytes);
    const msg = await timed(got, 1000);
    const sha = await pub.scriptLoad("return ARGV[1]");
    const ev = await timed(pub.evalshaBuffer(sha, [], [bytes]), 1000);
    sub.destroy();
    pub.destroy();
    const ok = (x) => Buffer.isBuffer(x.value) && x.value.equals(bytes);
    return `PUB/SUB ${ok(msg) ? 'exact Buffer' : 'NOT exact'}; EVALSHA reply ${ok(ev) ? 'exact Buffer' : `NOT exact (${ev.error ? short(ev.error) : typeof ev.value})`}`;
  } finally {
    r.stop();
  }
}

async function probeSentinel(client, dir, master) {
  const port = (await freePort());
  const conf = join(dir, `sentinel-${port}.conf`);
  writeFileSync(conf, `port ${port}\nbind 127.0.0.1\nsentinel monitor rotor 127.0.0.1 ${master.port} 1\n`);
  const proc = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 200 && !(await pingOnce(port)); i++) await sleep(25);
    const conn = await timed(client.connectSentinel([{ host: '127.0.0.1', port }], 'rotor'), 5000);
    if (!conn.value) return `connect failed (${conn.error ? short(conn.error) : 'timeout'})`;
    await conn.value.set('s', 'via-sentinel');
    const v = await conn.value.get('s');
    conn.value.destroy();
    return v === 'via-sentinel' ? 'works (SET/GET through Sentinel)' : `GET returned ${v}`;
  } catch (e) {
    return `failed (${short(e)})`;
  } finally {
    proc.kill('SIGKILL');
  }
}

async function startCluster(dir) {
  const nodes = [];
  for (let i = 0; i < 3; i++) {
    const p = await freePort();
    nodes.push(await startRedis(dir, ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${p}-${i}.conf`)]));
  }
  const res = spawnSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`redis-cli --cluster create: ${res.stdout}${res.stderr}`);
  for (let i = 0; i < 400; i++) {
    const ok = nodes.every((n) => spawnSync('redis-cli', ['-p', String(n.port), 'cluster', 'info'], { encoding: 'utf8' }).stdout.includes('cluster_state:ok'));
    if (ok) break;
    await sleep(50);
  }
  return nodes;
}

async function probeCluster(client, nodes) {
  try {
    const conn = await client.connectCluster(nodes.slice(0, 1).map((n) => ({ host: '127.0.0.1', port: n.port })));
    for (let i = 0; i < 20; i++) await conn.set(`ck${i}`, String(i));
    let same = 0;
    for (let i = 0; i < 20; i++) if ((await conn.get(`ck${i}`)) === String(i)) same++;
    const channels = Array.from({ length: 12 }, (_, i) => `sch:${i}`);
    const seen = new Set();
    let allBuffers = true;
    await conn.ssubscribe(channels, (ch, msg) => { seen.add(String(ch)); if (!Buffer.isBuffer(msg)) allBuffers = false; });
    for (const ch of channels) await conn.spublish(ch, Buffer.from([0, 255, 1]));
    for (let i = 0; i < 100 && seen.size < channels.length; i++) await sleep(20);
    await conn.close();
    return `SET/GET ${same}/20 across slots; SSUBSCRIBE ${seen.size}/12 sharded channels received${allBuffers ? ' as Buffers' : ' (not Buffers)'}`;
  } catch (e) {
    return `failed (${short(e)})`;
  }
}

/** Runs every probe for every client; returns `{ [probe]: { [client]: text } }`. */
export async function runProbes(clients) {
  const dir = mkdtempSync(join(tmpdir(), 'rc-probes-'));
  const out = { timeout: {}, timeoutInFlight: {}, offline: {}, buffers: {}, sentinel: {}, cluster: {} };
  const master = await startRedis(dir);
  let nodes = [];
  try {
    nodes = await startCluster(dir);
    for (const c of clients) {
      out.timeout[c.name] = await probeTimeout(c, dir, {});
      out.timeoutInFlight[c.name] = c.name === 'node-redis' ? await probeTimeout(c, dir, { rejectInFlight: true }) : '(same as above: always applies to sent commands)';
      out.offline[c.name] = await probeOffline(c, dir);
      out.buffers[c.name] = await probeBuffers(c, dir);
      out.sentinel[c.name] = await probeSentinel(c, dir, master);
      out.cluster[c.name] = await probeCluster(c, nodes);
    }
  } finally {
    master.stop();
    for (const n of nodes) n.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

export function probeTable(clients, probes) {
  const rows = [
    ['per-command timeout 500 ms, Redis SIGSTOPped', 'timeout'],
    ['  same, node-redis `rejectInFlight: true`', 'timeoutInFlight'],
    ['offline queue off, Redis killed', 'offline'],
    ['binary payloads as Buffers', 'buffers'],
    ['Sentinel (real `redis-server --sentinel`)', 'sentinel'],
    ['Cluster (real, 3 masters) incl. SSUBSCRIBE', 'cluster'],
  ];
  return [
    `| probe | ${clients.map((c) => c.label).join(' | ')} |`,
    `| --- |${clients.map(() => ' --- |').join('')}`,
    ...rows.map(([label, k]) => `| ${label} | ${clients.map((c) => probes[k][c.name]).join(' | ')} |`),
  ];
}
