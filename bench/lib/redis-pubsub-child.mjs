// One side of the PUB/SUB throughput case of bench/redis-clients.mjs, in its own process so that
// process.cpuUsage() is that side's alone. argv[2] is a JSON object:
//   { role: 'sub' | 'pub', clientDir, variant, url, channels: string[], payloadBytes, inflight }
// IPC from the parent: 'start' (publisher: begin publishing), 'mark' (reply with counters and CPU),
// 'stop' (publisher: stop, wait for what is in flight, reply with counters). The subscriber counts
// every message and checks that each arrives as a Buffer of the published size.
import { loadVariant } from './redis-client-adapters.mjs';

const cfg = JSON.parse(process.argv[2]);
const client = await loadVariant(cfg.clientDir, cfg.variant);
const conn = await client.connect(cfg.url, { name: `bench-${cfg.role}-${process.pid}` });

let count = 0;
let bad = 0;
let errors = 0;
let closed = false;
conn.raw.on?.('end', () => { closed = true; });
conn.raw.on?.('close', () => { closed = true; });

const send = (m) => process.send?.(m);
const counters = () => ({ count, bad, errors, closed, cpuUs: cpuNow(), t: performance.now() });
function cpuNow() {
  const u = process.cpuUsage();
  return u.user + u.system;
}

if (cfg.role === 'sub') {
  await conn.subscribe(cfg.channels, (_channel, payload) => {
    count++;
    if (!Buffer.isBuffer(payload) || payload.length !== cfg.payloadBytes) bad++;
  });
  process.on('message', (m) => {
    if (m === 'mark') send({ mark: counters() });
  });
  send({ ready: true });
} else {
  const payload = Buffer.alloc(cfg.payloadBytes, 0xab);
  const n = cfg.channels.length;
  let next = 0;
  let running = false;
  let workers = [];
  // `inflight` loops, each with one PUBLISH outstanding: the client is never asked to hold more.
  const worker = async () => {
    while (running) {
      const ch = cfg.channels[next];
      next = next + 1 === n ? 0 : next + 1;
      try {
        await conn.publish(ch, payload);
        count++;
      } catch {
        errors++;
      }
    }
  };
  process.on('message', async (m) => {
    if (m === 'start') {
      running = true;
      workers = Array.from({ length: cfg.inflight }, worker);
    } else if (m === 'mark') {
      send({ mark: counters() });
    } else if (m === 'stop') {
      running = false;
      await Promise.all(workers);
      send({ stopped: counters() });
    }
  });
  send({ ready: true });
}

process.on('disconnect', () => {
  conn.destroy();
  process.exit(0);
});
