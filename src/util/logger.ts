/**
 * The logging surface modules depend on: a structural subset of pino's API, so the core can be
 * tested with a silent or capturing logger and never imports pino itself.
 */
export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

const noop: LogFn = () => {};

/** A logger that drops everything. */
export const silentLogger: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop };
