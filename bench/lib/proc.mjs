/**
 * Process helpers for the benchmark: pinned spawning with a raised fd limit, CPU and RSS readers
 * from /proc, free ports, readiness polling. Loopback only.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import http from 'node:http';

/** Clock ticks per second for /proc/<pid>/stat (sysconf(_SC_CLK_TCK), 100 on Linux). */
export const CLK_TCK = 100;

/** utime+stime of the whole process (all threads), in microseconds. */
export function cpuMicros(pid) {
  return cpuTimes(pid).totalUs;
}

/**
 * CPU time of the whole process (all threads), µs: utime+stime, and stime alone (kernel mode:
 * syscalls, and whatever network processing the kernel accounts to this task). Both from one
 * read of /proc/PID/stat; the kernel samples them at clock ticks, so short windows are coarse.
 */
export function cpuTimes(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; fields after the closing paren are fixed.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field 14 (utime) is rest[11] and field 15 (stime) rest[12].
  const sys = Number(rest[12]);
  return { totalUs: ((Number(rest[11]) + sys) * 1e6) / CLK_TCK, sysUs: (sys * 1e6) / CLK_TCK };
}

/** Busy jiffies of all CPUs, and of each CPU (user+nice+system+irq+softirq+steal). */
export function systemBusy() {
  const out = {};
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    if (!line.startsWith('cpu')) continue;
    const [name, ...v] = line.trim().split(/\s+/);
    const n = v.map(Number);
    out[name] = n[0] + n[1] + n[2] + n[5] + n[6] + n[7];
  }
  return out;
}

/** Resident set size in bytes (VmRSS). */
export function rssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : NaN;
}

/** A free TCP port on 127.0.0.1 (fresh per server start, so TIME_WAIT tuples never collide). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

/**
 * Spawns `argv` pinned to `cpu` with the fd limit raised to the hard limit, through
 * `bash -c 'ulimit -n …; exec taskset -c CPU …'` so the PID we get is the program's own PID.
 */
export function spawnPinned(cpu, argv, { ipc = false, env = process.env, cwd, quiet = false } = {}) {
  const cmd = `ulimit -n 200000 2>/dev/null || ulimit -n $(ulimit -Hn); exec taskset -c ${cpu} ${argv.map(q).join(' ')}`;
  const stdio = ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'];
  const child = spawn('bash', ['-c', cmd], { stdio, env, cwd });
  const tag = argv.find((a) => a.endsWith('.mjs') || a.endsWith('.js'))?.split('/').pop() ?? argv[0];
  child.stderrText = '';
  child.stderr.on('data', (d) => {
    child.stderrText += d;
    if (!quiet) process.stderr.write(`[${tag}] ${d}`);
  });
  child.stdout.on('data', (d) => {
    if (!quiet) process.stderr.write(`[${tag}] ${d}`);
  });
  return child;
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until an HTTP GET to the URL answers (any status). */
export async function waitHttp(url, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const req = http.get(url, (res) => {
        res.resume();
        resolve(true);
      });
      req.on('error', () => resolve(false));
      req.setTimeout(1000, () => {
        req.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`server at ${url} did not come up`);
    await sleep(100);
  }
}

/** Sends SIGTERM and waits for exit (SIGKILL after `graceMs`). */
export function stopProcess(child, graceMs = 8000) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
