/**
 * A Transport over a streaming HTTP response, shared by http_stream, sse and their
 * unidirectional variants. Headers are written with the first message, so a connect that fails
 * can still be answered with an HTTP status (`connect_code_to_http_response`).
 *
 * Framings: `ndjson` — every message followed by `\n`; `protobuf` — varint-delimited messages
 * as the codec produced them; `sse` — every message as one `data: …\n\n` event, after an initial
 * `\r\n` (spec §8.3, §8.4, §8.7, §8.8).
 */
import type { ServerResponse } from 'node:http';
import type { Disconnect } from '../../protocol/errors.js';
import type { ProtocolName } from '../../protocol/types.js';
import type { Transport } from '../../node/transport.js';
import { DisconnectCode } from '../../protocol/codes.js';
import { RunCache } from './run-cache.js';
import { afterCloseGrace } from './close-grace.js';

export type StreamFraming = 'ndjson' | 'protobuf' | 'sse';

export interface ResponseTransportCaps {
  name: string;
  protocol: ProtocolName;
  unidirectional: boolean;
  emulation: boolean;
}

const NL = Buffer.from('\n');
const SSE_PREFIX = Buffer.from('data: ');
const SSE_SUFFIX = Buffer.from('\n\n');
const SSE_START = Buffer.from('\r\n');

/** Bytes of `messages[start..end)` in a framing; the same for every connection that uses it. */
function framed(framing: StreamFraming, messages: readonly Uint8Array[], start: number, end: number): Buffer {
  const parts: Uint8Array[] = [];
  for (let i = start; i < end; i++) {
    const m = messages[i]!;
    if (framing === 'sse') parts.push(SSE_PREFIX, m, SSE_SUFFIX);
    else if (framing === 'ndjson') parts.push(m, NL);
    else parts.push(m);
  }
  return Buffer.concat(parts);
}

/**
 * One body cache per framing for all streaming responses of the process: a broadcast writes the
 * same framed bytes to every subscriber instead of concatenating them per response.
 */
const BODIES: Readonly<Record<StreamFraming, RunCache>> = {
  ndjson: new RunCache((m, s, e) => framed('ndjson', m, s, e)),
  protobuf: new RunCache((m, s, e) => framed('protobuf', m, s, e)),
  sse: new RunCache((m, s, e) => framed('sse', m, s, e)),
};

export const STREAM_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'private, no-cache, no-store, must-revalidate, max-age=0',
  Pragma: 'no-cache',
  Expire: '0',
  'X-Accel-Buffering': 'no',
};

export class ResponseTransport implements Transport {
  readonly name: string;
  readonly protocol: ProtocolName;
  readonly unidirectional: boolean;
  readonly emulation: boolean;
  readonly pingStyle = 'app' as const;
  readonly closeFrameDisconnect = false;
  private started = false;
  private ended = false;

  constructor(
    private readonly res: ServerResponse,
    caps: ResponseTransportCaps,
    private readonly framing: StreamFraming,
  ) {
    this.name = caps.name;
    this.protocol = caps.protocol;
    this.unidirectional = caps.unidirectional;
    this.emulation = caps.emulation;
  }

  /** True once the 200 and headers went out; before that the response can still be an error. */
  get headersSent(): boolean {
    return this.started;
  }

  private start(): void {
    this.started = true;
    const contentType =
      this.framing === 'sse' ? 'text/event-stream; charset=utf-8' : this.framing === 'protobuf' ? 'application/octet-stream' : 'application/json';
    const headers: Record<string, string> = { ...STREAM_HEADERS, 'Content-Type': contentType };
    if (this.res.req.httpVersionMajor === 1) headers.Connection = 'keep-alive';
    this.res.writeHead(200, headers);
    if (this.framing === 'sse') this.res.write(SSE_START);
  }

  write(messages: readonly Uint8Array[], start: number, end: number): void {
    if (this.ended) return;
    if (!this.started) this.start();
    this.res.write(BODIES[this.framing].bytesFor(messages, start, end));
  }

  bufferedBytes(): number {
    return this.res.writableLength;
  }

  /**
   * Ends the response. A client that stopped reading never lets `end()` finish, and the response
   * would keep its socket and everything buffered for as long as the peer holds the connection:
   * a slow client (3008) is cut at once, any other is cut when its output has not drained within
   * the grace period.
   */
  close(d: Disconnect): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.started) this.start();
    const res = this.res;
    if (d.code === DisconnectCode.slow.code) {
      res.destroy();
      return;
    }
    res.end();
    if (res.writableFinished) return;
    afterCloseGrace(() => {
      if (!res.writableFinished) res.destroy();
    });
  }

  /** Marks the response as finished elsewhere (an HTTP error answer for a failed connect). */
  abandon(): void {
    this.ended = true;
  }
}
