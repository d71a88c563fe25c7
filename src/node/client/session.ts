/**
 * A client connection's session: its state (connecting → connected → closed, the credentials the
 * connect established, its subscriptions), its output (the bounded writer), its timers (pings,
 * the one deadline, the periodic tick) and its close. Every change of that state goes through a
 * method here, so the session keeps its own invariants: connected ⇔ registered in the hub as a
 * user's connection, a changed expiry re-arms the deadline, a subscription is the session's until
 * it is forgotten.
 *
 * Command intake lives in `intake.ts`, the command handlers in `connect.ts`, `subscribe.ts` and
 * `commands.ts`, expiry and its server-side refresh in `expiry.ts`, and a publication's way to one
 * subscription in `deliver.ts`.
 */
import type { Codec } from '../../protocol/codec.js';
import { disconnects, type Disconnect } from '../../protocol/errors.js';
import type { Command, ConnectRequest, Push, Reply } from '../../protocol/types.js';
import type { ClientContext, ConnectReply, KeptHeaders } from '../events.js';
import type { Node } from '../node.js';
import type { PreparedPush } from '../prepared.js';
import type { Transport } from '../transport.js';
import type { TransportCounters } from '../metrics.js';
import type { PingTarget } from '../ping-wheel.js';
import { SmallMap } from '../../util/small-map.js';
import { randomUuid } from '../../util/uuid.js';
import type { DeadlineTarget } from '../../util/deadline-queue.js';
import { Writer, type WriterOwner } from './writer.js';
import type { ChannelSubscription } from './subscription.js';
import { CommandIntake } from './intake.js';
import { expiryDeadline, onExpiryDeadline } from './expiry.js';

export type SessionStatus = 'connecting' | 'connected' | 'closed';

/** Per-request facts a transport knows about the HTTP request that opened the connection. */
export interface SessionRequestInfo {
  /** As node:http gives them: names lower-case, repeated headers joined (`set-cookie` an array). */
  headers: Record<string, string | string[] | undefined>;
  /** gRPC metadata of a uni_grpc call: keys lower-case, text values only. Absent elsewhere. */
  metadata?: Readonly<Record<string, string>>;
  /**
   * Unidirectional HTTP transports with `connect_code_to_http_response`: given a failed connect's
   * code and message, answers the request with an HTTP status and returns true, or returns false
   * to let the usual disconnect push go out.
   */
  connectErrorToHttp?: (code: number, message: string) => boolean;
}

export class Session implements ClientContext, WriterOwner, PingTarget, DeadlineTarget {
  readonly clientId = randomUuid();
  /** Session ID for unidirectional and emulation transports (the `/emulation` endpoint routes by it). */
  readonly sessionId: string;
  readonly writer: Writer;
  #status: SessionStatus = 'connecting';
  #unusable = false;
  #user = '';
  #connInfo: Uint8Array | undefined;
  #meta: Uint8Array | undefined;
  #expireAt = 0;
  #clientSideRefresh = false;
  #tokenChannels: readonly string[] = NO_CHANNELS;
  #clientName = '';
  #clientVersion = '';
  #keptHeaders: KeptHeaders | undefined;
  /** When connect succeeded, ms since the epoch; 0 before. */
  #connectedAt = 0;
  readonly #subs = new SmallMap<string, ChannelSubscription>();
  #request: SessionRequestInfo;
  readonly #intake: CommandIntake;
  #tickTimer: NodeJS.Timeout | undefined;
  #awaitingPong = false;
  /** When the ping now awaiting its pong went out (`performance.now()`, ms). */
  #pingSentAt = 0;
  /** The ping wheel's bookkeeping (see PingTarget); only the wheel writes it. */
  pingSlot = -1;
  /** The expiry queue's bookkeeping (see DeadlineTarget); only the queue writes it. */
  deadlineSlot = -1;
  /** Frames in and out, counted in place for metrics; shared by the transport's sessions. */
  readonly counters: TransportCounters;

  #codec: Codec;

  constructor(
    readonly node: Node,
    readonly transport: Transport,
    codec: Codec,
    /** Facts of the opening request; released after connect (see `releaseRequest`). */
    request: SessionRequestInfo,
  ) {
    const o = node.options;
    this.#codec = codec;
    this.#request = request;
    this.sessionId = transport.emulation || transport.unidirectional ? randomUuid() : '';
    this.writer = new Writer(transport, node.writerOptions, this);
    this.counters = node.metrics.transport(transport.name);
    this.#intake = new CommandIntake(this);
    // Until connect, the session's deadline is the stale close; connect replaces it with the
    // expiry deadline or removes it. No timer per connection.
    if (o.staleCloseDelayMs > 0) node.expiryQueue.schedule(this, Date.now() + o.staleCloseDelayMs);
    node.hub.addPending(this);
  }

  // ------------------------------------------------------------ state (read)

  get codec(): Codec {
    return this.#codec;
  }

  /**
   * The connection turned out to speak another protocol than its transport assumed (a v1 client's
   * first frame on `/connection/websocket`): only before anything was received. False when too late
   * (the session is closing or connected): the frame then meets the codec it has.
   */
  adoptCodec(codec: Codec): boolean {
    if (this.#status !== 'connecting' || this.#unusable) return false;
    this.#codec = codec;
    return true;
  }

  /** The session sends `{}` pings itself: the transport does not ping, and the protocol has them (v1 clients ping the server instead). */
  get appPings(): boolean {
    return this.transport.pingStyle === 'app' && this.#codec.name !== 'v1';
  }

  get status(): SessionStatus {
    return this.#status;
  }
  /** A failed connect leaves the connection unusable: any further command is 3501. */
  get unusable(): boolean {
    return this.#unusable;
  }
  get user(): string {
    return this.#user;
  }
  get connInfo(): Uint8Array | undefined {
    return this.#connInfo;
  }
  get meta(): Uint8Array | undefined {
    return this.#meta;
  }
  /** Unix seconds; 0 = never. */
  get expireAt(): number {
    return this.#expireAt;
  }
  /** The client refreshes its own token (`refresh` command); else the server does, if anyone. */
  get clientSideRefresh(): boolean {
    return this.#clientSideRefresh;
  }
  /** Server-side channels from the connection token (sorted), for refresh comparisons. */
  get tokenChannels(): readonly string[] {
    return this.#tokenChannels;
  }
  get clientName(): string {
    return this.#clientName;
  }
  get clientVersion(): string {
    return this.#clientVersion;
  }
  get keptHeaders(): KeptHeaders | undefined {
    return this.#keptHeaders;
  }
  /** When connect succeeded, ms since the epoch; 0 while connecting. */
  get connectedAt(): number {
    return this.#connectedAt;
  }
  /** Facts of the opening request; an empty stand-in once connect has been decided. */
  get request(): SessionRequestInfo {
    return this.#request;
  }
  /** A ping went out and its pong has not arrived (checked by the node's ping wheel). */
  get awaitingPong(): boolean {
    return this.#awaitingPong;
  }
  /** The transport was asked to stop reading because the command backlog is long. */
  get inputPaused(): boolean {
    return this.#intake.paused;
  }

  isSubscribed(channel: string): boolean {
    const s = this.#subs.get(channel);
    return s !== undefined && s.live;
  }

  clientInfo(chanInfo?: Uint8Array) {
    return { user: this.#user, client: this.clientId, connInfo: this.#connInfo, chanInfo };
  }

  // ------------------------------------------------------------ connect

  /** The client's name and version from its connect request. */
  identify(name: string, version: string): void {
    this.#clientName = name;
    this.#clientVersion = version;
  }

  /** The connect succeeded with these credentials: the session becomes one of its user's connections. */
  connected(reply: ConnectReply): void {
    this.#user = reply.user;
    this.#connInfo = reply.info;
    this.#meta = reply.meta;
    this.#expireAt = reply.expireAt;
    this.#clientSideRefresh = reply.clientSideRefresh;
    this.#keptHeaders = reply.keptHeaders;
    this.#connectedAt = Date.now();
    // A session connects once; it starts with a shared empty list.
    if (reply.tokenChannels !== undefined && reply.tokenChannels.length > 0) this.#tokenChannels = [...reply.tokenChannels].sort();
    this.#status = 'connected';
    this.node.hub.addSession(this);
  }

  /**
   * The connect failed: the connection is unusable (spec §1.8). One that had become its user's
   * connection (its server-side subscriptions failed) goes back to the pending set, where shutdown
   * and the stale close find it. Idempotent.
   */
  connectFailed(): void {
    this.#unusable = true;
    if (this.#status !== 'connected') return;
    this.node.hub.removeSession(this);
    this.#status = 'connecting';
    this.node.hub.addPending(this);
  }

  /** Drops the opening request's headers once connect is decided: they can be kilobytes. */
  releaseRequest(): void {
    this.#request = RELEASED_REQUEST;
  }

  /**
   * New credentials from a refresh (the client's `refresh`, the server API, a server-side
   * refresh): expiry (Unix seconds, 0 = never), and info and meta when given. Re-arms the expiry.
   */
  applyRefresh(expireAt: number, info: Uint8Array | undefined, meta: Uint8Array | undefined): void {
    this.#expireAt = expireAt;
    if (info !== undefined) this.#connInfo = info;
    if (meta !== undefined) this.#meta = meta;
    this.scheduleExpire();
  }

  // ------------------------------------------------------------ subscriptions

  subscription(channel: string): ChannelSubscription | undefined {
    return this.#subs.get(channel);
  }

  get subscriptionCount(): number {
    return this.#subs.size;
  }

  /** A snapshot of the subscriptions, safe to iterate while they change. */
  subscriptions(): ChannelSubscription[] {
    return this.#subs.values();
  }

  /** Registers a subscription being set up; it replaces nothing (callers check `subscription` first). */
  addSubscription(sub: ChannelSubscription): void {
    this.#subs.set(sub.channel, sub);
  }

  /** Forgets `sub` if it is still this session's subscription to its channel; returns whether it was. */
  forgetSubscription(sub: ChannelSubscription): boolean {
    if (this.#subs.get(sub.channel) !== sub) return false;
    this.#subs.delete(sub.channel);
    return true;
  }

  // ------------------------------------------------------------ input (see intake.ts)

  /** A frame from a bidirectional transport: one or more encoded commands. */
  handleFrame(frame: Uint8Array): void {
    this.#intake.handleFrame(frame);
  }

  /** Already decoded commands (also the `/emulation` endpoint), queued behind any in progress. */
  handleCommands(cmds: Command[]): void {
    this.#intake.handleCommands(cmds);
  }

  /** Unidirectional transports: the one connect request. */
  connectUnidirectional(req: ConnectRequest): Promise<void> {
    return this.#intake.connectUnidirectional(req);
  }

  // ------------------------------------------------------------ output

  sendReply(reply: Reply): void {
    let bytes: Uint8Array;
    try {
      bytes = this.codec.encodeReply(reply);
    } catch {
      this.close(disconnects.inappropriateProtocol);
      return;
    }
    this.counters.replied(reply, bytes.byteLength);
    if (this.node.options.replyWithoutQueue) this.writer.writeNow(bytes);
    else this.writer.enqueue(bytes);
  }

  /** Sends an async push in the framing of this transport (Reply.push or a bare Push). */
  sendPush(push: Push): void {
    let bytes: Uint8Array;
    try {
      bytes = this.transport.unidirectional ? this.codec.encodePush(push) : this.codec.encodeReply({ id: 0, kind: 'push', push });
    } catch {
      this.close(disconnects.inappropriateProtocol);
      return;
    }
    this.counters.pushed(push.kind, bytes.byteLength);
    this.writer.enqueue(bytes);
  }

  /** Tells the client the server ended its subscription to `channel` (an `unsubscribe` push), counted. */
  sendUnsubscribe(channel: string, c: { readonly code: number; readonly reason: string }): void {
    this.node.metrics.serverUnsubscribed(channel, c.code);
    this.sendPush({ kind: 'unsubscribe', channel, code: c.code, reason: c.reason });
  }

  /** Queues bytes of a broadcast push; `undefined` means the variant could not be encoded. */
  sendPrepared(prepared: PreparedPush): void {
    const bytes = prepared.bytesFor(this.codec, this.transport.unidirectional);
    if (bytes === undefined) this.close(disconnects.inappropriateProtocol);
    else {
      this.counters.pushed(prepared.push.kind, bytes.byteLength);
      this.writer.enqueue(bytes);
    }
  }

  onWriterOverflow(): void {
    this.node.log.info({ client: this.clientId, user: this.#user }, 'client queue overflow, disconnecting slow client');
    this.close(disconnects.slow);
  }

  // ------------------------------------------------------------ timers

  /** Starts pings and expiry checks once connected. */
  startTimers(): void {
    if (this.#status !== 'connected') return;
    if (this.appPings) this.node.pingWheel?.add(this);
    this.scheduleExpire();
  }

  /**
   * Starts the periodic tick (presence refresh, subscription expiry, position checks) the first
   * time a subscription needs it; connections without such subscriptions carry no interval timer.
   */
  ensureTick(): void {
    const interval = this.node.options.presenceUpdateIntervalMs;
    if (this.#tickTimer !== undefined || interval <= 0 || this.#status === 'closed') return;
    this.#tickTimer = setInterval(() => this.node.sessionTick(this), interval);
  }

  /** Called by the ping wheel. Returns true when a pong is now expected. */
  sendPing(): boolean {
    if (this.#status !== 'connected') return false;
    // An empty Reply and an empty Push encode alike (`{}` in JSON, one 0x00 byte in Protobuf),
    // so the same ping serves bidirectional and unidirectional transports.
    const ping = this.codec.encodeReply(PING_REPLY);
    this.counters.replied(PING_REPLY, ping.byteLength);
    this.writer.enqueue(ping);
    if (!this.pongExpected()) return false;
    this.#awaitingPong = true;
    this.#pingSentAt = performance.now();
    return true;
  }

  /** A pong arrived: true when one was expected (and no longer is), false for a pong out of turn. */
  acceptPong(): boolean {
    if (this.#status !== 'connected' || !this.#awaitingPong) return false;
    this.#awaitingPong = false;
    this.node.metrics.pingPong(this.transport.name, performance.now() - this.#pingSentAt);
    return true;
  }

  pongTimedOut(): void {
    this.close(disconnects.noPong);
  }

  pongExpected(): boolean {
    return !this.transport.unidirectional && this.node.options.pongTimeoutMs > 0;
  }

  /** (Re)arms the connection's expiry deadline on the node's queue (see expiry.ts for when it falls). */
  scheduleExpire(): void {
    if (this.#status === 'closed') return;
    const at = expiryDeadline(this);
    if (at === undefined) this.node.expiryQueue.remove(this);
    else this.node.expiryQueue.schedule(this, at);
  }

  /**
   * Deadline queue callback. Before connect: no connect command within
   * `client.stale_close_delay` (3502 stale). After: the connection's expiry (see expiry.ts).
   */
  onDeadline(nowMs: number): void {
    if (this.#status === 'connecting') this.close(disconnects.stale);
    else if (this.#status === 'connected') onExpiryDeadline(this, nowMs);
  }

  // ------------------------------------------------------------ close

  /**
   * Closes the connection with a disconnect. Idempotent. Queued messages are flushed first except
   * for 3008 slow (the queue is the problem) and 3000 (the peer is gone).
   */
  close(d: Disconnect): void {
    if (this.#status === 'closed') return;
    this.#status = 'closed';
    this.node.pingWheel?.remove(this);
    this.node.expiryQueue.remove(this);
    if (this.#tickTimer) clearInterval(this.#tickTimer);
    const flush = d.code !== disconnects.slow.code && d.code !== disconnects.connectionClosed.code;
    if (flush && !this.transport.closeFrameDisconnect) {
      this.sendPushUnchecked({ kind: 'disconnect', code: d.code, reason: d.reason });
    }
    try {
      this.writer.close(flush);
      // A paused WebSocket would not read the peer's closing frame and linger for the close grace.
      this.#intake.resumeInput();
      if (d.code !== disconnects.connectionClosed.code) this.transport.close(d);
    } finally {
      // Whatever the transport did, the session leaves the hub: a session left there would count
      // against its user's connection limit for good.
      this.node.onSessionClosed(this, d);
    }
  }

  /** The peer went away (socket closed, request aborted). */
  onTransportClosed(): void {
    this.close(disconnects.connectionClosed);
  }

  private sendPushUnchecked(push: Push): void {
    try {
      const bytes = this.transport.unidirectional ? this.codec.encodePush(push) : this.codec.encodeReply({ id: 0, kind: 'push', push });
      this.writer.enqueue(bytes);
    } catch {
      // A disconnect push always encodes; nothing useful to do if it does not.
    }
  }
}

const PING_REPLY: Reply = { id: 0, kind: 'ping' };
const NO_CHANNELS: readonly string[] = Object.freeze([]);
const RELEASED_REQUEST: SessionRequestInfo = Object.freeze({ headers: Object.freeze({}) });
