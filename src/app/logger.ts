/**
 * The process logger: pino writing JSON lines (`level` as a label, ISO `time`, `message`), to
 * stdout or to `log.file`. Level `none` silences everything.
 */
import pino from 'pino';
import type { Logger } from '../util/logger.js';

export function createLogger(level: string, file: string): Logger {
  const destination = file !== '' ? pino.destination({ dest: file, mkdir: true, sync: false }) : pino.destination({ sync: false });
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
