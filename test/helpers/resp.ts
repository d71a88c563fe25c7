/**
 * A small RESP2 client for the test helpers: enough to ping, configure and inspect real
 * redis-server and Sentinel processes without a client library (and without `redis-cli`).
 * Commands on one connection are pipelined: replies are matched to commands in order.
 * Bulk strings are decoded as UTF-8; tests that need bytes use ioredis.
 */
import { connect, type Socket } from 'node:net';

/** An error reply (`-ERR ...`, `-MOVED 3999 127.0.0.1:7001`, ...): the message is the whole line. */
export class RespError extends Error {
  /** The first word of the reply: `ERR`, `MOVED`, `WRONGTYPE`, ... */
  readonly kind: string;
  constructor(line: string) {
    super(line);
    this.name = 'RespError';
    this.kind = line.split(' ', 1)[0] ?? '';
  }
}

/** A reply: simple and bulk strings as strings, integers as numbers, nil as null. */
export type RespValue = string | number | null | RespError | RespValue[];

export type RespArg = string | number;

export interface RespAddress {
  host: string;
  port: number;
}

/** Default bound for connecting and for each reply, in milliseconds. */
export const RESP_TIMEOUT_MS = 5000;

export function encodeCommand(args: readonly RespArg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.from(String(a), 'utf8');
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

/** One reply from `buf` at `at`, or undefined when the buffer does not hold all of it yet. */
export function parseReply(buf: Buffer, at: number): { value: RespValue; next: number } | undefined {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[at]!);
  const line = buf.toString('utf8', at + 1, eol);
  const after = eol + 2;
  switch (type) {
    case '+':
      return { value: line, next: after };
    case '-':
      return { value: new RespError(line), next: after };
    case ':':
      return { value: Number(line), next: after };
    case '$': {
      const len = Number(line);
      if (len < 0) return { value: null, next: after };
      if (buf.length < after + len + 2) return undefined;
      return { value: buf.toString('utf8', after, after + len), next: after + len + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, next: after };
      const items: RespValue[] = [];
      let next = after;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, next);
        if (item === undefined) return undefined;
        items.push(item.value);
        next = item.next;
      }
      return { value: items, next };
    }
    default:
      throw new Error(`RESP: unexpected reply type ${JSON.stringify(type)} in ${JSON.stringify(buf.toString('utf8', at, Math.min(buf.length, at + 80)))}`);
  }
}

/**
 * The reply as `redis-cli` prints it when piped: one line per array element (nested arrays
 * flattened), nil as an empty line, integers in decimal.
 */
export function replyText(value: RespValue): string {
  if (value === null) return '';
  if (Array.isArray(value)) return value.map(replyText).join('\n');
  if (value instanceof RespError) return value.message;
  return String(value);
}

interface Pending {
  resolve(v: RespValue): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/** A connection to one server; every call is bounded by its timeout (the socket closes on expiry). */
export class RespConnection {
  private buf: Buffer = Buffer.alloc(0);
  private readonly pending: Pending[] = [];
  private failure: Error | undefined;

  private constructor(
    private readonly socket: Socket,
    readonly address: RespAddress,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error(`connection to ${address.host}:${address.port} closed`)));
  }

  static open(address: RespAddress, timeoutMs = RESP_TIMEOUT_MS): Promise<RespConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: address.host, port: address.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`timed out connecting to ${address.host}:${address.port} after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RespConnection(socket, address));
      });
    });
  }

  /** Sends one command; rejects with {@link RespError} on an error reply. */
  call(args: readonly RespArg[], timeoutMs = RESP_TIMEOUT_MS): Promise<RespValue> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new Error(`no reply to ${String(args[0])} from ${this.address.host}:${this.address.port} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.push({ resolve, reject, timer });
      this.socket.write(encodeCommand(args));
    });
  }

  close(): void {
    this.fail(new Error('connection closed by the caller'));
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let at = 0;
    for (;;) {
      let parsed: { value: RespValue; next: number } | undefined;
      try {
        parsed = parseReply(this.buf, at);
      } catch (e) {
        this.fail(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      if (parsed === undefined) break;
      at = parsed.next;
      const p = this.pending.shift();
      if (p === undefined) continue;
      clearTimeout(p.timer);
      if (parsed.value instanceof RespError) p.reject(parsed.value);
      else p.resolve(parsed.value);
    }
    this.buf = this.buf.subarray(at);
  }

  private fail(e: Error): void {
    if (this.failure === undefined) this.failure = e;
    this.socket.destroy();
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(this.failure);
    }
  }
}

/** One command on a fresh connection, closed afterwards. */
export async function respCommand(address: RespAddress, args: readonly RespArg[], timeoutMs = RESP_TIMEOUT_MS): Promise<RespValue> {
  const c = await RespConnection.open(address, timeoutMs);
  try {
    return await c.call(args, timeoutMs);
  } finally {
    c.close();
  }
}

/** True when the server answers PING with PONG within `timeoutMs`; false on any failure. */
export async function respPing(address: RespAddress, timeoutMs = 1000): Promise<boolean> {
  try {
    return (await respCommand(address, ['PING'], timeoutMs)) === 'PONG';
  } catch {
    return false;
  }
}

/** `INFO <section>` as a map of its `key:value` lines. */
export async function respInfo(address: RespAddress, section: string, timeoutMs = RESP_TIMEOUT_MS): Promise<Map<string, string>> {
  const text = await respCommand(address, ['INFO', section], timeoutMs);
  const out = new Map<string, string>();
  for (const line of String(text).split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}
