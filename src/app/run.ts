/**
 * Running the server as a process: logging, start, PID file, and signals.
 *
 * Signal handlers are installed before anything starts. SIGTERM/SIGINT: graceful stop bounded by
 * `shutdown.timeout`, then exit 0 (a second signal exits at once with 1); a signal that arrives
 * while the server is starting stops it once the start has settled. SIGHUP: reload config; an
 * invalid new config is logged and the old one kept.
 *
 * A start that fails part-way (a port in use, an unwritable `pid_file`) stops whatever was
 * already started and rejects with {@link StartupError}; the caller reports it and exits 1, as
 * Centrifugo's fatal log does. Nothing is left half-running.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import { App, type AppAddress } from './app.js';
import { createLogger, flushed, type ProcessLogger } from './logger.js';
import { VERSION } from './version.js';

export interface RunOptions {
  config: Readonly<Config>;
  /** Warnings gathered while loading config (unknown keys), logged at start. */
  warnings: string[];
  /** Re-reads config from the same sources; throws when invalid. */
  reload: () => Readonly<Config>;
}

/** The server could not start; everything it had started is stopped again. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

const SIGNALS_STOP = ['SIGTERM', 'SIGINT'] as const;

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
    throw new StartupError(`pid_file: cannot write "${file}": ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function logStarted(log: ProcessLogger, config: Readonly<Config>, addr: AppAddress): void {
  const host = config.http_server.address === '' ? 'localhost' : config.http_server.address;
  log.info({ version: VERSION, engine: config.engine.type, port: addr.port }, `Rotor ${VERSION} started`);
  if (!config.websocket.disabled) log.info(`WebSocket endpoint: ws://${host}:${addr.port}${config.websocket.handler_prefix}`);
  if (!config.http_api.disabled) log.info(`HTTP API: http://${host}:${config.http_api.external ? addr.port : addr.internalPort}${config.http_api.handler_prefix}`);
}

/**
 * Starts the server and keeps it running until a stop signal. Resolves once started; rejects
 * (after stopping what was started) when `log.file`, the app, a listener or `pid_file` fails.
 */
export async function runServer(opts: RunOptions): Promise<void> {
  const config = opts.config;
  const log = createLogger(config.log.level, config.log.file);
  for (const w of opts.warnings) log.warn(w);
  let app: App;
  try {
    app = new App(config, log);
  } catch (err) {
    log.fatal({ err: err instanceof Error ? err.message : String(err) }, 'startup failed');
    await flushed(log);
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
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, 'shutting down');
    try {
      await startup;
    } catch {
      return; // the start failed: its own path below stops everything and exits 1
    }
    const timeout = config.shutdown.timeout;
    const hard = setTimeout(() => {
      log.warn('shutdown timeout reached, exiting');
      process.exit(1);
    }, timeout + 1000);
    hard.unref();
    try {
      await app.stop(timeout);
      if (config.pid_file !== '') rmSync(config.pid_file, { force: true });
      log.info('bye');
      await flushed(log);
      process.exit(0);
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      await flushed(log);
      process.exit(1);
    }
  };
  for (const sig of SIGNALS_STOP) process.on(sig, () => void stop(sig));
  process.on('SIGHUP', () => {
    try {
      app.reload(opts.reload());
      log.info('configuration reloaded (token keys and channel options)');
    } catch (err) {
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'configuration reload failed, keeping the current one');
    }
  });

  startup = start();
  let addr: AppAddress;
  try {
    addr = await startup;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log.fatal({ err: message }, 'startup failed');
    await app.stop(0);
    await flushed(log);
    throw err instanceof StartupError ? err : new StartupError(message, { cause: err });
  }
  logStarted(log, config, addr);
}
