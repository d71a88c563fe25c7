/**
 * Interleaved connection storms: two servers up side by side on the server core, the generator
 * alternating short storms between them. Whole storm runs of one server after the other spread by
 * ±25 % on a shared VM, whose slow and fast periods last tens of seconds; here a slow period slows
 * both servers, so their ratio holds steady (an A/A run of Rotor against itself gave 0.98 over
 * 30 rounds of 2,000 connects). Each storm's connections are closed with RST after it, so at most
 * `n` are open at a time.
 */
import { CLK_TCK, cpuMicros, cpuTimes, systemBusy } from './proc.mjs';

/**
 * @param {import('./gen.mjs').Gen} gen
 * @param {{spec:string, target:'rotor'|'baseline', pid:number, wsUrl:string, echo?:boolean}[]} servers  two;
 *   `echo` (a baseline answering the connect frame) overrides `o.echo` for that server
 * @param {{n:number, rounds:number, warmup:number, concurrency:number, echo:boolean, secret:string}} o
 * @returns per server: connects, connectsFailed, errors, ms, connectsPerSec, cpuUsPerConnect,
 *   sysUsPerConnect, perRound (CPU-µs per connect), window (serverCpuPct, genCpuPct, otherCores
 *   over the windows); and `ratios`, the per-round CPU ratios of the first server to the second.
 */
export async function interleavedStorms(gen, servers, o) {
  const acc = servers.map(() => ({ cpuUs: 0, sysUs: 0, genUs: 0, busyUs: 0, secs: 0, connects: 0, connectsFailed: 0, errors: {}, ms: 0, perRound: [] }));
  const storm = (i, n, measure) => {
    const s = servers[i];
    const a = acc[i];
    let t0;
    return gen.call({ cmd: 'storm', target: s.target, url: s.wsUrl, protocol: 'json', n, warmup: 0, concurrency: o.concurrency, echo: s.echo ?? o.echo, poll: true, secret: o.secret }, (ev) => {
      const t = { ...cpuTimes(s.pid), gen: cpuMicros(gen.pid), busy: systemBusy().cpu, hr: process.hrtime.bigint() };
      if (ev === 'window-start') t0 = t;
      else if (measure) {
        a.cpuUs += t.totalUs - t0.totalUs;
        a.sysUs += t.sysUs - t0.sysUs;
        a.genUs += t.gen - t0.gen;
        a.busyUs += ((t.busy - t0.busy) * 1e6) / CLK_TCK;
        a.secs += Number(t.hr - t0.hr) / 1e9;
        a.last = t.totalUs - t0.totalUs;
      }
    });
  };
  for (let i = 0; i < servers.length; i++) await storm(i, o.warmup, false);
  const ratios = [];
  for (let round = 0; round < o.rounds; round++) {
    // Alternating order: a drift within a round does not always favour the same server.
    const order = round % 2 === 0 ? [0, 1] : [1, 0];
    for (const i of order) {
      const { stats } = await storm(i, o.n, true);
      const a = acc[i];
      a.connects += stats.connects;
      a.connectsFailed += stats.connectsFailed;
      for (const [k, v] of Object.entries(stats.errors)) a.errors[k] = (a.errors[k] ?? 0) + v;
      a.ms += stats.ms;
      a.perRound.push(a.last / Math.max(1, stats.connects));
    }
    ratios.push(acc[0].perRound[round] / acc[1].perRound[round]);
  }
  const out = acc.map((a) => ({
    connects: a.connects,
    connectsFailed: a.connectsFailed,
    errors: a.errors,
    ms: a.ms,
    connectsPerSec: a.connects / (a.ms / 1000),
    cpuUsPerConnect: a.cpuUs / Math.max(1, a.connects),
    sysUsPerConnect: a.sysUs / Math.max(1, a.connects),
    perRound: a.perRound,
    window: {
      seconds: a.secs,
      serverCpuPct: (100 * a.cpuUs) / 1e6 / a.secs,
      genCpuPct: (100 * a.genUs) / 1e6 / a.secs,
      // Everything else busy on the machine during this server's windows, the other server included.
      otherCores: Math.max(0, (a.busyUs - a.cpuUs - a.genUs) / 1e6 / a.secs),
    },
  }));
  return { results: out, ratios };
}

/** The value at quantile `p` (0–1) of `xs`, nearest rank. */
export function quantile(xs, p) {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}
