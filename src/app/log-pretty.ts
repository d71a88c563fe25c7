/**
 * Log lines for a person at a terminal: when the log goes to stdout and stdout is a TTY, each JSON
 * line pino writes becomes `15:04:05.123 INFO  message key=value …`, levels coloured. Files,
 * pipes and log shippers keep the JSON lines (what `log.file` or a redirected stdout gets), so
 * nothing parsing them sees a difference.
 */

const COLOURS: Readonly<Record<string, string>> = {
  trace: '\x1b[90m',
  debug: '\x1b[36m',
  info: '\x1b[32m',
  warn: '\x1b[33m',
  error: '\x1b[31m',
  fatal: '\x1b[35m',
};
const RESET = '\x1b[0m';

export interface LineWriter {
  write(line: string): void;
}

/** Formats pino's JSON lines before they reach `out`; a line that is not JSON passes as it is. */
export class PrettyLines implements LineWriter {
  constructor(
    private readonly out: LineWriter,
    private readonly colour: boolean,
  ) {}

  write(line: string): void {
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.out.write(line);
      return;
    }
    this.out.write(`${formatRecord(rec, this.colour)}\n`);
  }
}

export function formatRecord(rec: Record<string, unknown>, colour: boolean): string {
  const { time, level, message, ...rest } = rec;
  const t = typeof time === 'string' && time.length >= 23 ? time.slice(11, 23) : String(time ?? '');
  const lvl = String(level ?? '').toUpperCase().padEnd(5);
  const c = colour ? (COLOURS[String(level)] ?? '') : '';
  const fields = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' && !/[\s"=]/.test(v) ? v : JSON.stringify(v)}`);
  return `${t} ${c}${lvl}${c !== '' ? RESET : ''} ${String(message ?? '')}${fields.length > 0 ? ` ${fields.join(' ')}` : ''}`;
}
