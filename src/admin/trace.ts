/**
 * `POST …/admin/trace`: a watch stream (Centrifugo PRO calls it tracing and takes the same body).
 * The body is `{"type":"channel","entity":"<channel>"}` or `{"type":"user","entity":"<user ID>"}`;
 * the answer is newline-delimited JSON (`application/x-ndjson`), one object per line, each with a
 * `type`:
 *
 * - `start` once the watch is in place: for a channel, once the broker delivers it to this node;
 *   for a user, once every live node has confirmed it knows the user is watched;
 * - `publication` (`channel`, and the publication as the history API writes it), `join`, `leave`
 *   (`channel`, `info`) for a channel;
 * - `connect` (`transport`), `subscribe` (`channel`), `unsubscribe` (`channel`, `code`, `reason`),
 *   `disconnect` (`code`, `reason`) for a user, each with `user`, `client` and the `node` holding
 *   the connection;
 * - `ping` every TRACE_PING_MS while nothing else is sent, so proxies keep the stream open;
 * - `end` (`reason`) last, when Rotor ends the stream: shutdown, the admin session expired, or the
 *   reader fell TRACE_MAX_BUFFER_BYTES behind (a stream never drops events silently).
 *
 * Every line has `time` (ms since the epoch). At most TRACE_MAX_STREAMS streams are open per node
 * (429 past it). Errors before the stream starts are a status with `{"error":"…"}`: 400 for a bad
 * body or an unknown channel namespace, 503 when the node is shutting down or the watch could not
 * be put in place within TRACE_START_TIMEOUT_MS (the broker cannot subscribe, a node does not
 * confirm a user watch).
 */
import type { ServerResponse } from 'node:http';
import type { Node } from '../node/node.js';
import type { ChannelRules } from '../rules/channels.js';
import type { WatchEvent, Watcher } from '../node/watch/events.js';
import { clientInfoResult, publicationResult } from '../api/results.js';
import { toJsonText } from '../protocol/json/json-text.js';
import type { Obj } from '../protocol/json/fields.js';
import { withTimeout } from '../util/timeout.js';

/** Open watch streams per node at most. */
export const TRACE_MAX_STREAMS = 32;
/** Unsent bytes a stream may hold before it is ended as too slow. */
export const TRACE_MAX_BUFFER_BYTES = 1024 * 1024;
/** Quiet time after which a `ping` line is written, ms. */
export const TRACE_PING_MS = 25_000;
/** How long putting a watch in place may take before the request is answered 503, ms. */
export const TRACE_START_TIMEOUT_MS = 5000;
/** Events held while the watch is being put in place (they arrive before `start` can be written). */
const TRACE_MAX_EARLY_EVENTS = 1024;
/** After an `end` line, how long a reader that does not read it keeps its connection, ms. */
const TRACE_END_GRACE_MS = 5000;
/** How often a stream checks that its admin session is still valid (and whether to ping), ms. */
const TRACE_CHECK_MS = 1000;
/** Longest channel or user ID a watch accepts, characters. */
export const TRACE_MAX_ENTITY_LENGTH = 1024;

export interface TraceRequest {
  type: 'channel' | 'user';
  entity: string;
}

/** The request, or what is wrong with it. */
export function parseTraceRequest(body: string): TraceRequest | { error: string } {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return { error: 'the body is not JSON' };
  }
  const o = (typeof v === 'object' && v !== null ? v : {}) as { type?: unknown; entity?: unknown };
  if (o.type !== 'channel' && o.type !== 'user') return { error: 'type must be "channel" or "user"' };
  if (typeof o.entity !== 'string' || o.entity === '') return { error: 'entity must be a non-empty string' };
  if (o.entity.length > TRACE_MAX_ENTITY_LENGTH) return { error: `entity is longer than ${TRACE_MAX_ENTITY_LENGTH} characters` };
  return { type: o.type, entity: o.entity };
}

/** One line of the stream for a node event. */
function eventLine(e: WatchEvent, time: number): Obj {
  switch (e.type) {
    case 'publication':
      return { type: e.type, time, channel: e.channel, ...publicationResult(e.pub) };
    case 'join':
    case 'leave':
      return { type: e.type, time, channel: e.channel, info: clientInfoResult(e.info) };
    default:
      return { ...e };
  }
}

class TraceStream implements Watcher {
  #ended = false;
  #stop: (() => void) | undefined;
  /** Lines of events that came before `start` was written; null once it was. */
  #early: Obj[] | null = [];
  #earlyOverflow = false;
  #lastWrite = Date.now();
  readonly #ping: NodeJS.Timeout;

  constructor(
    private readonly res: ServerResponse,
    private readonly stillAuthorized: () => boolean,
    private readonly onEnd: (s: TraceStream) => void,
  ) {
    this.#ping = setInterval(() => this.#tick(), TRACE_CHECK_MS);
    this.#ping.unref();
    res.once('close', () => this.#finish(undefined));
  }

  /** The watch is in place: later events go out; `stop` ends it on the node's side. */
  started(stop: () => void, line: Obj): void {
    this.#stop = stop;
    if (this.#ended) return stop();
    this.res.writeHead(200, {
      'Content-Type': 'application/x-ndjson',
      'Cache-Control': 'no-store',
      // The stream's connection is not reused, so a shutdown does not wait on it.
      Connection: 'close',
      'X-Accel-Buffering': 'no',
    });
    this.#write(line);
    const early = this.#early ?? [];
    this.#early = null;
    for (const l of early) this.#write(l);
    if (this.#earlyOverflow) this.#finish(`more than ${TRACE_MAX_EARLY_EVENTS} events arrived while the watch was being put in place`);
  }

  event(e: WatchEvent): void {
    if (this.#ended) return;
    if (this.#early === null) return this.#write(eventLine(e, Date.now()));
    if (this.#early.length < TRACE_MAX_EARLY_EVENTS) this.#early.push(eventLine(e, Date.now()));
    else this.#earlyOverflow = true;
  }

  end(reason: string): void {
    this.#finish(reason);
  }

  /** Gives up before the stream started (the caller answers with an error status). */
  abandon(): void {
    this.#finish(undefined);
  }

  #tick(): void {
    if (!this.stillAuthorized()) return this.#finish('the admin session expired');
    if (this.#early === null && Date.now() - this.#lastWrite >= TRACE_PING_MS) this.#write({ type: 'ping', time: Date.now() });
  }

  #write(line: Obj): void {
    if (this.res.writableLength > TRACE_MAX_BUFFER_BYTES) return this.#finish(`the reader fell more than ${TRACE_MAX_BUFFER_BYTES} bytes behind`);
    this.#lastWrite = Date.now();
    this.res.write(`${toJsonText(line)}\n`);
  }

  /**
   * Ends the stream once: with an `end` line when Rotor ends it, silently when the reader left. A
   * reader that does not take the end line within TRACE_END_GRACE_MS loses the connection. The
   * node-side stop runs after the current delivery (never inside the node's emit loop).
   */
  #finish(reason: string | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#ping);
    const stop = this.#stop;
    if (stop !== undefined) queueMicrotask(stop);
    this.onEnd(this);
    if (reason === undefined || this.res.destroyed) return;
    if (!this.res.headersSent) this.res.writeHead(200, { 'Content-Type': 'application/x-ndjson', Connection: 'close' });
    this.res.end(`${toJsonText({ type: 'end', time: Date.now(), reason })}\n`);
    const grace = setTimeout(() => this.res.destroy(), TRACE_END_GRACE_MS);
    grace.unref();
    this.res.once('close', () => clearTimeout(grace));
  }
}

export class AdminTrace {
  readonly #open = new Set<TraceStream>();

  constructor(
    private readonly node: Node,
    private readonly rules: () => ChannelRules,
  ) {}

  /** Answers a trace request whose body was read and whose caller is authorized. */
  async handle(res: ServerResponse, body: string, stillAuthorized: () => boolean): Promise<void> {
    const r = parseTraceRequest(body);
    if ('error' in r) return send(res, 400, r.error);
    if (this.node.isShuttingDown) return send(res, 503, 'the node is shutting down');
    if (this.#open.size >= TRACE_MAX_STREAMS) return send(res, 429, `at most ${TRACE_MAX_STREAMS} watch streams per node`);
    if (r.type === 'channel') {
      try {
        this.rules().resolve(r.entity);
      } catch {
        return send(res, 400, 'unknown channel');
      }
    }
    const stream = new TraceStream(res, stillAuthorized, (s) => this.#open.delete(s));
    this.#open.add(stream);
    const start: Obj = { type: 'start', time: Date.now(), watch: r.type, entity: r.entity, node: this.node.options.name };
    const placing = r.type === 'user' ? this.node.watchUser(r.entity, stream) : this.node.watchChannel(r.entity, stream);
    let stop: () => void;
    try {
      stop = await withTimeout(placing, TRACE_START_TIMEOUT_MS, () => new Error(`not in place within ${TRACE_START_TIMEOUT_MS} ms`));
    } catch (err) {
      // A watch put in place after the timeout is ended then; one that failed left nothing behind.
      placing.then((late) => late(), () => {});
      stream.abandon();
      this.node.log.error({ err, watch: r.type, entity: r.entity }, 'admin watch could not be put in place');
      return send(res, 503, r.type === 'user' ? 'not every node confirmed the watch' : 'the broker could not subscribe to the channel');
    }
    stream.started(stop, start);
  }
}

function send(res: ServerResponse, status: number, error: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify({ error }));
}
