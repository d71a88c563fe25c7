/**
 * Real nats-server processes for tests: `nats-server -a 127.0.0.1 -p <free port>` in its own temp
 * directory (log in nats.log there, JetStream store too when asked for), killed when the test
 * process ends whatever happens (service-process.ts). The shared NATS of a run is named by
 * services.ts.
 */
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { join } from 'node:path';
import { findBinary, freePort, pollUntil, serviceDir, ServiceHandle, ServiceProcess } from './service-process.js';

export interface NatsOptions {
  /** Enable JetStream (`-js`), its store in the server's directory. Default false. */
  jetstream?: boolean;
  /** More nats-server arguments. */
  args?: string[];
}

export interface NatsServer {
  readonly host: string;
  readonly port: number;
  /** `nats://127.0.0.1:PORT` */
  readonly url: string;
  readonly dir: string;
  /** The current process's pid (a new one after restart). */
  readonly pid: number;
  readonly running: boolean;
  /** True when a new connection receives the server's `INFO {...}` line within `timeoutMs` (default 1000); never rejects. */
  ping(timeoutMs?: number): Promise<boolean>;
  /** SIGSTOP; resolves once the process is stopped. */
  pause(): Promise<void>;
  /** SIGCONT; resolves once the process runs again. */
  resume(): Promise<void>;
  /** SIGKILL; resolves when it has exited. restart() can bring it back. */
  kill(): Promise<void>;
  /** Stops it if it runs (SIGTERM, SIGKILL after 5 s), starts it on the same port; resolves when it sends INFO. */
  restart(): Promise<void>;
  /** Final: SIGTERM (SIGKILL after 5 s) and removes the directory. Idempotent. */
  stop(): Promise<void>;
  /** Its output and the tail of nats.log, for failure messages. */
  log(): string;
}

/**
 * The JSON of the `INFO {...}` line a NATS server sends first on a new connection to
 * `host:port`, or undefined when none arrives within `timeoutMs`; never rejects.
 */
export function natsInfo(host: string, port: number, timeoutMs = 1000): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    let got = '';
    const done = (info: Record<string, unknown> | undefined): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(info);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    s.setEncoding('utf8');
    s.on('data', (chunk: string) => {
      got += chunk;
      if (got.length >= 5 && !got.startsWith('INFO ')) return done(undefined);
      const eol = got.indexOf('\n');
      if (eol < 0) return got.length > 65536 ? done(undefined) : undefined;
      try {
        const v: unknown = JSON.parse(got.slice(5, eol));
        done(typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined);
      } catch {
        done(undefined);
      }
    });
    s.on('error', () => done(undefined));
    s.on('close', () => done(undefined));
  });
}

const START_ATTEMPTS = 3;

class NatsHandle extends ServiceHandle implements NatsServer {
  readonly host = '127.0.0.1';

  constructor(
    private readonly binary: string,
    public port: number,
    dir: string,
    private readonly opts: NatsOptions,
  ) {
    super(dir);
  }

  protected get title(): string {
    return `nats-server 127.0.0.1:${this.port}`;
  }

  get url(): string {
    return `nats://${this.host}:${this.port}`;
  }
  get pid(): number {
    return this.current().pid;
  }

  async launch(): Promise<void> {
    const logFile = join(this.dir, 'nats.log');
    // A name of its own, so the INFO that ends the wait is this process's and not that of a
    // server that took the port first.
    const name = `rotor-test-${randomBytes(6).toString('hex')}`;
    const args = ['-a', this.host, '-p', String(this.port), '-l', logFile, '-n', name];
    if (this.opts.jetstream === true) args.push('-js', '-sd', join(this.dir, 'jetstream'));
    args.push(...(this.opts.args ?? []));
    const proc = ServiceProcess.start({ binary: this.binary, args, cwd: this.dir, name: `nats-server 127.0.0.1:${this.port}`, logFile });
    this.proc = proc;
    await pollUntil(async () => (await natsInfo(this.host, this.port, 500))?.server_name === name, `${proc.name} to accept connections`, { proc, timeoutMs: 10000 });
  }

  lostPort(): boolean {
    return this.proc !== undefined && !this.proc.running && /address already in use/i.test(this.proc.output());
  }

  async ping(timeoutMs = 1000): Promise<boolean> {
    return (await natsInfo(this.host, this.port, timeoutMs)) !== undefined;
  }
}

/** Starts one nats-server; resolves when a connection receives its INFO line. */
export async function startNats(opts: NatsOptions = {}): Promise<NatsServer> {
  const binary = findBinary('nats-server', 'nats-server');
  const h = new NatsHandle(binary, 0, serviceDir('nats'), opts);
  for (let attempt = 1; ; attempt++) {
    h.port = await freePort();
    try {
      await h.launch();
      return h;
    } catch (e) {
      if (attempt < START_ATTEMPTS && h.lostPort()) continue;
      await h.stop();
      throw e;
    }
  }
}
