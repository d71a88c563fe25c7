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
 * @param {{spec:string, target:'rotor'|'baseline', pid:number, wsUrl:string, echo?:boolean, tokenless?:boolean}[]} servers  two;
 *   `echo` (a baseline answering the connect frame) overrides `o.echo` for that server;
 *   `tokenless`: Rotor is sent connect commands without a token (its connect proxy answers them)
 * @param {{n:number, rounds:number, warmup:number, concurrency:number, echo:boolean, secret:string, watch?:{name:string, pid:number}[], detail?:boolean, beforeRound?:(round:number)=>Promise<void>}} o
 *   `watch`: more processes (a proxy backend) whose CPU is read over each server's windows;
 *   `detail`: also return each server's perRoundRate, perRoundOther and span;
 *   `beforeRound`: awaited before each measured round (e.g. waiting for the machine to be idle)
 * @returns per server: connects, connectsFailed, errors, ms, connectsPerSec, cpuUsPerConnect,
 *   sysUsPerConnect, perRound (CPU-µs per connect), window (serverCpuPct, genCpuPct, otherCores
 *   over the windows), watchUs (with `o.watch`: CPU-µs of each watched process over this server's
 *   windows, by name); with `o.detail`: perRoundRate (connects/s), perRoundOther (busy cores
 *   besides this server, the generator and the watched processes, per storm) and span
 *   (CLOCK_MONOTONIC µs of the first measured window's start and the last one's end, the window
 *   of a CPU profile); and `ratios`, the per-round CPU ratios of the first server to the second,
 *   `rateRatios` the same for connects/s.
 */
export async function interleavedStorms(gen, servers, o) {
  const watch = o.watch ?? [];
  const acc = servers.map(() => ({
    cpuUs: 0, sysUs: 0, genUs: 0, busyUs: 0, secs: 0, connects: 0, connectsFailed: 0, errors: {}, ms: 0, perRound: [], perRoundRate: [], perRoundOther: [],
    watchUs: Object.fromEntries(watch.map((w) => [w.name, 0])), span: { startUs: undefined, endUs: undefined },
  }));
  const storm = (i, n, measure) => {
    const s = servers[i];
    const a = acc[i];
    let t0;
    return gen.call({ cmd: 'storm', target: s.target, url: s.wsUrl, protocol: 'json', n, warmup: 0, concurrency: o.concurrency, echo: s.echo ?? o.echo, tokenless: s.tokenless === true, poll: true, secret: o.secret }, (ev) => {
      const t = { ...cpuTimes(s.pid), gen: cpuMicros(gen.pid), busy: systemBusy().cpu, hr: process.hrtime.bigint(), watch: watch.map((w) => cpuMicros(w.pid)) };
      if (ev === 'window-start') {
        t0 = t;
        // hrtime is CLOCK_MONOTONIC in ns, the clock of V8's profile timestamps (µs).
        if (measure) a.span.startUs ??= Number(t.hr / 1000n);
      } else if (measure) {
        a.span.endUs = Number(t.hr / 1000n);
        watch.forEach((w, k) => (a.watchUs[w.name] += t.watch[k] - t0.watch[k]));
        a.cpuUs += t.totalUs - t0.totalUs;
        a.sysUs += t.sysUs - t0.sysUs;
        a.genUs += t.gen - t0.gen;
        a.busyUs += ((t.busy - t0.busy) * 1e6) / CLK_TCK;
        a.secs += Number(t.hr - t0.hr) / 1e9;
        a.last = t.totalUs - t0.totalUs;
        const secs = Number(t.hr - t0.hr) / 1e9;
        const watchedUs = watch.reduce((sum, _, k) => sum + t.watch[k] - t0.watch[k], 0);
        a.lastOther = (((t.busy - t0.busy) * 1e6) / CLK_TCK - (t.totalUs - t0.totalUs) - (t.gen - t0.gen) - watchedUs) / 1e6 / secs;
      }
    });
  };
  for (let i = 0; i < servers.length; i++) await storm(i, o.warmup, false);
  const ratios = [];
  const rateRatios = [];
  for (let round = 0; round < o.rounds; round++) {
    // Alternating order: a drift within a round does not always favour the same server.
    const order = round % 2 === 0 ? [0, 1] : [1, 0];
    if (o.beforeRound !== undefined) await o.beforeRound(round);
    for (const i of order) {
      const { stats } = await storm(i, o.n, true);
      const a = acc[i];
      a.connects += stats.connects;
      a.connectsFailed += stats.connectsFailed;
      for (const [k, v] of Object.entries(stats.errors)) a.errors[k] = (a.errors[k] ?? 0) + v;
      a.ms += stats.ms;
      a.perRound.push(a.last / Math.max(1, stats.connects));
      a.perRoundRate.push(stats.connects / (stats.ms / 1000));
      a.perRoundOther.push(Math.max(0, a.lastOther));
    }
    ratios.push(acc[0].perRound[round] / acc[1].perRound[round]);
    rateRatios.push(acc[0].perRoundRate[round] / acc[1].perRoundRate[round]);
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
    // Only when asked for, so run.mjs's paired cases keep their result shape.
    ...(watch.length > 0 ? { watchUs: a.watchUs } : {}),
    ...(o.detail === true ? { perRoundRate: a.perRoundRate, perRoundOther: a.perRoundOther, span: a.span } : {}),
    window: {
      seconds: a.secs,
      serverCpuPct: (100 * a.cpuUs) / 1e6 / a.secs,
      genCpuPct: (100 * a.genUs) / 1e6 / a.secs,
      // Everything else busy on the machine during this server's windows, the other server included.
      otherCores: Math.max(0, (a.busyUs - a.cpuUs - a.genUs) / 1e6 / a.secs),
    },
  }));
  return { results: out, ratios, rateRatios };
}

/** The value at quantile `p` (0–1) of `xs`, nearest rank. */
export function quantile(xs, p) {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}
