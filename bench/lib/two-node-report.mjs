/**
 * The two-node case's results (bench/two-node.mjs): machine facts, the median of repeated runs,
 * the issue #17 targets checked, and the Markdown tables.
 */
import { int, num, ratio, x } from './format.mjs';

/**
 * The element-wise median of several runs, failed runs left out: numbers by median, objects and
 * arrays (per-node figures) element by element, anything else from the first run.
 */
export function medianOf(runs) {
  const ok = runs.filter((r) => !r.failed);
  if (ok.length === 0) return runs[0];
  const med = (xs) => {
    const s = xs.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
    return s.length === 0 ? undefined : s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const merge = (vals) => {
    const first = vals[0];
    if (typeof first === 'number') return med(vals) ?? first;
    if (Array.isArray(first)) return first.map((_, i) => merge(vals.map((v) => v?.[i])));
    if (first && typeof first === 'object') return Object.fromEntries(Object.keys(first).map((k) => [k, merge(vals.map((v) => v?.[k]))]));
    return first;
  };
  return { ...merge(ok), runs: ok.length, failedRuns: runs.length - ok.length };
}

// ------------------------------------------------------------------ formatting


/** Every run's value of `get` for a broadcast target (the single run, or each repeated one). */
function perRun(results, key, get) {
  const runs = results.runs?.[key] ?? [key.startsWith('broadcast/') ? results.broadcast?.[key.slice(10)] : results[key]];
  return runs.filter((r) => r && !r.failed).map(get);
}

/**
 * The issue's targets: [{target, value, met}] with met true/false, or null when a side is missing
 * (failed, or not run). Losses are summed over every run, not taken as a median.
 */
export function evaluateTwoNode(results) {
  const b = results.broadcast ?? {};
  const mem = b['rotor-memory'];
  const red = b['rotor-redis'];
  const sio = b['socketio-redis'];
  const ok = (r) => r !== undefined && !r.failed;
  const checks = [];
  const rMem = ok(red) && ok(mem) ? ratio(red.cpuUsPerDelivery, mem.cpuUsPerDelivery) : null;
  checks.push({
    target: "Rotor's CPU-µs per delivery, 2 nodes on Redis (summed, Redis apart) ≤ 1.15× its single-node memory-engine figure",
    value: rMem === null ? 'not measured' : `${x(rMem)} (${num(red.cpuUsPerDelivery, 2)} against ${num(mem.cpuUsPerDelivery, 2)})`,
    met: rMem === null ? null : rMem <= 1.15,
  });
  const rSio = ok(red) && ok(sio) ? ratio(red.cpuUsPerDelivery, sio.cpuUsPerDelivery) : null;
  checks.push({
    target: "Rotor's CPU-µs per delivery, 2 nodes on Redis ≤ 0.6× socket.io's (2 nodes, Redis adapter; both summed, Redis apart)",
    value: rSio === null ? 'not measured' : `${x(rSio)} (${num(red.cpuUsPerDelivery, 2)} against ${num(sio.cpuUsPerDelivery, 2)})`,
    met: rSio === null ? null : rSio <= 0.6,
  });
  const p99 = ok(red) && ok(sio) ? [red.latencyMs?.p99, sio.latencyMs?.p99] : null;
  checks.push({
    target: "Rotor's p99 latency, 2 nodes on Redis ≤ socket.io's",
    value: p99 === null ? 'not measured' : `${num(p99[0], 2)} ms against ${num(p99[1], 2)} ms (${x(ratio(p99[0], p99[1]))})`,
    met: p99 === null ? null : p99[0] <= p99[1],
  });
  if (ok(red)) {
    const lost = perRun(results, 'broadcast/rotor-redis', (r) => r.lost ?? 0).reduce((s, v) => s + v, 0);
    const expected = perRun(results, 'broadcast/rotor-redis', (r) => r.expected ?? 0).reduce((s, v) => s + v, 0);
    checks.push({ target: 'Nothing lost (Rotor, 2 nodes on Redis, every run)', value: `${int(lost)} of ${int(expected)} lost`, met: lost === 0 && expected > 0 });
  } else checks.push({ target: 'Nothing lost (Rotor, 2 nodes on Redis, every run)', value: 'not measured', met: null });
  const rs = results.resubscribe;
  if (ok(rs)) {
    const full = rs.channels >= 100000;
    checks.push({
      target: 'Resubscribe: 100,000 channels back within 5 s of Redis returning (issue item 4)',
      value: `${int(rs.loggedChannels)} channels in ${int(rs.backToLoggedMs)} ms${full ? '' : ` (only ${int(rs.channels)} subscribed at --scale ${results.settings.scale}: not judged)`}`,
      met: full ? rs.backToLoggedMs <= 5000 && rs.after?.lost === 0 : null,
    });
  }
  return checks;
}

const ROWS = [
  ['Server CPU-µs per delivered message (nodes summed, Redis apart)', (r) => r.cpuUsPerDelivery, (v) => num(v, 2), true],
  ['Redis CPU-µs per delivered message', (r) => r.redisCpuUsPerDelivery, (v) => num(v, 3), true],
  ['Delivered msg/s', (r) => r.deliveredPerSec, int, true],
  ['Latency p50 (ms)', (r) => r.latencyMs?.p50, (v) => num(v, 2), true],
  ['Latency p99 (ms)', (r) => r.latencyMs?.p99, (v) => num(v, 2), true],
  ['Latency max (ms)', (r) => r.latencyMs?.max, (v) => num(v, 2), true],
  ['Latency p50 / p99, subscribers on node A (publishing node)', (r) => byServer(r, 0), (v) => v ?? '—', false],
  ['Latency p50 / p99, subscribers on node B', (r) => byServer(r, 1), (v) => v ?? '—', false],
  ['Lost messages (of expected)', (r) => (r.expected === undefined ? undefined : `${int(r.lost)} of ${int(r.expected)}`), (v) => v ?? '—', false],
  ['RSS per connection (KB, nodes summed)', (r) => r.rssPerConnKB, (v) => num(v, 1), true],
  ['Server CPU in window (% of a core, nodes summed)', (r) => r.window?.serverCpuPct, (v) => num(v, 0), true],
  ['Per node: A / B (% of a core)', (r) => r.window?.nodeCpuPct?.map((v) => num(v, 0)).join(' / '), (v) => v ?? '—', false],
  ['Redis CPU in window (% of a core)', (r) => (r.redisPid === undefined ? undefined : r.window?.redisCpuPct), (v) => num(v, 1), true],
  ['Generator CPU in window (% of a core)', (r) => r.window?.genCpuPct, (v) => num(v, 0), false],
  ['Generator CPU-µs per delivered message', (r) => r.genCpuUsPerDelivery, (v) => num(v, 1), false],
  ['Other processes in window (cores)', (r) => r.window?.otherCores, (v) => num(v, 2), false],
  ['Publish errors', (r) => r.publishErrors, int, false],
  ['Unexpected disconnects', (r) => r.closedUnexpectedly, int, false],
  ['Setup: connect+subscribe per s', (r) => r.setupConnectsPerSec, int, true],
];

function byServer(r, i) {
  const l = r.latencyByServerMs?.[i];
  return l === undefined ? undefined : `${num(l.p50, 2)} / ${num(l.p99, 2)}`;
}

function broadcastTable(results) {
  const ids = Object.keys(results.broadcast ?? {});
  if (ids.length === 0) return '';
  const cols = ids.map((id) => results.targets[id]);
  const pairs = [
    ['rotor-redis', 'rotor-memory', 'Rotor Redis / Rotor memory'],
    ['rotor-redis', 'socketio-redis', 'Rotor Redis / socket.io'],
    ['bare-raw', 'socketio-redis', 'Floor / socket.io'],
    ['bare-raw-2', 'bare-raw', 'Floor 2 processes / floor 1'],
  ].filter(([a, c]) => ids.includes(a) && ids.includes(c));
  const head = `| Metric | ${cols.join(' | ')} |${pairs.map((p) => ` ${p[2]} |`).join('')}\n|---|${ids.map(() => '---:|').join('')}${pairs.map(() => '---:|').join('')}`;
  const lines = [head];
  for (const [label, get, fmt, showRatio] of ROWS) {
    const cell = (id) => {
      const r = results.broadcast[id];
      return r?.failed ? 'failed' : fmt(r ? get(r) : undefined);
    };
    const rat = (a, c) => {
      if (!showRatio) return '';
      const ra = results.broadcast[a];
      const rc = results.broadcast[c];
      return ra && rc && !ra.failed && !rc.failed ? x(ratio(get(ra), get(rc))) : '—';
    };
    lines.push(`| ${label} | ${ids.map(cell).join(' | ')} |${pairs.map(([a, c]) => ` ${rat(a, c)} |`).join('')}`);
  }
  return lines.join('\n');
}

function apiTable(a) {
  if (a === undefined) return '';
  if (a.failed) return `API publish: failed (${a.failed})`;
  const cols = [a.history, a.plain];
  const rows = [
    ['Requests/s (autocannon average)', (r) => int(r.reqPerSec)],
    ['Latency p50 / p99 / max (ms, autocannon: 1 ms steps)', (r) => `${num(r.latencyMs?.p50, 2)} / ${num(r.latencyMs?.p99, 2)} / ${num(r.latencyMs?.max, 2)}`],
    ['Node A CPU-µs per request', (r) => num(r.nodeACpuUsPerRequest, 2)],
    ['Both nodes CPU-µs per request', (r) => num(r.cpuUsPerRequest, 2)],
    ['Redis CPU-µs per request', (r) => num(r.redisCpuUsPerRequest, 2)],
    ['Node A / node B / Redis CPU (% of a core)', (r) => `${r.window?.nodeCpuPct?.map((v) => num(v, 0)).join(' / ')} / ${num(r.window?.redisCpuPct, 0)}`],
    ['Generator CPU (% of a core)', (r) => num(r.window?.genCpuPct, 0)],
    ['Other processes in window (cores)', (r) => num(r.window?.otherCores, 2)],
    ['Requests / non-2xx / errors / timeouts', (r) => `${int(r.requests)} / ${int(r.non2xx)} / ${int(r.errors)} / ${int(r.timeouts)}`],
    ['History top offset after the run (read through node B) / 2xx answers', (r) => (r.historyOffset === undefined ? '—' : `${int(r.historyOffset)} / ${int(r.acknowledged)}`)],
  ];
  return [
    '| Metric | With history (the figure asked for) | Without history (PUBLISH only) |',
    '|---|---:|---:|',
    ...rows.map(([k, get]) => `| ${k} | ${cols.map((r) => (r === undefined ? '—' : get(r))).join(' | ')} |`),
  ].join('\n');
}

function resubTable(r) {
  if (r === undefined) return '';
  if (r.failed) return `Resubscribe: failed (${r.failed})`;
  const rows = [
    ['Channels subscribed (connections × subscriptions)', `${int(r.channels)} (${int(r.connections)} × ${int(r.channels / Math.max(1, r.connections))})`],
    ['Initial subscribe of all of them (ms)', int(r.subscribeMs)],
    ['Redis down: SIGKILL until the new redis-server answers PING (ms)', int(r.redisDownMs)],
    ['**Redis answering again → node logs `channels resubscribed` for every channel (ms)**', `**${int(r.backToLoggedMs)}**`],
    ["The node's own figure: largest `ms` of the log lines (PUB/SUB ready → all SUBSCRIBEs answered)", int(r.loggedMs)],
    ['`channels` of the log lines, summed (the subscribed ones, plus the node\'s control and own channels)', int(r.loggedChannels)],
    ['PUB/SUB connections that resubscribed (log lines)', r.loggedLines === undefined ? '—' : int(r.loggedLines)],
    ['Afterwards, 100 publications/s to the first channels: delivered of expected (publish errors, disconnects)', `${int(r.after?.delivered)} of ${int(r.after?.expected)} (${int(r.after?.publishErrors)}, ${int(r.after?.closedUnexpectedly)})`],
  ];
  return ['| Metric | Rotor, 1 node, Redis engine |', '|---|---:|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
}

/**
 * The reference points beside the ≤ 0.6× socket.io target: what a Node server with nothing but the
 * fan-out costs per delivery, against socket.io and against Rotor, from the same run.
 */
function floorLine(results) {
  const b = results.broadcast ?? {};
  const ok = (r) => r !== undefined && !r.failed;
  const sio = b['socketio-redis'];
  const red = b['rotor-redis'];
  const parts = [];
  for (const [id, what] of [
    ['bare-raw', 'the floor (one pre-built frame `socket.write`-n to each subscriber, nothing else)'],
    ['bare-ws', 'bare `ws` (`ws.send` to each subscriber)'],
    ['bare-raw-2', 'the floor as two processes sharing the core (half the subscribers each)'],
  ]) {
    const r = b[id];
    if (!ok(r)) continue;
    const vsSio = ok(sio) ? `${x(ratio(r.cpuUsPerDelivery, sio.cpuUsPerDelivery))} socket.io's` : undefined;
    const vsRotor = ok(red) ? `Rotor on two Redis nodes costs ${x(ratio(red.cpuUsPerDelivery, r.cpuUsPerDelivery))} of it` : undefined;
    parts.push(`${what}: ${num(r.cpuUsPerDelivery, 2)} CPU-µs per delivery${vsSio || vsRotor ? ` (${[vsSio, vsRotor].filter(Boolean).join('; ')})` : ''}`);
  }
  return parts.length === 0 ? '' : `Reference points, same run (not targets): ${parts.join('; ')}.`;
}

export function renderTwoNode(results) {
  const m = results.machine;
  const s = results.settings;
  const out = [];
  out.push('## Two nodes on Redis (issue #17): Rotor against socket.io 4 + @socket.io/redis-adapter');
  out.push('');
  out.push(`- Command: \`${results.command}\`${results.label ? ` (${results.label})` : ''}`);
  out.push(`- Date: ${results.startedAt} → ${results.finishedAt}`);
  out.push(`- Machine: ${m.nproc} cores, ${m.cpuModel}, ${m.memGiB} GiB, Linux ${m.kernel}, Node ${m.node}, redis-server ${m.redis}`);
  out.push(`- Rotor commit: ${m.commit}${m.dirtySrc ? ` (+${m.dirtySrc} uncommitted files under src/)` : ''}; Rotor from ${m.rotorRoot}; load average at start ${m.loadavgStart}`);
  out.push(
    `- Pinning: every server process on CPU ${s.serverCpu} — the single node, both nodes of a pair, and the pair's private redis-server (\`--save '' --appendonly no\`, one per target, so its CPU is the target's alone); the load generator on CPU ${s.generatorCpu}. Both nodes and Redis share one core.`,
  );
  out.push(
    `- Broadcast: ${int(s.subscribers)} JSON subscribers on one channel (two nodes: half on each), ${s.rate} publications/s through node A's HTTP API, ${s.payloadBytes}-byte payloads; warm-up ${s.warmupS} s, window ${s.measureS} s${s.repeat > 1 ? `; ${s.repeat} rounds, targets alternating, every other round reversed, medians` : ''}${s.scale !== 1 ? `; **--scale ${s.scale}: a smoke run, not the issue's shape**` : ''}${s.rate !== 10 ? `; **--rate ${s.rate}: a diagnostic, not the issue's shape**` : ''}.`,
  );
  out.push(
    `- The generator's socket.io clients: ${s.sioClient === 'raw' ? 'the socket.io protocol spoken over `ws` (lib/socketio-client.mjs `SioRawConn`), as its Rotor clients speak Centrifugo\'s' : '`socket.io-client` 4 (WebSocket transport only); its Rotor clients are a minimal Centrifugo client over `ws`'}.`,
  );
  out.push('');
  const b = broadcastTable(results);
  if (b) out.push('### Broadcast', '', b, '');
  const busyGen = Object.entries(results.broadcast ?? {}).filter(([, r]) => (r?.window?.genCpuPct ?? 0) >= 90);
  if (busyGen.length > 0) {
    out.push(
      `Note: the load generator reached ${busyGen.map(([id, r]) => `${Math.round(r.window.genCpuPct)} % (${results.targets[id]})`).join(', ')} of its core: there, latency and throughput are bounded by the generator as much as by the servers.`,
      '',
    );
  }
  if (results.checks?.length) {
    out.push('### Targets', '', '| Target | This run | Met |', '|---|---|:---:|');
    for (const c of results.checks) out.push(`| ${c.target} | ${c.value} | ${c.met === null ? '—' : c.met ? 'met' : 'missed'} |`);
    out.push('');
  }
  const bound = floorLine(results);
  if (bound) out.push(bound, '');
  const a = apiTable(results.api);
  if (a) {
    out.push(
      `### API publish through Redis (Rotor, 2 nodes on Redis; autocannon, ${results.api?.connections ?? 32} connections, to node A, one channel, no subscribers; history: a namespace with history_size 100, history_ttl 300s)`,
      '',
      a,
      '',
    );
  }
  const r = resubTable(results.resubscribe);
  if (r) out.push('### Resubscribe after a Redis restart (SIGKILL, started again on its port)', '', r, '');
  return out.join('\n');
}
