/**
 * The load generator process (bench/loadgen.mjs), pinned to its core and driven over IPC: `call`
 * sends one command and resolves with its result, reporting the window's edges (and a slices
 * command's slice edges) on the way.
 */
import path from 'node:path';
import { sleep, spawnPinned } from './proc.mjs';
import { ROOT } from './servers.mjs';

export class Gen {
  constructor(cpu, { quiet = false } = {}) {
    // The generator collects its setup garbage before each window (--expose-gc) and gets a large
    // young generation: its own GC pauses otherwise showed up as 20-80 ms latency spikes.
    this.child = spawnPinned(cpu, [process.execPath, '--expose-gc', '--max-semi-space-size=64', path.join(ROOT, 'bench/loadgen.mjs')], { ipc: true, cwd: ROOT, quiet });
    this.pid = this.child.pid;
    this.handlers = [];
    this.child.on('message', (m) => {
      const h = this.handlers[0];
      if (m.ev === 'error') {
        this.handlers.shift();
        h?.reject(new Error(`loadgen: ${m.message}`));
      } else if (m.ev === 'window-start' || m.ev === 'window-end' || m.ev === 'slice') h?.onWindow?.(m.ev, m);
      else if (h && (h.until === undefined || h.until === m.ev)) {
        this.handlers.shift();
        h.resolve(m);
      }
    });
    // A send to a generator that has died (OOM kill, SIGKILL) raises 'error' on the child; the
    // 'exit' handler below rejects what was waiting, so the error itself is not fatal here.
    this.child.on('error', () => {});
    this.child.on('exit', (code, signal) => {
      for (const h of this.handlers.splice(0)) h.reject(new Error(`loadgen exited (${signal ?? code}): ${this.child.stderrText.slice(-2000)}`));
    });
  }
  ready() {
    if (this.exited) return Promise.reject(new Error(`loadgen has exited: ${this.child.stderrText.slice(-2000)}`));
    return new Promise((resolve, reject) => this.handlers.push({ resolve, reject, until: 'ready' }));
  }
  get exited() {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }
  call(msg, onWindow) {
    if (this.exited) return Promise.reject(new Error(`loadgen has exited: ${this.child.stderrText.slice(-2000)}`));
    return new Promise((resolve, reject) => {
      this.handlers.push({ resolve, reject, onWindow });
      this.child.send(msg);
    });
  }
  async exit() {
    if (this.exited) return;
    const done = new Promise((r) => this.child.once('exit', r));
    this.child.send({ cmd: 'exit' });
    await Promise.race([done, sleep(3000)]);
    if (!this.exited) this.child.kill('SIGKILL');
  }
}
