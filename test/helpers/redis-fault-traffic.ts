/**
 * Traffic for the Redis fault tests: a publisher that calls the API `publish` through one node,
 * one call at a time, numbering its publications and recording which were acknowledged; SDK
 * subscribers (JSON or Protobuf) that record everything they see in order; and the checks that
 * nothing acknowledged is missing from history or from a subscriber.
 */
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Centrifuge as JsonCentrifuge } from 'centrifuge';
import { Centrifuge as ProtobufCentrifuge } from 'centrifuge/build/protobuf';
import { connToken } from './server.js';
import type { ApiReply, RotorNode } from './redis-fault-nodes.js';
import { sleep } from './service-process.js';

export type Codec = 'json' | 'protobuf';

/** One publish call of a {@link Publisher}. Times are `performance.now()` ms. */
export interface Attempt {
  seq: number;
  startMs: number;
  endMs: number;
  /** HTTP 200 with a `result`: the publication is acknowledged. */
  acked: boolean;
  /** The acknowledged stream position. */
  offset?: number;
  epoch?: string;
  /** Otherwise what came back: `error 100 (internal server error)`, `HTTP 503`, or why nothing came. */
  failure?: string;
}

function failureOf(r: ApiReply): string | undefined {
  if (r.status === 0) return `no answer: ${r.failure ?? ''}`;
  if (r.status !== 200) return `HTTP ${r.status} ${JSON.stringify(r.body)}`;
  const b = r.body as { result?: unknown; error?: { code: number; message: string } } | undefined;
  if (b?.error !== undefined) return `error ${b.error.code} (${b.error.message})`;
  if (b?.result === undefined) return `HTTP 200 without a result: ${JSON.stringify(r.body)}`;
  return undefined;
}

/** Outage figures of a publisher: the window from the first failed call to the next acknowledged one. */
export interface Outage {
  failed: number;
  /** From the start of the first failed call to the end of the first acknowledged call after the last failure, ms. */
  windowMs: number;
  /** The slowest and the median failed call, ms: how fast a failure is reported. */
  slowestFailureMs: number;
  medianFailureMs: number;
  /** Each distinct failure text with its count. */
  kinds: Record<string, number>;
}

/**
 * Publishes `{seq}` to `channel` through `node`, one call at a time, `intervalMs` apart, from
 * start() until stop(). Sequence numbers start at 1 and are never reused, so each appears in
 * history at most once unless something resends a publication.
 */
export class Publisher {
  readonly attempts: Attempt[] = [];
  private seq = 0;
  private stopping = false;
  private loop: Promise<void> | undefined;
  /**
   * Set, the loop stops by itself after the first acknowledgement at an offset already
   * acknowledged (Redis lost writes and hands their offsets out again); `held` then says so.
   */
  holdOnReuse = false;
  held = false;
  private topOffset = 0;

  constructor(
    private readonly node: RotorNode,
    readonly channel: string,
    private readonly intervalMs = 20,
  ) {}

  /** Starts the loop (again, after stop()). */
  start(): void {
    if (this.loop !== undefined && !this.held) return;
    this.held = false;
    this.stopping = false;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const a = await this.publishOnce();
      if (this.holdOnReuse && a.acked && (a.offset ?? 0) > 0 && (a.offset ?? 0) <= this.topOffset) {
        this.held = true;
        this.holdOnReuse = false;
        break;
      }
      if (a.acked) this.topOffset = Math.max(this.topOffset, a.offset ?? 0);
      await sleep(this.intervalMs);
    }
  }

  /** One publication with the next sequence number. */
  async publishOnce(): Promise<Attempt> {
    const seq = ++this.seq;
    const startMs = performance.now();
    const r = await this.node.api('publish', { channel: this.channel, data: { seq } });
    const a: Attempt = { seq, startMs, endMs: performance.now(), acked: false };
    const failure = failureOf(r);
    if (failure === undefined) {
      const res = (r.body as { result: { offset?: number; epoch?: string } }).result;
      a.acked = true;
      if (res.offset !== undefined) a.offset = res.offset;
      if (res.epoch !== undefined) a.epoch = res.epoch;
    } else a.failure = failure;
    this.attempts.push(a);
    return a;
  }

  /** Stops the loop after the call in flight. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
    this.loop = undefined;
    this.held = false;
  }

  /** Publishes (one call at a time, 50 ms apart) until a call is acknowledged; for after an outage. */
  async publishUntilAcked(timeoutMs = 20_000): Promise<Attempt> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const a = await this.publishOnce();
      if (a.acked) return a;
      if (performance.now() > deadline) throw new Error(`no publish to ${this.channel} acknowledged within ${timeoutMs} ms; last: ${a.failure}`);
      await sleep(50);
    }
  }

  acked(): Attempt[] {
    return this.attempts.filter((a) => a.acked);
  }

  failed(): Attempt[] {
    return this.attempts.filter((a) => !a.acked);
  }

  /** Waits until at least `n` more calls were acknowledged than now (traffic flows). */
  async waitAcked(n: number, timeoutMs = 20_000): Promise<void> {
    const target = this.acked().length + n;
    const deadline = performance.now() + timeoutMs;
    while (this.acked().length < target) {
      if (performance.now() > deadline) throw new Error(`${this.channel}: ${n} more acknowledged publishes did not come within ${timeoutMs} ms; last failure: ${this.failed().at(-1)?.failure}`);
      await sleep(10);
    }
  }

  /** Waits until a call has failed (after `since` attempts, default any). */
  async waitFailed(timeoutMs = 20_000, since = 0): Promise<Attempt> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const f = this.attempts.slice(since).find((a) => !a.acked);
      if (f !== undefined) return f;
      if (performance.now() > deadline) throw new Error(`${this.channel}: no publish failed within ${timeoutMs} ms`);
      await sleep(10);
    }
  }

  /** {@link outage} in words, for diagnostics. */
  outageText(): string {
    const o = this.outage();
    if (o === undefined) return 'no publish failed';
    return (
      `${o.failed} publishes failed; the API failed for ${Math.round(o.windowMs)} ms (first failure to the next acknowledged publish); ` +
      `a failed call took ${Math.round(o.medianFailureMs)} ms median, ${Math.round(o.slowestFailureMs)} ms at most; ${JSON.stringify(o.kinds)}`
    );
  }

  /**
   * Positions acknowledged twice (same epoch and offset, another publication): the stream went
   * back, as after a failover to a replica that missed the last writes. Empty when none.
   */
  reusedPositions(): string {
    const seen = new Map<string, number>();
    const out: string[] = [];
    for (const a of this.acked()) {
      const k = `${a.offset}/${a.epoch}`;
      const first = seen.get(k);
      if (first !== undefined) out.push(`${k} (seq ${first}, then seq ${a.seq})`);
      else seen.set(k, a.seq);
    }
    return out.length === 0 ? '' : `${out.length}, first ${out.slice(0, 3).join(', ')}`;
  }

  outage(): Outage | undefined {
    const failed = this.failed();
    const first = failed[0];
    const last = failed.at(-1);
    if (first === undefined || last === undefined) return undefined;
    const back = this.attempts.find((a) => a.acked && a.seq > last.seq);
    const durations = failed.map((a) => a.endMs - a.startMs).sort((x, y) => x - y);
    const kinds: Record<string, number> = {};
    for (const a of failed) {
      // Group by kind, not by the exact text (messages carry addresses and times).
      const k = (a.failure ?? '').replace(/\d{2,}/g, 'N').slice(0, 120);
      kinds[k] = (kinds[k] ?? 0) + 1;
    }
    return {
      failed: failed.length,
      windowMs: (back?.endMs ?? Number.NaN) - first.startMs,
      slowestFailureMs: durations.at(-1) ?? 0,
      medianFailureMs: durations[Math.floor(durations.length / 2)] ?? 0,
      kinds,
    };
  }
}

/** What a subscriber saw, in order. Times are `performance.now()` ms. */
export type SubEvent =
  | { kind: 'pub'; seq: number; offset: number; at: number }
  | { kind: 'subscribed'; recovered: boolean; wasRecovering: boolean; offset: number; epoch: string; at: number }
  | { kind: 'subscribing'; code: number; reason: string; at: number }
  | { kind: 'unsubscribed'; code: number; reason: string; at: number }
  | { kind: 'error'; code: number; message: string; at: number }
  | { kind: 'disconnected' | 'connecting'; code: number; reason: string; at: number };

/** A stream position and the publications received since, as `{seq, offset}`. */
export interface Segment {
  offset: number;
  epoch: string;
  pubs: { seq: number; offset: number }[];
}

function seqOf(data: unknown): number {
  const value: unknown = data instanceof Uint8Array ? JSON.parse(Buffer.from(data).toString('utf8')) : data;
  const seq = (value as { seq?: unknown } | null)?.seq;
  if (typeof seq !== 'number') throw new Error(`publication without a seq: ${JSON.stringify(value)}`);
  return seq;
}

/** One SDK client with one subscription to a channel of a node, recording a {@link SubEvent} timeline. */
export class Subscriber {
  readonly timeline: SubEvent[] = [];

  private constructor(
    readonly name: string,
    private readonly client: JsonCentrifuge,
  ) {}

  /**
   * Connects and subscribes; resolves at the first `subscribed` (closing the client when it does
   * not come), or at once with `waitSubscribed: false`.
   */
  static async open(name: string, node: RotorNode, channel: string, codec: Codec, opts: { waitSubscribed?: boolean } = {}): Promise<Subscriber> {
    const Ctor = codec === 'protobuf' ? (ProtobufCentrifuge as unknown as typeof JsonCentrifuge) : JsonCentrifuge;
    const client = new Ctor(node.wsUrl, {
      websocket: WebSocket,
      token: await connToken(name),
      // Quick retries: the tests wait for events, never for these delays.
      minReconnectDelay: 50,
      maxReconnectDelay: 300,
    });
    const sub = client.newSubscription(channel, { minResubscribeDelay: 50, maxResubscribeDelay: 300 });
    const s = new Subscriber(name, client);
    const at = (): number => performance.now();
    sub.on('publication', (ctx) => s.timeline.push({ kind: 'pub', seq: seqOf(ctx.data), offset: ctx.offset ?? 0, at: at() }));
    sub.on('subscribed', (ctx) =>
      s.timeline.push({
        kind: 'subscribed',
        recovered: ctx.recovered,
        wasRecovering: ctx.wasRecovering,
        offset: ctx.streamPosition?.offset ?? 0,
        epoch: ctx.streamPosition?.epoch ?? '',
        at: at(),
      }),
    );
    sub.on('subscribing', (ctx) => s.timeline.push({ kind: 'subscribing', code: ctx.code, reason: ctx.reason, at: at() }));
    sub.on('unsubscribed', (ctx) => s.timeline.push({ kind: 'unsubscribed', code: ctx.code, reason: ctx.reason, at: at() }));
    sub.on('error', (ctx) => s.timeline.push({ kind: 'error', code: ctx.error.code, message: ctx.error.message, at: at() }));
    client.on('disconnected', (ctx) => s.timeline.push({ kind: 'disconnected', code: ctx.code, reason: ctx.reason, at: at() }));
    client.on('connecting', (ctx) => s.timeline.push({ kind: 'connecting', code: ctx.code, reason: ctx.reason, at: at() }));
    sub.subscribe();
    client.connect();
    if (opts.waitSubscribed !== false) {
      try {
        await s.waitSubscribed(1);
      } catch (e) {
        s.close();
        throw e;
      }
    }
    return s;
  }

  /** Waits until the subscription has been subscribed `n` times in all. */
  async waitSubscribed(n: number, timeoutMs = 20_000): Promise<void> {
    await waitUntil(() => this.count('subscribed') >= n, () => `${this.name}: subscribed #${n}; timeline ${this.describe()}`, timeoutMs);
  }

  count(kind: SubEvent['kind']): number {
    return this.timeline.filter((e) => e.kind === kind).length;
  }

  events<K extends SubEvent['kind']>(kind: K): Extract<SubEvent, { kind: K }>[] {
    return this.timeline.filter((e): e is Extract<SubEvent, { kind: K }> => e.kind === kind);
  }

  has(seq: number): boolean {
    return this.timeline.some((e) => e.kind === 'pub' && e.seq === seq);
  }

  async waitFor(seq: number, timeoutMs = 20_000): Promise<void> {
    await waitUntil(() => this.has(seq), () => `${this.name}: publication ${seq}; timeline ${this.describe()}`, timeoutMs);
  }

  /**
   * Where the subscriber's current run of publications starts: the last `subscribed` that did not
   * recover (the first subscribe, or one after lost continuity), its position, and every
   * publication received after it. A recovered resubscribe continues the run.
   */
  segment(): Segment {
    let start = -1;
    this.timeline.forEach((e, i) => {
      if (e.kind === 'subscribed' && !e.recovered) start = i;
    });
    const s = this.timeline[start];
    if (s === undefined || s.kind !== 'subscribed') throw new Error(`${this.name}: never subscribed`);
    const pubs = this.timeline.slice(start + 1).flatMap((e) => (e.kind === 'pub' ? [{ seq: e.seq, offset: e.offset }] : []));
    return { offset: s.offset, epoch: s.epoch, pubs };
  }

  /** Resubscribes, how many recovered, unsubscribes 2500 and subscribe errors, in one line. */
  resubscribeSummary(): string {
    const again = this.events('subscribed').slice(1);
    const insufficient = this.events('subscribing').filter((e) => e.code === 2500).length;
    return `${this.name}: ${again.length} resubscribes (${again.filter((e) => e.recovered).length} recovered), 2500 x${insufficient}, errors ${JSON.stringify(this.events('error').map((e) => e.code))}`;
  }

  /** The timeline without the publications (those are summarised by count), for messages. */
  describe(): string {
    let pubs = 0;
    const out: string[] = [];
    const flush = (): void => {
      if (pubs > 0) out.push(`${pubs} pubs`);
      pubs = 0;
    };
    for (const e of this.timeline) {
      if (e.kind === 'pub') {
        pubs++;
        continue;
      }
      flush();
      const { at: _at, ...rest } = e;
      out.push(JSON.stringify(rest));
    }
    flush();
    return out.join(', ');
  }

  close(): void {
    this.client.disconnect();
  }
}

/** Polls `check` every 10 ms; fails after `timeoutMs` naming `what` (a function: said as it is at the timeout). */
export async function waitUntil(check: () => boolean, what: string | (() => string), timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(10);
  }
}

/** A channel's history as the API gives it: its position and every `{seq, offset}` in offset order. */
export interface History {
  offset: number;
  epoch: string;
  entries: { seq: number; offset: number }[];
}

export async function readHistory(node: RotorNode, channel: string): Promise<History> {
  const r = await node.api('history', { channel, limit: -1 });
  const failure = failureOf(r);
  if (failure !== undefined) throw new Error(`history of ${channel} through ${node.name}: ${failure}`);
  const res = (r.body as { result: { offset?: number; epoch?: string; publications?: { data: unknown; offset?: number }[] } }).result;
  return {
    offset: res.offset ?? 0,
    epoch: res.epoch ?? '',
    entries: (res.publications ?? []).map((p) => ({ seq: seqOf(p.data), offset: p.offset ?? 0 })),
  };
}

/**
 * History holds each sequence number at most once, and every publication of `p` acknowledged
 * from `sinceSeq` on (default: all) at the very offset and epoch the API gave, in the order they
 * were acknowledged.
 */
export function assertAckedInHistory(h: History, p: Publisher, sinceSeq = 0): void {
  const seqs = h.entries.map((e) => e.seq);
  const dup = seqs.filter((s, i) => seqs.indexOf(s) !== i);
  assert.deepEqual(dup, [], `${p.channel}: sequence numbers twice in history`);
  const at = new Map(h.entries.map((e) => [e.seq, e.offset]));
  const acked = p.acked().filter((a) => a.seq >= sinceSeq);
  assert.ok(acked.length > 0, `${p.channel}: something was acknowledged from seq ${sinceSeq} on`);
  const missing = acked.filter((a) => at.get(a.seq) !== a.offset || a.epoch !== h.epoch);
  if (missing.length > 0) {
    const shown = missing.slice(0, 8).map((a) => `seq ${a.seq} acknowledged at ${a.offset}/${a.epoch}, in history ${at.has(a.seq) ? `at ${at.get(a.seq)}/${h.epoch}` : 'missing'}`);
    assert.fail(
      `${p.channel}: ${missing.length} of ${acked.length} acknowledged publications are not in history where acknowledged (top ${h.offset}/${h.epoch}): ` +
        `${shown.join('; ')}${missing.length > shown.length ? '; ...' : ''}`,
    );
  }
  const offsets = acked.map((a) => a.offset ?? 0);
  assert.deepEqual(offsets, [...offsets].sort((x, y) => x - y), `${p.channel}: acknowledged in the order published`);
}

/**
 * The subscriber's current run is exactly history from its start position on: the same epoch,
 * every publication once, in order, nothing else.
 */
export function assertSubscriberMatchesHistory(s: Subscriber, h: History): void {
  const seg = s.segment();
  assert.equal(seg.epoch, h.epoch, `${s.name}: subscribed in the history's epoch; timeline ${s.describe()}`);
  const expected = h.entries.filter((e) => e.offset > seg.offset);
  if (seg.pubs.length === expected.length && seg.pubs.every((p, i) => p.seq === expected[i]?.seq && p.offset === expected[i]?.offset)) return;
  const got = new Set(seg.pubs.map((p) => p.seq));
  const want = new Set(expected.map((e) => e.seq));
  assert.fail(
    `${s.name}: received ${seg.pubs.length} publications after offset ${seg.offset}, history has ${expected.length} there; ` +
      `missing ${JSON.stringify(expected.filter((e) => !got.has(e.seq)).slice(0, 20))}, ` +
      `extra ${JSON.stringify(seg.pubs.filter((p) => !want.has(p.seq)).slice(0, 20))}, ` +
      `duplicates ${JSON.stringify(seg.pubs.filter((p, i) => seg.pubs.findIndex((q) => q.seq === p.seq) !== i).slice(0, 20))}; timeline ${s.describe()}`,
  );
}
