/**
 * Child processes of backing services (redis-server, nats-server) for tests: binaries found with a
 * one-line error naming the Debian package, a private temp directory per server, and cleanup that
 * holds even when a test forgets to stop a server or the test process dies.
 *
 * Cleanup, three layers deep: `stop()` on each handle (the normal path); an `exit` listener that
 * SIGKILLs every child still running and removes the temp root; and a watchdog `sh` whose stdin is
 * a pipe from this process: when this process dies in any way (SIGKILL included) the pipe closes
 * and the watchdog SIGKILLs the children it was told about and removes the temp root.
 *
 * Children and their pipes are unref'd, so a server left running never keeps a test file's
 * process alive; the exit listener then ends it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** A free TCP port for a child process to listen on, not handed out before by this process. */
export async function freePort(): Promise<number> {
  // Below Linux's ephemeral range (32768–60999 by default), where every `listen(0)` of the
  // parallel test processes takes its port: a port found free here cannot be handed to one of
  // them before our child binds it (it was: a Rotor node then "started" on another test's server).
  for (let attempt = 0; attempt < 2000; attempt++) {
    const port = LOW_PORT + Math.floor(Math.random() * (HIGH_PORT - LOW_PORT + 1));
    if (handedOut.has(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port between ${LOW_PORT} and ${HIGH_PORT}`);
}

const LOW_PORT = 20_000;
const HIGH_PORT = 32_767;

/** Whether a listener can take `port` on every address (so also on 127.0.0.1) right now. */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, () => s.close(() => resolve(true)));
  });
}
const handedOut = new Set<number>();

const SEARCH_EXTRA = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

/**
 * The absolute path of `binary` on PATH (or in an sbin directory, where Debian puts nats-server),
 * else an Error whose message is one line naming the package to install.
 */
export function findBinary(binary: string, debianPackage: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), ...SEARCH_EXTRA];
  for (const d of dirs) {
    const p = join(d, binary);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* not in this directory */
    }
  }
  throw new Error(`${binary} is not installed (the tests start real ${binary} processes); install it with: sudo apt-get install -y ${debianPackage}`);
}

let root: string | undefined;
const live = new Set<ChildProcess>();
let watchdog: ChildProcess | undefined;

// Reads `add PID` / `del PID` lines; at end of input (this process gone) kills what is left
// (SIGCONT first would not matter: SIGKILL ends a stopped process too) and removes the root.
const WATCHDOG = `trap '' INT HUP
root="$1"; pids=" "
while read -r op pid; do
  case "$op" in
    add) pids="$pids$pid " ;;
    del) pids=$(printf '%s' "$pids" | sed "s/ $pid / /") ;;
  esac
done
for p in $pids; do kill -9 "$p" 2>/dev/null; done
rm -rf "$root"`;

function tell(line: string): void {
  watchdog?.stdin?.write(`${line}\n`);
}

function serviceRoot(): string {
  if (root !== undefined) return root;
  const dir = mkdtempSync(join(tmpdir(), 'rotor-services-'));
  root = dir;
  watchdog = spawn('sh', ['-c', WATCHDOG, 'rotor-test-watchdog', dir], { stdio: ['pipe', 'ignore', 'ignore'] });
  watchdog.on('error', () => {
    /* no sh: the exit listener still cleans up */
  });
  watchdog.unref();
  watchdog.stdin?.on('error', () => {
    /* the watchdog is gone: the exit listener still cleans up */
  });
  (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  process.on('exit', () => {
    for (const c of live) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** A new empty directory for one server, under this process's temp root. */
export function serviceDir(label: string): string {
  const dir = mkdtempSync(join(serviceRoot(), `${label.replace(/[^A-Za-z0-9_-]/g, '_')}-`));
  mkdirSync(dir, { recursive: true });
  return dir;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Last bytes of stdout/stderr kept for error messages. */
const KEEP_OUTPUT = 4096;

/** One run of a service binary. A restart is a new ServiceProcess. */
export class ServiceProcess {
  readonly exited: Promise<Exit>;
  private exit: Exit | undefined;
  private out = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly name: string,
    private readonly logFile: string | undefined,
  ) {
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        this.out = (this.out + chunk).slice(-KEEP_OUTPUT);
      });
      (stream as unknown as { unref?: () => void }).unref?.();
    }
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        live.delete(child);
        tell(`del ${child.pid}`);
        resolve(this.exit);
      });
    });
    child.unref();
  }

  /** Spawns `binary args` in `cwd`; `logFile` is where the service logs (read for error messages). */
  static start(o: { binary: string; args: string[]; cwd: string; name: string; logFile?: string }): ServiceProcess {
    serviceRoot();
    const child = spawn(o.binary, o.args, { cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid === undefined) {
      // Only a spawn failure leaves no pid; findBinary ran before, so this is rare (permissions).
      throw new Error(`could not start ${o.binary} for ${o.name}`);
    }
    live.add(child);
    tell(`add ${child.pid}`);
    return new ServiceProcess(child, o.name, o.logFile);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.child.kill(sig);
  }

  /**
   * Waits until /proc says the process is stopped (`stopped` true) or not, so a pause is in force
   * when the promise resolves. Resolves at once where /proc does not exist.
   */
  async waitStopped(stopped: boolean, timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let state: string | undefined;
      try {
        const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
        state = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 1)[0];
      } catch {
        return;
      }
      if ((state === 'T' || state === 't') === stopped || !this.running) return;
      if (Date.now() > deadline) throw new Error(`${this.name}: still ${stopped ? 'running' : 'stopped'} after ${timeoutMs} ms (state ${state})`);
      await sleep(5);
    }
  }

  /** SIGTERM (and SIGCONT, in case it is paused), SIGKILL after `graceMs`; resolves on exit. */
  async terminate(graceMs = 5000): Promise<Exit> {
    if (!this.running) return this.exit!;
    this.child.kill('SIGTERM');
    this.child.kill('SIGCONT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const e = await this.waitExit();
    clearTimeout(timer);
    return e;
  }

  /** SIGKILL; resolves on exit. */
  async kill(): Promise<Exit> {
    if (!this.running) return this.exit!;
    this.child.kill('SIGKILL');
    return this.waitExit();
  }

  /** The exit, with the child ref'd meanwhile: an unref'd child alone would let the event loop end before it. */
  private async waitExit(): Promise<Exit> {
    this.child.ref();
    try {
      return await this.exited;
    } finally {
      this.child.unref();
    }
  }

  /** What the process printed and the tail of its log file, for error messages. */
  output(): string {
    let log = '';
    if (this.logFile !== undefined) {
      try {
        log = readFileSync(this.logFile, 'utf8').slice(-KEEP_OUTPUT);
      } catch {
        /* no log yet */
      }
    }
    const exit = this.exit === undefined ? 'running' : `exited ${JSON.stringify(this.exit)}`;
    return `${this.name} (pid ${this.pid}, ${exit})\n${this.out}${log === '' ? '' : `--- log ---\n${log}`}`;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls `check` every `intervalMs` (default 25) until it returns true; a check that throws counts
 * as false (its last error is in the timeout message). Fails with `what` (and the process's
 * output, when given) after `timeoutMs` (default 10000), or at once when the process exits.
 */
export async function pollUntil(
  check: () => Promise<boolean>,
  what: string,
  o: { timeoutMs?: number; intervalMs?: number; proc?: ServiceProcess } = {},
): Promise<void> {
  const timeoutMs = o.timeoutMs ?? 10000;
  const deadline = Date.now() + timeoutMs;
  let lastError: string | undefined;
  for (;;) {
    if (o.proc !== undefined && !o.proc.running) {
      await o.proc.exited;
      throw new Error(`${what}: the process exited first\n${o.proc.output()}`);
    }
    try {
      if (await check()) return;
    } catch (e) {
      lastError = e instanceof Error ? e.message : String(e);
    }
    if (Date.now() > deadline) {
      const detail = `${lastError === undefined ? '' : ` (last error: ${lastError})`}${o.proc === undefined ? '' : `\n${o.proc.output()}`}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await sleep(o.intervalMs ?? 25);
  }
}

/**
 * The lifecycle every test server handle shares: pause and resume (SIGSTOP/SIGCONT, resolved once
 * /proc shows the change), kill (SIGKILL; the directory stays), restart on the same port, and a
 * final stop that removes the directory. A subclass says how to `launch` and what it is called.
 */
export abstract class ServiceHandle {
  protected proc: ServiceProcess | undefined;
  protected stopped = false;

  constructor(readonly dir: string) {}

  /** For messages: `redis-server 127.0.0.1:PORT`. */
  protected abstract get title(): string;
  /** Starts the process on the handle's port; resolves when it serves. */
  abstract launch(): Promise<void>;

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  protected current(): ServiceProcess {
    if (this.proc === undefined) throw new Error(`${this.title} was never started`);
    return this.proc;
  }

  async pause(): Promise<void> {
    const p = this.current();
    p.signal('SIGSTOP');
    await p.waitStopped(true);
  }

  async resume(): Promise<void> {
    const p = this.current();
    p.signal('SIGCONT');
    await p.waitStopped(false);
  }

  async kill(): Promise<void> {
    await this.proc?.kill();
  }

  async restart(): Promise<void> {
    if (this.stopped) throw new Error(`${this.title} was stopped for good; start a new one`);
    await this.proc?.terminate();
    await this.launch();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.proc?.terminate();
    rmSync(this.dir, { recursive: true, force: true });
  }

  log(): string {
    return this.proc?.output() ?? '(not started)';
  }
}
