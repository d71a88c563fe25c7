/**
 * This process's CPU and memory for `info` (`process: {cpu, rss}`, as Centrifugo reports them):
 * CPU as the percentage of one core used since the previous sample (samples closer than
 * MIN_SAMPLE_MS apart return the last figure, so a burst of `info` calls does not read noise),
 * RSS in bytes.
 */
const MIN_SAMPLE_MS = 1000;

export class ProcessStats {
  #lastCpuUs = 0;
  #lastAt = 0;
  #cpu = 0;

  constructor() {
    const u = process.cpuUsage();
    this.#lastCpuUs = u.user + u.system;
    this.#lastAt = performance.now();
  }

  sample(): { cpu: number; rss: number } {
    const now = performance.now();
    if (now - this.#lastAt >= MIN_SAMPLE_MS) {
      const u = process.cpuUsage();
      const used = u.user + u.system;
      // µs of CPU over ms of wall time: ×100 / 1000 gives percent of one core.
      this.#cpu = Math.round(((used - this.#lastCpuUs) / (now - this.#lastAt)) * 10) / 100;
      this.#lastCpuUs = used;
      this.#lastAt = now;
    }
    return { cpu: this.#cpu, rss: process.memoryUsage.rss() };
  }
}
