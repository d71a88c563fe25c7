/**
 * The process logger: pino writing JSON lines (`level` as a label, ISO `time`, `message`), to
 * stdout or to `log.file`; on a terminal, readable lines instead (log-pretty.ts). Level `none`
 * silences everything. Fields named `token`, `key`, `password` and `secret` are written as
 * `[redacted]` at the top of a line and up to two objects down (see {@link REDACTED_PATHS}).
 *
 * `log.file` is opened synchronously (append, created if missing; its directory must exist) before
 * anything starts, as Centrifugo does: a file that cannot be opened is a startup error naming
 * `log.file`, never a server running with its logs going nowhere. No directories are made:
 * Centrifugo makes none, and Node's recursive mkdir never returns for some paths under /proc.
 * It is opened non-blocking, so a named pipe whose reader stalls cannot freeze the server (for a
 * regular file the flag changes nothing); a named pipe with no reader yet is opened anyway.
 *
 * Lines go through a {@link LogSink}: written synchronously, never lost to an exit, and never
 * able to keep the process alive (see log-sink.ts).
 */
import { constants, openSync, writeSync } from 'node:fs';
import pino from 'pino';
import type { LogFn, Logger } from '../util/logger.js';
import { LogSink } from './log-sink.js';
import { PrettyLines } from './log-pretty.js';
import { messageOf } from '../util/message-of.js';

/** Field names whose values are secrets wherever they appear in a logged object. */
const SECRET_FIELDS = ['token', 'key', 'password', 'secret'] as const;

/**
 * Where {@link SECRET_FIELDS} are redacted: at the top (`{ token }`), one object down (`{ err:
 * { password } }`, an error's own fields) and two down (`{ err: { options: { secret } } }`, a
 * command's `{ request: { connect: { token } } }`). Deeper is not looked at: each wildcard level
 * costs every line that carries fields a walk of that level (microseconds, and only for lines of
 * an enabled level), and what the server logs is flat records and errors (pino writes an error's
 * own fields and only the message of its cause), which these levels cover. A secret inside a string (a message, a command's text) is
 * beyond any path: never log one there.
 */
const REDACTED_PATHS: readonly string[] = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);

/** The logger of the process: the module-facing {@link Logger} plus what the runner needs. */
export interface ProcessLogger extends Logger {
  fatal: LogFn;
  /**
   * The exit path: writes every line still waiting for a slow reader, for as long as `deadline`
   * (a `Date.now()` value) allows, then reports on stderr how many lines were dropped, if any.
   */
  close(deadline: number): Promise<void>;
  /** {@link close} without the event loop, for an exit that cannot wait (a second signal). */
  closeSync(deadline: number): void;
}

/** `log.file` could not be opened; the message names the key, the path and the reason. */
export class LogFileError extends Error {
  override readonly name = 'LogFileError';
}

function openLogFile(file: string): number {
  const flags = constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK;
  try {
    try {
      return openSync(file, constants.O_WRONLY | flags, 0o644);
    } catch (err) {
      // A FIFO nobody reads yet (a log shipper that starts later): opening it for reading too
      // succeeds at once, and lines wait in the pipe (then in the sink's queue) for the reader.
      if ((err as NodeJS.ErrnoException).code !== 'ENXIO') throw err;
      return openSync(file, constants.O_RDWR | flags, 0o644);
    }
  } catch (err) {
    const why = messageOf(err);
    throw new LogFileError(`log.file: cannot open "${file}" for writing: ${why}`, { cause: err });
  }
}

/** A line on stderr, for what cannot go to the log itself; never throws. */
function toStderr(text: string): void {
  try {
    writeSync(2, `${text}\n`);
  } catch {
    // stderr is gone or full too: there is nowhere left to say it.
  }
}

/** Creates the process logger; throws {@link LogFileError} when `file` cannot be opened. */
export function createLogger(level: string, file: string): ProcessLogger {
  const where = file !== '' ? file : 'stdout';
  // A write error later on (disk full, the reader gone) must not crash the server; it is said
  // once per kind on stderr, which is all that is left.
  const sink = new LogSink(file !== '' ? openLogFile(file) : 1, (code) => toStderr(`log write failed (${where}): ${code}; lines that cannot be written are dropped`));
  const logger = pino(
    {
      level: level === 'none' ? 'silent' : level,
      messageKey: 'message',
      timestamp: pino.stdTimeFunctions.isoTime,
      base: undefined,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    },
    // A person at a terminal reads lines, not JSON (log-pretty.ts).
    file === '' && process.stdout.isTTY === true ? new PrettyLines(sink, process.env['NO_COLOR'] === undefined) : sink,
  );
  const reportDropped = (): void => {
    if (sink.dropped > 0) toStderr(`log: ${sink.dropped} line(s) could not be written to ${where} and were dropped`);
  };
  return Object.assign(logger, {
    async close(deadline: number): Promise<void> {
      await sink.drain(deadline);
      reportDropped();
    },
    closeSync(deadline: number): void {
      sink.drainSync(deadline);
      reportDropped();
    },
  });
}
