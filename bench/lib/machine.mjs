/**
 * The machine and the code a benchmark measured, recorded beside its figures: cores, CPU model,
 * Node, kernel, memory, the fd limit, the Redis version (for the cases that start one), the commit,
 * how many files under src/ differ from it (the build may include them), and the load average at
 * the start.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { ROOT } from './servers.mjs';

/** A command's trimmed stdout, or '' when it fails or is missing. */
export function sh(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

export function machineInfo(rotorRoot = ROOT) {
  const model = /Model name:\s*(.+)/.exec(sh('lscpu', []))?.[1]?.trim() ?? os.cpus()[0]?.model ?? '?';
  return {
    nproc: Number(sh('nproc', [])) || os.cpus().length,
    cpuModel: model,
    node: process.version,
    kernel: os.release(),
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    fdLimit: sh('bash', ['-c', 'ulimit -Hn']),
    redis: /v=(\S+)/.exec(sh('redis-server', ['--version']))?.[1] ?? '?',
    commit: sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']),
    dirtySrc: sh('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src']).split('\n').filter(Boolean).length,
    rotorRoot,
    loadavgStart: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  };
}
