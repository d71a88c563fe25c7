/**
 * Running the server as a process: logging, start, PID file, and signals.
 *
 * Signal handlers are installed before anything starts. SIGTERM/SIGINT: graceful stop bounded by
 * `shutdown.timeout`, then exit 0 (a second signal exits at once with 1); a signal that arrives
 * while the server is starting stops it once the start has settled. SIGHUP: reload config; an
 * invalid new config is logged and the old one kept. An uncaught exception or unhandled rejection
 * is logged as fatal and exits 1.
 *
 * Every exit writes out the log lines still waiting for a slow reader, for at most
 * `shutdown.timeout` ({@link FAST_EXIT_MS} after a second signal, which asks for a quick exit),
 * and then exits whatever the log's reader does: a dead or stalled stdout never keeps the
 * process alive, and a slow one loses nothing that can be written in that time.
 *
 * A start that fails part-way (a port in use, an unwritable `pid_file`) stops whatever was
 * already started and rejects with {@link StartupError}; the caller reports it and exits 1, as
 * Centrifugo's fatal log does. Nothing is left half-running.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import { App, type AppAddress } from './app.js';
import { createLogger, type ProcessLogger } from './logger.js';
import { VERSION } from './version.js';
import { engineChoice } from './engine.js';
import { messageOf } from '../util/message-of.js';

export interface RunOptions {
  config: Readonly<Config>;
  /** Warnings gathered while loading config (unknown keys), logged at start. */
  warnings: string[];
  /** Re-reads config from the same sources; throws when invalid. */
  reload: () => Readonly<Config>;
  /**
   * Says a failed start at once (on stderr), before the log's last lines are written out, which
   * may wait for a slow log reader for up to `shutdown.timeout`.
   */
  reportFatal?: (message: string) => void;
}

/** The server could not start; everything it had started is stopped again. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

const SIGNALS_STOP = ['SIGTERM', 'SIGINT'] as const;

/** How long the exit after a second stop signal waits for a slow log reader, in ms. */
export const FAST_EXIT_MS = 1000;

/** Writes out the log until `deadline` (a `Date.now()` value), then exits with `code`. */
async function exitWith(log: ProcessLogger, code: number, deadline: number): Promise<never> {
  await log.close(deadline);
  process.exit(code);
}

/**
 * Written to a temporary file beside it and renamed into place, so whoever watches for the PID
 * file never reads it empty or half-written.
 */
function writePidFile(file: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, `${process.pid}\n`);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new StartupError(`pid_file: cannot write "${file}": ${messageOf(err)}`, { cause: err });
  }
}

/**
 * The start lines: the version and the endpoints as URLs a client can use, `https`/`wss` on a
 * listener with TLS (see tls-options.ts for which listener has it).
 */
function logStarted(log: ProcessLogger, config: Readonly<Config>, addr: AppAddress): void {
  const hs = config.http_server;
  const host = hs.address === '' ? 'localhost' : hs.address;
  const externalTls = hs.tls.enabled;
  const separateInternal = addr.internalPort !== addr.port;
  const internalTls = separateInternal ? hs.internal_tls.enabled || (externalTls && !hs.tls_external) : externalTls;
  // What the node runs on: `engine.type`, or the standalone broker / presence manager that replace it.
  const choice = engineChoice(config);
  log.info({ version: VERSION, engine: config.engine.type, broker: choice.broker.type, presence: choice.presence.type, port: addr.port }, `Rotor ${VERSION} started`);
  if (!config.websocket.disabled) log.info(`WebSocket endpoint: ${externalTls ? 'wss' : 'ws'}://${host}:${addr.port}${config.websocket.handler_prefix}`);
  if (!config.http_api.disabled) {
    const onExternal = config.http_api.external || !separateInternal;
    const tls = onExternal ? externalTls : internalTls;
    const apiHost = onExternal || hs.internal_address === '' ? host : hs.internal_address;
    log.info(`HTTP API: ${tls ? 'https' : 'http'}://${apiHost}:${onExternal ? addr.port : addr.internalPort}${config.http_api.handler_prefix}`);
  }
}

/**
 * Starts the server and keeps it running until a stop signal. Resolves once started; rejects
 * (after stopping what was started) when `log.file`, the app, a listener or `pid_file` fails.
 */
export async function runServer(opts: RunOptions): Promise<void> {
  const config = opts.config;
  const log = createLogger(config.log.level, config.log.file);
  /** The deadline of an exit that starts now (a failed start, a crash). */
  const exitDeadline = (): number => Date.now() + Math.max(config.shutdown.timeout, FAST_EXIT_MS);
  for (const w of opts.warnings) log.warn(w);
  let app: App;
  try {
    app = await App.create(config, log);
  } catch (err) {
    const message = messageOf(err);
    log.fatal({ err: message }, 'startup failed');
    opts.reportFatal?.(message);
    await log.close(exitDeadline());
    throw err;
  }

  // The PID file is the last step of a start, so a failed start never leaves one behind.
  const start = async (): Promise<AppAddress> => {
    const addr = await app.start();
    if (config.pid_file !== '') writePidFile(config.pid_file);
    return addr;
  };

  let startup: Promise<AppAddress> | undefined;
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) {
      log.warn({ signal }, 'second signal, exiting at once');
      log.closeSync(Date.now() + FAST_EXIT_MS);
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    try {
      await startup;
    } catch {
      return; // the start failed: its own path below stops everything and exits 1
    }
    const timeout = config.shutdown.timeout;
    // The whole stop, log included, ends by this time (a second later for a zero timeout).
    const deadline = exitDeadline();
    const hard = setTimeout(() => {
      log.warn('shutdown timeout reached, exiting');
      void exitWith(log, 1, deadline);
    }, timeout + 100);
    hard.unref();
    try {
      await app.stop(timeout);
      clearTimeout(hard); // stopped in time: what is left is the log, bounded by the deadline
      if (config.pid_file !== '') rmSync(config.pid_file, { force: true });
      log.info('bye');
      await exitWith(log, 0, deadline);
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      await exitWith(log, 1, deadline);
    }
  };
  for (const sig of SIGNALS_STOP) process.on(sig, () => void stop(sig));
  // A process that has thrown stops serving at once (clients get 3001 and reconnect elsewhere),
  // while its last lines, the fatal one included, are written out.
  const crash = (err: unknown, what: string): void => {
    log.fatal({ err: err instanceof Error ? (err.stack ?? err.message) : String(err) }, what);
    app.stop(0).catch(() => {});
    void exitWith(log, 1, exitDeadline());
  };
  process.on('uncaughtException', (err) => crash(err, 'uncaught exception'));
  process.on('unhandledRejection', (err) => crash(err, 'unhandled promise rejection'));
  process.on('SIGHUP', () => {
    try {
      app.reload(opts.reload());
      log.info('configuration reloaded (token keys and channel options)');
    } catch (err) {
      log.error({ err: messageOf(err) }, 'configuration reload failed, keeping the current one');
    }
  });

  startup = start();
  let addr: AppAddress;
  try {
    addr = await startup;
  } catch (err) {
    const message = messageOf(err);
    log.fatal({ err: message }, 'startup failed');
    opts.reportFatal?.(message);
    await app.stop(0);
    await log.close(exitDeadline());
    throw err instanceof StartupError ? err : new StartupError(message, { cause: err });
  }
  logStarted(log, config, addr);
}
