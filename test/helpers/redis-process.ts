/**
 * One real redis-server process (standalone, replica, Sentinel or cluster node) for tests, in its
 * own temp directory with a generated redis.conf, on a free port of 127.0.0.1. Nothing is
 * persisted (`save ""`, `appendonly no`; `RedisOptions.config` may say otherwise), there is no unix socket, and the server logs to
 * redis.log in its directory. Import from redis-servers.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findBinary, freePort, pollUntil, serviceDir, ServiceHandle, ServiceProcess } from './service-process.js';
import { replyText, respCommand, respInfo, respPing, type RespArg, type RespValue } from './resp.js';

export interface RedisOptions {
  /** Extra redis.conf lines, e.g. `replicaof 127.0.0.1 6380` or Sentinel's `sentinel monitor ...`. */
  config?: string[];
  /** Run as a Sentinel: `redis-server redis.conf --sentinel` (Sentinel rewrites that file). */
  sentinel?: boolean;
  /**
   * Cluster mode: `cluster-enabled yes`, `cluster-config-file nodes.conf` (in its directory),
   * `cluster-node-timeout 2000` and a cluster bus on a second free port (`cluster-port`, Redis 7+).
   */
  cluster?: boolean;
  /** Names the directory and error messages; default `redis`. */
  label?: string;
}

export interface RedisServer {
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:PORT` */
  readonly url: string;
  /** The cluster bus port of a cluster node, else undefined. */
  readonly busPort: number | undefined;
  /** The server's private directory (redis.conf, redis.log, nodes.conf). */
  readonly dir: string;
  /** The current process's pid (a new one after restart). */
  readonly pid: number;
  /** False after kill() or stop(), or when the process died. */
  readonly running: boolean;
  /** One command; rejects with RespError on an error reply. `timeoutMs` defaults to 5000. */
  command(args: readonly RespArg[], timeoutMs?: number): Promise<RespValue>;
  /** One command, its reply as piped `redis-cli` prints it (arrays one element a line, nil ''). Rejects on an error reply. */
  cli(...args: RespArg[]): Promise<string>;
  /** True when PING is answered with PONG within `timeoutMs` (default 1000); never rejects. */
  ping(timeoutMs?: number): Promise<boolean>;
  /** SIGSTOP; resolves once the process is stopped. Connections stay open, nothing is answered. */
  pause(): Promise<void>;
  /** SIGCONT; resolves once the process runs again. */
  resume(): Promise<void>;
  /** SIGKILL; resolves when it has exited. The directory stays, so restart() can bring it back. */
  kill(): Promise<void>;
  /**
   * Stops the process if it runs (SIGTERM, SIGKILL after 5 s) and starts it again on the same port
   * with the same directory and config; resolves when it answers PING. Data is gone (nothing is
   * persisted) unless `config` turned persistence on (`appendonly yes`); nodes.conf and a config
   * Sentinel rewrote stay.
   */
  restart(): Promise<void>;
  /** Final: SIGTERM (SIGKILL after 5 s) and removes the directory. Idempotent. */
  stop(): Promise<void>;
  /** Its output and the tail of redis.log, for failure messages. */
  log(): string;
}

/** Fails with one line naming the Debian package when redis-server is missing. */
export function redisServerBinary(): string {
  return findBinary('redis-server', 'redis-server');
}

/** How often a start that lost its free port to another process is tried again on new ports. */
const START_ATTEMPTS = 3;
const READY_TIMEOUT_MS = 10000;

class RedisHandle extends ServiceHandle implements RedisServer {
  readonly host = '127.0.0.1';

  constructor(
    private readonly binary: string,
    private ports: { port: number; busPort: number | undefined },
    dir: string,
    private readonly opts: RedisOptions,
  ) {
    super(dir);
  }

  protected get title(): string {
    return `redis-server 127.0.0.1:${this.port}`;
  }

  get port(): number {
    return this.ports.port;
  }
  get busPort(): number | undefined {
    return this.ports.busPort;
  }
  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }
  get pid(): number {
    return this.current().pid;
  }
  private get confPath(): string {
    return join(this.dir, 'redis.conf');
  }
  private get logPath(): string {
    return join(this.dir, 'redis.log');
  }

  /** Writes redis.conf for the current ports. Only before the first start: later ones keep what Sentinel or CONFIG REWRITE wrote. */
  writeConfig(): void {
    const lines = [
      `port ${this.port}`,
      'bind 127.0.0.1',
      'daemonize no',
      'save ""',
      'appendonly no',
      // A replica syncs at once instead of after the default 5 s wait for more replicas.
      'repl-diskless-sync-delay 0',
      `dir "${this.dir}"`,
      `logfile "${this.logPath}"`,
    ];
    if (this.opts.cluster === true) {
      lines.push('cluster-enabled yes', 'cluster-config-file nodes.conf', 'cluster-node-timeout 2000', `cluster-port ${this.busPort}`);
    }
    lines.push(...(this.opts.config ?? []));
    writeFileSync(this.confPath, `${lines.join('\n')}\n`);
  }

  /** Starts the process and waits until this very process answers (a port lost to another server is noticed). */
  async launch(): Promise<void> {
    const args = [this.confPath, ...(this.opts.sentinel === true ? ['--sentinel'] : [])];
    const proc = ServiceProcess.start({ binary: this.binary, args, cwd: this.dir, name: `redis-server 127.0.0.1:${this.port}${this.opts.sentinel === true ? ' (sentinel)' : ''}`, logFile: this.logPath });
    this.proc = proc;
    const address = { host: this.host, port: this.port };
    await pollUntil(
      async () => {
        if (!(await respPing(address, 500))) return false;
        const info = await respInfo(address, 'server', 1000).catch(() => undefined);
        return info?.get('process_id') === String(proc.pid);
      },
      `${proc.name} to answer PING`,
      { proc, timeoutMs: READY_TIMEOUT_MS },
    );
  }

  /** True when the last start failed because its port was taken. */
  lostPort(): boolean {
    return this.proc !== undefined && !this.proc.running && /Address already in use/i.test(this.proc.output());
  }

  async newPorts(): Promise<void> {
    this.ports = { port: await freePort(), busPort: this.opts.cluster === true ? await freePort() : undefined };
  }

  command(args: readonly RespArg[], timeoutMs?: number): Promise<RespValue> {
    return respCommand({ host: this.host, port: this.port }, args, timeoutMs);
  }

  async cli(...args: RespArg[]): Promise<string> {
    return replyText(await this.command(args));
  }

  ping(timeoutMs = 1000): Promise<boolean> {
    return respPing({ host: this.host, port: this.port }, timeoutMs);
  }
}

/** Starts one redis-server; resolves when it answers PING. See {@link RedisOptions}. */
export async function startRedis(opts: RedisOptions = {}): Promise<RedisServer> {
  const binary = redisServerBinary();
  const dir = serviceDir(opts.label ?? (opts.sentinel === true ? 'sentinel' : 'redis'));
  const h = new RedisHandle(binary, { port: 0, busPort: undefined }, dir, opts);
  for (let attempt = 1; ; attempt++) {
    await h.newPorts();
    h.writeConfig();
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

/** Starts `n` independent standalone servers in parallel. */
export async function startShards(n: number, opts: Omit<RedisOptions, 'sentinel' | 'cluster'> = {}): Promise<RedisServer[]> {
  const started = await Promise.allSettled(Array.from({ length: n }, (_, i) => startRedis({ label: `shard${i}`, ...opts })));
  const servers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    await stopAll(servers);
    throw failed.reason;
  }
  return servers;
}

/** stop() on every server, in parallel. */
export async function stopAll(servers: readonly RedisServer[]): Promise<void> {
  await Promise.all(servers.map((s) => s.stop()));
}
