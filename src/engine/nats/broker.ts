/**
 * The NATS broker (spec §9.4): at-most-once PUB/SUB between nodes and the control plane, over one
 * connection to a NATS server or cluster. Subjects and framing are Centrifugo's, so Rotor and
 * Centrifugo nodes can share a NATS (subjects.ts, push.ts).
 *
 * What it does not do: NATS keeps nothing, so there is no history, no stream positions and no
 * recovery (`history` and `removeHistory` reject; a publish with `history` set is published and
 * reports offset 0 and epoch ''), no version suppression, and idempotency keys are ignored (each
 * publish is sent). app/ refuses namespaces that need history with this broker; the presence
 * manager is a separate choice (memory or Redis).
 *
 * Confirmation: publishing writes to the client's buffer; the returned promise settles once the
 * server answered a PING sent after it (one PING answers for every message of the same turn of
 * the event loop), or rejects after `writeTimeoutMs`. So a rejected publish was probably not
 * delivered, and a stalled server fails publishes in bounded time instead of letting them queue.
 * While the connection is down everything rejects at once with the reason: nothing is buffered
 * for later (as Centrifugo, whose client has no reconnect buffer).
 *
 * Outages: the client reconnects by itself, forever, trying every `RECONNECT_WAIT_MS`, and sends
 * every subscription again on reconnecting. `health()` is false while disconnected, and while
 * the last confirmation timed out (a stalled server the client has not given up on yet).
 *
 * While a confirmation has timed out (`stalled`), publications and control messages are refused
 * at once rather than written: nats.js buffers what it cannot write without a bound, so a stalled
 * server would otherwise grow the process by everything published at it, and deliver late what
 * was answered as failed. Each refused send sends one PING, at most one at a time (the control
 * plane's heartbeat sends every 3 s, so one goes out even when nothing else is published), and the
 * first answered clears the stall.
 *
 * A channel NATS cannot carry (a wildcard pattern without `allow_wildcards`, a name that is no
 * valid subject: subjects.ts) is error 107 (bad request), as Centrifugo answers it, rather than a
 * temporary error an SDK would retry forever.
 *
 * Incoming messages that cannot be decoded are dropped and reported to `hooks.onDrop`; nothing
 * from the wire can throw into the client's reader.
 */
import { connect, type Msg, type MsgCallback, type NatsConnection, type NodeConnectionOptions, type Status, type Subscription } from '@nats-io/transport-node';
import type { Broker, BrokerEventHandler, EngineHealth, HistoryOptions, HistoryResult, PublishOptions, PublishResult } from '../types.js';
import type { ClientInfo, Publication } from '../../protocol/types.js';
import { decodeClientInfoRecord, decodePublicationRecord, encodeClientInfoRecord, encodePublicationRecord } from '../../protocol/protobuf/records.js';
import { parseNatsUrl, redactNatsUrl, type NatsBrokerOptions, type NatsServers } from './options.js';
import { decodePush, encodePush, unwrapPublication, type PushKind } from './push.js';
import { isWildcard, NatsSubjects, subjectProblem } from './subjects.js';
import { Confirmations, writeTimeout } from './confirm.js';
import { messageOf } from '../../util/message-of.js';
import { errors, type ReplyError } from '../../protocol/errors.js';

/** Between two rounds of reconnect attempts, ms (the client adds up to 100 ms of jitter). */
export const RECONNECT_WAIT_MS = 250;
/**
 * The client pings the server this often, ms, and reconnects after two unanswered pings: a server
 * that vanished without closing the TCP connection is noticed within about a minute (the client's
 * default, two minutes, would leave PUB/SUB silently broken for four).
 */
const PING_INTERVAL_MS = 20_000;
/** NATS servers' default `max_payload`, used until the server says its own. */
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

export interface NatsBrokerHooks {
  /** A message from NATS was dropped (not decodable, or of a kind this broker does not take). */
  /** `kind`: which handler dropped it, a key for rate-limiting (the reason names the subject). */
  onDrop?(reason: string, kind: 'control' | 'publication'): void;
  /** Something went wrong outside any call: a subscription the server refused, a server error. */
  onError?(err: Error): void;
  /** The connection to NATS was lost (once per outage; the client reconnects by itself). */
  onLost?(message: string): void;
  /** The connection is back and the server confirmed the subscriptions again. */
  onBack?(message: string): void;
}

type State = 'idle' | 'connecting' | 'running' | 'closed';

export class NatsBroker implements Broker {
  private readonly subjects: NatsSubjects;
  private readonly raw: boolean;
  private readonly servers: NatsServers;
  /** For messages: the configured servers, credentials removed. */
  private server: string;
  private state: State = 'idle';
  private nc: NatsConnection | undefined;
  private handler: BrokerEventHandler | undefined;
  /** The subscriptions this node holds, by channel. */
  private readonly subs = new Map<string, Subscription>();
  /** Why the connection is down; undefined while connected. */
  private down: string | undefined = 'not connected yet';
  /** PINGs after writes, and whether the server is stalled (confirm.ts). */
  private readonly confirmations: Confirmations;
  private maxPayload = DEFAULT_MAX_PAYLOAD;

  /** Throws NatsAddressError when `opts.url` is not a list of NATS addresses. */
  constructor(
    private readonly opts: NatsBrokerOptions,
    private readonly hooks: NatsBrokerHooks = {},
  ) {
    this.subjects = new NatsSubjects(opts);
    this.raw = opts.rawMode.enabled;
    this.servers = parseNatsUrl(opts.url);
    this.server = this.servers.servers.join(',');
    this.confirmations = new Confirmations(opts.writeTimeoutMs, () => this.server);
  }

  /**
   * Connects (each server tried once, `dialTimeoutMs` each), subscribes to the control subjects
   * and resolves once the server has those subscriptions. Rejects naming the servers and why.
   */
  async run(handler: BrokerEventHandler, nodeId: string): Promise<void> {
    if (this.state !== 'idle') throw new Error(`nats broker: run called when ${this.state}`);
    this.state = 'connecting';
    this.handler = handler;
    const parsed = this.servers;
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: parsed.servers,
        ...(parsed.user !== undefined ? { user: parsed.user, pass: parsed.pass } : {}),
        ...(parsed.token !== undefined ? { token: parsed.token } : {}),
        // The client hands these to tls.connect as they are, so Node's options fit; its own type
        // only lists the few it reads itself.
        ...(this.opts.tls !== undefined || parsed.tls ? { tls: (this.opts.tls ?? {}) as unknown as NodeConnectionOptions['tls'] } : {}),
        name: `rotor ${nodeId}`,
        timeout: this.opts.dialTimeoutMs,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: RECONNECT_WAIT_MS,
        pingInterval: PING_INTERVAL_MS,
      });
    } catch (err) {
      if (this.state === 'connecting') this.state = 'idle';
      this.down = `cannot connect: ${messageOf(err)}`;
      throw new Error(`nats ${this.server}: cannot connect: ${messageOf(err)}`, { cause: err });
    }
    // close() may have run while connecting.
    if (this.isClosed()) {
      await nc.close();
      throw new Error('nats broker: closed while connecting');
    }
    this.nc = nc;
    this.state = 'running';
    this.down = undefined;
    this.server = nc.getServer() || this.server;
    this.maxPayload = nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
    this.watch(nc.status()).catch((err: unknown) => this.report(err instanceof Error ? err : new Error(String(err))));
    const onControl: MsgCallback<Msg> = (err, msg) => this.deliverControl(err, msg);
    nc.subscribe(this.subjects.control, { callback: onControl });
    nc.subscribe(this.subjects.node(nodeId), { callback: onControl });
    await this.confirmations.confirm(nc, 'the control subscriptions');
  }

  /**
   * Subscribes to the channel's subject; resolves once the server has the subscription (also
   * when it was there already). While disconnected it rejects at once. A subscription whose
   * confirmation failed stays, and the client sends it again on reconnecting, until `unsubscribe`.
   */
  async subscribe(channel: string): Promise<void> {
    const nc = this.running();
    const wildcard = isWildcard(channel);
    if (wildcard && !this.opts.allowWildcards) throw unsupported(`"${channel}" is a wildcard pattern; wildcard channels need allow_wildcards`);
    if (!this.subs.has(channel)) {
      const subject = this.subject(channel);
      const sub = nc.subscribe(subject, {
        callback: (err, msg) => {
          if (this.subs.get(channel) === sub) this.deliverClient(channel, wildcard, err, msg);
        },
      });
      this.subs.set(channel, sub);
    }
    await this.confirmations.confirm(nc, `the subscription to "${channel}"`);
  }

  /** Drops the channel's subscription; nothing for it is delivered after this returns. */
  async unsubscribe(channel: string): Promise<void> {
    const sub = this.subs.get(channel);
    if (sub === undefined) return;
    this.subs.delete(channel);
    if (!sub.isClosed()) sub.unsubscribe();
  }

  async publish(channel: string, data: Uint8Array, opts: PublishOptions): Promise<PublishResult> {
    if (isWildcard(channel)) throw unsupported(`cannot publish into the wildcard pattern "${channel}"`);
    let payload = data;
    if (!this.raw) {
      const pub: Publication = { data, offset: 0, time: Date.now() };
      if (opts.clientInfo !== undefined) pub.info = opts.clientInfo;
      if (opts.tags !== undefined && Object.keys(opts.tags).length > 0) pub.tags = opts.tags;
      if (opts.useDelta === true) pub.delta = true;
      payload = encodePush('publication', channel, encodePublicationRecord(pub));
    }
    await this.send(this.subject(channel), payload, `a publication to "${channel}"`);
    return { position: { offset: 0, epoch: '' }, suppressed: false };
  }

  publishJoin(channel: string, info: ClientInfo): Promise<void> {
    return this.sendJoinLeave('join', channel, info);
  }

  publishLeave(channel: string, info: ClientInfo): Promise<void> {
    return this.sendJoinLeave('leave', channel, info);
  }

  /** To every node (this one included) on `<prefix>.control`, or to `toNode` on `<prefix>.node.<id>`. */
  async publishControl(data: Uint8Array, toNode?: string): Promise<void> {
    const subject = toNode === undefined ? this.subjects.control : this.subjects.node(toNode);
    await this.send(subject, data, toNode === undefined ? 'a control message' : `a control message to node ${toNode}`);
  }

  async history(channel: string, _opts?: HistoryOptions): Promise<HistoryResult> {
    throw new Error(`nats broker keeps no history (channel "${channel}"): use the memory or redis broker for channels with history or recovery`);
  }

  async removeHistory(channel: string): Promise<void> {
    throw new Error(`nats broker keeps no history (channel "${channel}"): there is nothing to remove`);
  }

  health(): EngineHealth {
    if (this.state === 'closed') return { ok: false, reason: `nats ${this.server}: closed` };
    if (this.down !== undefined) return { ok: false, reason: `nats ${this.server}: ${this.down}` };
    const stalled = this.confirmations.stalled;
    if (stalled !== undefined) return { ok: false, reason: `nats ${this.server}: ${stalled}` };
    return { ok: true };
  }

  /**
   * Stops delivery, then drains the connection (what was published goes out) and closes it. A
   * server that does not answer the drain within `writeTimeoutMs` is closed on anyway.
   */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.handler = undefined;
    this.subs.clear();
    const nc = this.nc;
    this.nc = undefined;
    if (nc === undefined || nc.isClosed()) return;
    try {
      await writeTimeout(nc.drain(), this.opts.writeTimeoutMs, 'drain');
    } catch {
      // The server is gone or slow: what it did not take is lost, as with any at-most-once send.
    } finally {
      await nc.close();
    }
  }

  private isClosed(): boolean {
    return this.state === 'closed';
  }

  // ------------------------------------------------------------ sending

  private async sendJoinLeave(kind: 'join' | 'leave', channel: string, info: ClientInfo): Promise<void> {
    // Raw subjects carry data only, and a wildcard subscription gets publications only.
    if (this.raw || isWildcard(channel)) return;
    await this.send(this.subject(channel), encodePush(kind, channel, encodeClientInfoRecord(info)), `a ${kind} in "${channel}"`);
  }

  private send(subject: string, payload: Uint8Array, what: string): Promise<void> {
    const nc = this.running();
    const stalled = this.confirmations.stalled;
    if (stalled !== undefined) {
      this.confirmations.probe(nc);
      throw new Error(`nats ${this.server}: ${stalled}; ${what} not sent`);
    }
    if (payload.length > this.maxPayload) {
      throw new Error(`nats broker: ${what} is ${payload.length} bytes on the wire, over the server's max_payload of ${this.maxPayload} bytes`);
    }
    nc.publish(subject, payload);
    return this.confirmations.confirm(nc, what);
  }

  /** The connection, when it can be used now; throws saying why not. */
  private running(): NatsConnection {
    if (this.state === 'closed') throw new Error('nats broker: closed');
    if (this.state !== 'running' || this.nc === undefined) throw new Error('nats broker: not running');
    if (this.down !== undefined) throw new Error(`nats ${this.server}: ${this.down}`);
    return this.nc;
  }

  private subject(channel: string): string {
    const subject = this.subjects.client(channel);
    const problem = subjectProblem(subject);
    if (problem !== undefined) throw unsupported(`channel "${channel}" cannot be a NATS subject: ${problem}`);
    return subject;
  }

  // ------------------------------------------------------------ receiving

  private deliverControl(err: Error | null, msg: Msg): void {
    if (err !== null) return this.report(err);
    const h = this.handler;
    if (h === undefined) return;
    try {
      h.handleControl(msg.data);
    } catch (e) {
      this.drop(`the control handler threw: ${messageOf(e)}`, 'control');
    }
  }

  private deliverClient(channel: string, wildcard: boolean, err: Error | null, msg: Msg): void {
    if (err !== null) return this.report(err);
    const h = this.handler;
    if (h === undefined) return;
    try {
      if (this.raw) {
        const pub: Publication = { data: msg.data, offset: 0 };
        if (wildcard) pub.channel = this.subjects.channelOf(msg.subject);
        h.handlePublication(channel, pub, { offset: 0, epoch: '' }, false, undefined);
        return;
      }
      const push = decodePush(msg.data);
      if (push.kind !== 'publication') {
        // A wildcard subscription carries publications only: joins and leaves go to the exact channel's subscribers.
        if (wildcard) return;
        const info = decodeClientInfoRecord(push.record);
        if (push.kind === 'join') h.handleJoin(channel, info);
        else h.handleLeave(channel, info);
        return;
      }
      const pub = decodePublicationRecord(push.record);
      const { position, useDelta } = unwrapPublication(pub);
      if (wildcard) pub.channel = push.channel !== '' ? push.channel : this.subjects.channelOf(msg.subject);
      h.handlePublication(channel, pub, position, useDelta, undefined);
    } catch (e) {
      this.drop(`a message on ${msg.subject}: ${messageOf(e)}`, 'publication');
    }
  }

  /**
   * The client sent every subscription again just before reporting the reconnect; a PING
   * answered behind them says the server holds them. Until then health stays down, so `/health`
   * turns 200 only once delivery to this node is back. A PING that times out does not keep it
   * down: the connection is up, and publishes report a stall themselves.
   */
  private confirmResubscribed(): void {
    const waiting = 'reconnected; waiting for the server to confirm the subscriptions';
    this.down = waiting;
    const nc = this.nc;
    const done = (): void => {
      if (this.down !== waiting) return;
      this.down = undefined;
      this.confirmations.clearStall();
      this.hooks.onBack?.(`nats ${this.server}: connection back, subscriptions confirmed`);
    };
    if (nc === undefined) return done();
    writeTimeout(nc.flush(), this.opts.writeTimeoutMs, 'confirming the subscriptions after a reconnect').then(done, done);
  }

  /** Follows the connection's status for `health()` and the size limit, until it closes. */
  private async watch(status: AsyncIterable<Status>): Promise<void> {
    let lastError: string | undefined;
    for await (const s of status) {
      switch (s.type) {
        case 'disconnect':
          this.down = `disconnected${lastError !== undefined ? ` (${lastError})` : ''}; reconnecting`;
          this.server = redactNatsUrl(s.server);
          this.hooks.onLost?.(`nats ${this.server}: connection lost${lastError !== undefined ? ` (${lastError})` : ''}; reconnecting`);
          break;
        case 'reconnect':
          lastError = undefined;
          this.server = redactNatsUrl(s.server);
          this.maxPayload = this.nc?.info?.max_payload ?? this.maxPayload;
          this.confirmResubscribed();
          break;
        case 'staleConnection':
          lastError = 'the server stopped answering pings';
          break;
        case 'error':
          lastError = s.error.message;
          this.report(s.error);
          break;
        case 'close':
          if (this.state !== 'closed') this.down = `connection closed${lastError !== undefined ? ` (${lastError})` : ''}`;
          break;
        default:
          break;
      }
    }
  }

  private drop(reason: string, kind: 'control' | 'publication'): void {
    this.hooks.onDrop?.(reason, kind);
  }

  private report(err: Error): void {
    this.hooks.onError?.(err);
  }
}

/** 107 for the client or the API; `cause` says why, for logs. */
function unsupported(why: string): ReplyError {
  const e = errors.badRequest();
  e.cause = `nats broker: ${why}`;
  return e;
}
