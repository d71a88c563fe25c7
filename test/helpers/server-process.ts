/**
 * Runs the Rotor CLI (`node --import tsx src/cli/main.ts …`) as a child process for lifecycle
 * tests: collects its output lines (JSON log lines parsed when possible), waits for lines and for
 * the exit, and always kills what it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_ENGINE } from './test-engine.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface OutputLine {
  stream: 'stdout' | 'stderr';
  text: string;
  /** The parsed line when it is a JSON object (structured log line). */
  json: Record<string, unknown> | undefined;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export { freePort } from './service-process.js';

/** A temporary directory removed by `cleanup()`. */
export function tempDir(): { dir: string; file(name: string, content: unknown): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'rotor-lifecycle-'));
  return {
    dir,
    file(name, content) {
      const p = join(dir, name);
      writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
      return p;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Environment without CENTRIFUGO_/ROTOR_ variables, so only the test's config file counts, plus the
 * `TEST_ENGINE` engine's settings (none for memory).
 */
function cleanEnv(engineEnv = true): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(CENTRIFUGO|ROTOR)_/.test(k)) env[k] = v;
  return engineEnv ? { ...env, ...TEST_ENGINE.processEnv() } : env;
}

export class CliProcess {
  readonly lines: OutputLine[] = [];
  readonly exited: Promise<Exit>;
  private exit: Exit | undefined;
  private listeners: (() => void)[] = [];

  private constructor(readonly child: ChildProcess) {
    for (const stream of ['stdout', 'stderr'] as const) {
      let buf = '';
      child[stream]!.setEncoding('utf8');
      child[stream]!.on('data', (chunk: string) => {
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          this.push(stream, buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
      child[stream]!.on('end', () => {
        if (buf !== '') this.push(stream, buf);
        buf = '';
      });
    }
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
        this.notify();
      });
    });
  }

  /**
   * `node --import tsx src/cli/main.ts <args>` from the repository root. `engineEnv: false` leaves
   * out `TEST_ENGINE`'s variables, for a test whose config names its own engine.
   */
  static start(args: string[], opts: { engineEnv?: boolean } = {}): CliProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: REPO_ROOT,
      env: cleanEnv(opts.engineEnv !== false),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new CliProcess(child);
  }

  private push(stream: 'stdout' | 'stderr', text: string): void {
    let json: Record<string, unknown> | undefined;
    try {
      const v: unknown = JSON.parse(text);
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) json = v as Record<string, unknown>;
    } catch {
      /* plain text line */
    }
    this.lines.push({ stream, text, json });
    this.notify();
  }

  private notify(): void {
    for (const l of this.listeners.splice(0)) l();
  }

  /** All output so far, for failure messages. */
  get output(): string {
    return this.lines.map((l) => `[${l.stream}] ${l.text}`).join('\n');
  }

  /** Waits for an output line (at index >= `from`) matching `pred`. Bounded; fails on exit. */
  async waitForLine(pred: (l: OutputLine) => boolean, what: string, ms = 15000, from = 0): Promise<OutputLine> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.lines.slice(from).find(pred);
      if (found !== undefined) return found;
      if (this.exit !== undefined) throw new Error(`process exited (${JSON.stringify(this.exit)}) before ${what}; output:\n${this.output}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; output:\n${this.output}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.listeners.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }

  /** Kills the process if it is still running (test cleanup). */
  async kill(): Promise<void> {
    if (this.exit !== undefined || this.child.exitCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}
