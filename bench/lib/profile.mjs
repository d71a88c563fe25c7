/**
 * Self-time summary of a V8 .cpuprofile (written by `node --cpu-prof`). Self time of a function =
 * the samples whose leaf node is that function, aggregated by callFrame functionName + url.
 *
 * With a window (CLOCK_MONOTONIC µs, the clock V8 timestamps use on Linux), only samples inside
 * it count, so connection setup and shutdown do not dilute the fan-out path.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

const IDLE = new Set(['(idle)', '(program)']);

export function summarizeProfile(file, { top = 15, window, root } = {}) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parentOf = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const selfCount = new Map();
  let usedWindow = false;
  if (window && Array.isArray(prof.samples) && Array.isArray(prof.timeDeltas)) {
    const inRange = window.startUs >= prof.startTime && window.endUs <= prof.endTime + 1e6 && window.startUs < prof.endTime;
    if (inRange) {
      usedWindow = true;
      let t = prof.startTime;
      for (let i = 0; i < prof.samples.length; i++) {
        t += prof.timeDeltas[i];
        if (t < window.startUs || t > window.endUs) continue;
        const id = prof.samples[i];
        selfCount.set(id, (selfCount.get(id) ?? 0) + 1);
      }
    }
  }
  if (!usedWindow) for (const n of prof.nodes) if (n.hitCount) selfCount.set(n.id, n.hitCount);

  const agg = new Map();
  let total = 0;
  let idle = 0;
  for (const [id, count] of selfCount) {
    const n = byId.get(id);
    const cf = n.callFrame;
    const name = cf.functionName || '(anonymous)';
    if (IDLE.has(name)) {
      idle += count;
      continue;
    }
    total += count;
    let url = cf.url || '';
    if (root && url.startsWith('file://')) url = path.relative(root, new URL(url).pathname);
    const key = `${name}\u0000${url}`;
    const e = agg.get(key);
    if (e) e.samples += count;
    else agg.set(key, { functionName: name, url, line: cf.lineNumber + 1, samples: count });
  }
  // Inclusive time of the project's own functions (dist/): what each costs with everything it
  // calls, natives and Node internals included. A function is counted once per sample even when
  // it recurses.
  const incl = new Map();
  for (const [id, count] of selfCount) {
    const name = byId.get(id).callFrame.functionName;
    if (IDLE.has(name)) continue;
    const seen = new Set();
    for (let x = id; x !== undefined; x = parentOf.get(x)) {
      const cf = byId.get(x).callFrame;
      if (!cf.url.startsWith('file://') || !cf.url.includes('/dist/')) continue;
      let url = cf.url;
      if (root) url = path.relative(root, new URL(url).pathname);
      // Rotor's build output only, not a dependency's dist/ folder (jose, lru-cache, yaml).
      if (!url.startsWith('dist/')) continue;
      const key = `${cf.functionName || '(anonymous)'}\u0000${url}\u0000${cf.lineNumber}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const e = incl.get(key);
      if (e) e.samples += count;
      else incl.set(key, { functionName: cf.functionName || '(anonymous)', url, line: cf.lineNumber + 1, samples: count });
    }
  }
  const inclusive = [...incl.values()]
    .sort((a, b) => b.samples - a.samples)
    .slice(0, top)
    .map((r) => ({ ...r, totalPct: total ? (100 * r.samples) / total : 0 }));
  const rows = [...agg.values()]
    .sort((a, b) => b.samples - a.samples)
    .slice(0, top)
    .map((r) => ({ ...r, selfPct: total ? (100 * r.samples) / total : 0 }));
  return { file, usedWindow, busySamples: total, idleSamples: idle, top: rows, inclusive };
}

export function formatProfile(summary, title) {
  const lines = [];
  lines.push(`${title}: ${summary.busySamples} busy samples (${summary.idleSamples} idle/program excluded)${summary.usedWindow ? ', measurement window only' : ', whole process lifetime'}`);
  lines.push('  self%  samples  function  (file:line)');
  for (const r of summary.top) {
    lines.push(`  ${r.selfPct.toFixed(1).padStart(5)}  ${String(r.samples).padStart(7)}  ${r.functionName}  (${r.url || 'native'}${r.url ? `:${r.line}` : ''})`);
  }
  if (summary.inclusive?.length) {
    lines.push('  total%  samples  project function, with all it calls  (file:line)');
    for (const r of summary.inclusive) {
      lines.push(`  ${r.totalPct.toFixed(1).padStart(5)}  ${String(r.samples).padStart(7)}  ${r.functionName}  (${r.url}:${r.line})`);
    }
  }
  return lines.join('\n');
}

// CLI: node bench/lib/profile.mjs file.cpuprofile [top]
if (import.meta.url === `file://${process.argv[1]}`) {
  const s = summarizeProfile(process.argv[2], { top: Number(process.argv[3] ?? 15), root: process.cwd() });
  console.log(formatProfile(s, path.basename(process.argv[2])));
}
