/**
 * Running the server as a process: logging, start, PID file, and signals.
 * SIGTERM/SIGINT: graceful stop bounded by `shutdown.timeout`, then exit 0 (a second signal
 * exits at once). SIGHUP: reload config; an invalid new config is logged and the old one kept.
 */
import { writeFileSync, rmSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import { App } from './app.js';
import { createLogger } from './logger.js';
import { VERSION } from './version.js';

export interface RunOptions {
  config: Readonly<Config>;
  /** Warnings gathered while loading config (unknown keys), logged at start. */
  warnings: string[];
  /** Re-reads config from the same sources; throws when invalid. */
  reload: () => Readonly<Config>;
}

export async function runServer(opts: RunOptions): Promise<void> {
  const config = opts.config;
  const log = createLogger(config.log.level, config.log.file);
  for (const w of opts.warnings) log.warn(w);
  const app = new App(config, log);
  const addr = await app.start();
  if (config.pid_file !== '') writeFileSync(config.pid_file, `${process.pid}\n`);
  const host = config.http_server.address === '' ? 'localhost' : config.http_server.address;
  log.info({ version: VERSION, engine: config.engine.type, port: addr.port }, `Rotor ${VERSION} started`);
  if (!config.websocket.disabled) log.info(`WebSocket endpoint: ws://${host}:${addr.port}${config.websocket.handler_prefix}`);
  if (!config.http_api.disabled) log.info(`HTTP API: http://${host}:${config.http_api.external ? addr.port : addr.internalPort}${config.http_api.handler_prefix}`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, 'shutting down');
    const timeout = config.shutdown.timeout;
    const hard = setTimeout(() => {
      log.warn('shutdown timeout reached, exiting');
      process.exit(1);
    }, timeout + 1000);
    hard.unref();
    app
      .stop(timeout)
      .then(() => {
        if (config.pid_file !== '') rmSync(config.pid_file, { force: true });
        log.info('bye');
        setTimeout(() => process.exit(0), 50).unref();
      })
      .catch((err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    try {
      app.reload(opts.reload());
      log.info('configuration reloaded (token keys and channel options)');
    } catch (err) {
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'configuration reload failed, keeping the current one');
    }
  });
}
