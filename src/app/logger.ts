/**
 * The process logger: pino writing JSON lines (`level` as a label, ISO `time`, `message`), to
 * stdout or to `log.file`. Level `none` silences everything.
 *
 * `log.file` is opened synchronously (append, created if missing; its directory must exist) before
 * anything starts, as Centrifugo does: a file that cannot be opened is a startup error naming
 * `log.file`, never a server running with its logs going nowhere. No directories are made:
 * Centrifugo makes none, and Node's recursive mkdir never returns for some paths under /proc.
 */
import { openSync } from 'node:fs';
import pino from 'pino';
import type { LogFn, Logger } from '../util/logger.js';

/** The logger of the process: the module-facing {@link Logger} plus what the runner needs. */
export interface ProcessLogger extends Logger {
  fatal: LogFn;
  /** Writes out buffered lines; `cb` runs when they are written (or failed to be). */
  flush(cb?: (err?: Error) => void): void;
}

/** `log.file` could not be opened; the message names the key, the path and the reason. */
export class LogFileError extends Error {
  override readonly name = 'LogFileError';
}

function openLogFile(file: string): number {
  try {
    return openSync(file, 'a', 0o644);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new LogFileError(`log.file: cannot open "${file}" for writing: ${why}`, { cause: err });
  }
}

/** Creates the process logger; throws {@link LogFileError} when `file` cannot be opened. */
export function createLogger(level: string, file: string): ProcessLogger {
  const destination = pino.destination({ fd: file !== '' ? openLogFile(file) : 1, sync: false });
  // A write error later on (disk full, file system gone) must not crash the server through an
  // unhandled 'error' event; it is reported on stderr, which is all that is left.
  destination.on('error', (err: Error) => process.stderr.write(`log write failed (${file !== '' ? file : 'stdout'}): ${err.message}\n`));
  return pino(
    {
      level: level === 'none' ? 'silent' : level,
      messageKey: 'message',
      timestamp: pino.stdTimeFunctions.isoTime,
      base: undefined,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: ['token', '*.token', 'key', 'password', 'secret'], censor: '[redacted]' },
    },
    destination,
  );
}

/** Flushes `log` and resolves when done (errors ignored: there is nowhere left to report them). */
export function flushed(log: ProcessLogger): Promise<void> {
  return new Promise((resolve) => log.flush(() => resolve()));
}
