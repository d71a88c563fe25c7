/**
 * A client connection's session: the state machine connecting → connected → closed, ping/pong and
 * expiry timers, the bounded writer, and command dispatch. Command handlers live in the sibling
 * files (`connect.ts`, `subscribe.ts`, `commands.ts`) and a publication's way to one subscription
 * in `deliver.ts`; this file owns lifecycle, command intake and output.
 *
 * Commands of one connection are processed one at a time, in arrival order, so replies keep the
 * command order (Centrifugo's default `client.concurrency: 0`).
 */
import type { Codec } from '../../protocol/codec.js';
import { ProtocolDecodeError } from '../../protocol/codec.js';
import { DisconnectError, ReplyError, disconnects, type Disconnect } from '../../protocol/errors.js';
import type { Command, ConnectRequest, Push, Reply } from '../../protocol/types.js';
import type { ClientContext } from '../events.js';
import type { Node } from '../node.js';
import { PreparedPush } from '../prepared.js';
import type { Transport } from '../transport.js';
import type { PingTarget } from '../ping-wheel.js';
import { SmallMap } from '../../util/small-map.js';
import { randomUuid } from '../../util/uuid.js';
import type { DeadlineTarget } from '../../util/deadline-queue.js';
import { Writer, type WriterOwner } from './writer.js';
import { ChannelSubscription } from './subscription.js';
import { handleConnect, handleUnidirectionalConnect } from './connect.js';
import { handleCommand } from './commands.js';
import { resultCode } from '../metrics.js';

export type SessionStatus = 'connecting' | 'connected' | 'closed';

/** Per-request facts a transport knows about the HTTP request that opened the connection. */
export interface SessionRequestInfo {
  headers: Record<string, string | string[] | undefined>;
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
  status: SessionStatus = 'connecting';
  /** A failed connect leaves the connection unusable: any further command is 3501. */
  unusable = false;
  user = '';
  connInfo: Uint8Array | undefined;
  meta: Uint8Array | undefined;
  /** Unix seconds; 0 = never. */
  expireAt = 0;
  clientSideRefresh = false;
  /** Server-side channels from the connection token (sorted), for refresh comparisons. */
  tokenChannels: readonly string[] = NO_CHANNELS;
  clientName = '';
  clientVersion = '';
  readonly subs = new SmallMap<string, ChannelSubscription>();
  readonly writer: Writer;

  /** Commands that arrived while others were being handled, oldest first (see `drain`). */
  private backlog: Command[] | undefined;
  private draining = false;
  /** The transport was asked to stop reading because the backlog is long (see `handleCommands`). */
  inputPaused = false;
  private tickTimer: NodeJS.Timeout | undefined;
  /** A ping went out and its pong has not arrived (checked by the node's ping wheel). */
  awaitingPong = false;
  pingSlot = -1;

  constructor(
    readonly node: Node,
    readonly transport: Transport,
    readonly codec: Codec,
    /** Facts of the opening request; released after connect (see `releaseRequest`). */
    public request: SessionRequestInfo,
  ) {
    const o = node.options;
    this.sessionId = transport.emulation || transport.unidirectional ? randomUuid() : '';
    this.writer = new Writer(transport, node.writerOptions, this);
    // Until connect, the session's deadline is the stale close; connect replaces it with the
    // expiry deadline or removes it. No timer per connection.
    if (o.staleCloseDelayMs > 0) node.expiryQueue.schedule(this, Date.now() + o.staleCloseDelayMs);
    node.hub.addPending(this);
  }

  get transportCaps() {
    return this.transport;
  }

  isSubscribed(channel: string): boolean {
    const s = this.subs.get(channel);
    return s !== undefined && s.live;
  }

  clientInfo(chanInfo?: Uint8Array) {
    return { user: this.user, client: this.clientId, connInfo: this.connInfo, chanInfo };
  }

  // ------------------------------------------------------------ input

  /** A frame from a bidirectional transport: one or more encoded commands. */
  handleFrame(frame: Uint8Array): void {
    if (this.status === 'closed') return;
    let cmds: Command[];
    try {
      cmds = this.codec.decodeCommands(frame, this.node.options.maxCommandSize);
    } catch (e) {
      if (!(e instanceof ProtocolDecodeError)) this.node.log.error({ err: e, client: this.clientId }, 'decode failed');
      this.node.log.info({ client: this.clientId, reason: (e as Error).message }, 'malformed frame, disconnecting');
      this.close(disconnects.badRequest);
      return;
    }
    this.handleCommands(cmds);
  }

  /**
   * Already decoded commands (also the `/emulation` endpoint). Commands arriving while one waits
   * (a proxy, an engine, a JWKS fetch) queue behind it. At `COMMAND_BACKLOG_PAUSE` queued the
   * transport stops reading, as Centrifugo reads the next frame only after handling the last;
   * where it cannot stop reading (emulation), the connection closes with 3013 at
   * `COMMAND_BACKLOG_MAX`.
   */
  handleCommands(cmds: Command[]): void {
    if (cmds.length === 0 || this.status === 'closed') return;
    if (!this.draining) {
      this.drain(cmds);
      return;
    }
    const backlog = (this.backlog ??= []);
    for (const cmd of cmds) backlog.push(cmd);
    if (backlog.length < COMMAND_BACKLOG_PAUSE || this.inputPaused) return;
    if (this.transport.pauseInput !== undefined) {
      this.inputPaused = true;
      this.transport.pauseInput();
    } else if (backlog.length >= COMMAND_BACKLOG_MAX) {
      this.node.log.info({ client: this.clientId, user: this.user, commands: backlog.length }, 'too many commands waiting, disconnecting');
      this.close(disconnects.tooManyRequests);
    }
  }

  /**
   * Unidirectional transports: the connect request arrives once, and no command ever follows it,
   * so there is nothing to queue behind.
   */
  async connectUnidirectional(req: ConnectRequest): Promise<void> {
    try {
      await handleUnidirectionalConnect(this, req);
    } catch (e) {
      this.onCommandError(e, 0);
    }
  }

  /**
   * Handles commands one at a time: `cmds`, then whatever arrived meanwhile. Runs synchronously,
   * in the event that delivered the frame, until a command has to wait (a proxy, an engine, an
   * asynchronous key check); `drainAfter` takes over from there. A connect whose token is checked
   * without waiting (HMAC) and a pong allocate no promise.
   */
  private drain(cmds: Command[]): void {
    this.draining = true;
    try {
      for (let batch: Command[] | undefined = cmds; batch !== undefined; batch = this.backlog) {
        this.backlog = undefined;
        this.resumeInput();
        for (let i = 0; i < batch.length; i++) {
          const waiting = this.process(batch[i]!);
          if (waiting !== undefined) {
            // `draining` stays set until drainAfter is done.
            void this.drainAfter(waiting, batch, i + 1);
            return;
          }
        }
      }
    } catch (e) {
      this.drainFailed(e);
    }
    this.draining = false;
  }

  /**
   * Waits for the command that had to wait, then hands the rest of its batch and whatever queued
   * meanwhile back to `drain`, in that order.
   */
  private async drainAfter(waiting: Promise<void>, batch: Command[], next: number): Promise<void> {
    try {
      await waiting;
    } catch (e) {
      this.drainFailed(e);
    }
    const rest = batch.slice(next);
    const queued = this.backlog;
    this.backlog = undefined;
    if (queued !== undefined) for (const cmd of queued) rest.push(cmd);
    this.draining = false;
    if (rest.length > 0) this.drain(rest);
  }

  /** `process` answers every handler error itself; this is a failure of that answering. */
  private drainFailed(e: unknown): void {
    this.node.log.error({ err: e, client: this.clientId }, 'command handling failed');
    this.close(disconnects.internal);
  }

  private resumeInput(): void {
    if (!this.inputPaused) return;
    this.inputPaused = false;
    this.transport.resumeInput?.();
  }

  /** Returns a promise only when the command has to wait (see `drain`); it never rejects. */
  private process(cmd: Command): void | Promise<void> {
    if (this.status === 'closed') return;
    if (cmd.kind === 'pong') {
      if (this.status !== 'connected' || !this.awaitingPong) {
        this.close(disconnects.badRequest);
        return;
      }
      this.awaitingPong = false;
      return;
    }
    if (this.unusable || (cmd.kind === 'connect') === (this.status === 'connected')) {
      // A command before connect, a second connect, or anything after a failed connect.
      this.close(disconnects.badRequest);
      return;
    }
    const started = performance.now();
    let waiting: void | Promise<void>;
    try {
      waiting = cmd.kind === 'connect' ? handleConnect(this, cmd.id, cmd.req) : handleCommand(this, cmd);
    } catch (e) {
      this.node.metrics.command(cmd.kind, resultCode(e), performance.now() - started);
      this.onCommandError(e, cmd.id);
      return;
    }
    if (waiting !== undefined) return this.settle(waiting, cmd, started);
    this.node.metrics.command(cmd.kind, 0, performance.now() - started);
  }

  private async settle(waiting: Promise<void>, cmd: Command, started: number): Promise<void> {
    try {
      await waiting;
      this.node.metrics.command(cmd.kind, 0, performance.now() - started);
    } catch (e) {
      this.node.metrics.command(cmd.kind, resultCode(e), performance.now() - started);
      this.onCommandError(e, cmd.id);
    }
  }

  /** A handler threw: protocol errors become an error reply (`replyId` > 0) or a disconnect. */
  private onCommandError(e: unknown, replyId: number): void {
    if (this.status === 'closed') return;
    if (e instanceof DisconnectError) {
      this.close(e.disconnect);
    } else if (e instanceof ReplyError && replyId > 0) {
      this.sendReply({ id: replyId, kind: 'error', error: e.toProtocol() });
    } else if (e instanceof ReplyError) {
      this.close(disconnects.badRequest);
    } else {
      this.node.log.error({ err: e, client: this.clientId }, 'command failed');
      if (replyId > 0) this.sendReply({ id: replyId, kind: 'error', error: { code: 100, message: 'internal server error', temporary: true } });
      else this.close(disconnects.internal);
    }
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
    this.writer.enqueue(bytes);
  }

  /** Queues bytes of a broadcast push; `undefined` means the variant could not be encoded. */
  sendPrepared(prepared: PreparedPush): void {
    const bytes = prepared.bytesFor(this.codec, this.transport.unidirectional);
    if (bytes === undefined) this.close(disconnects.inappropriateProtocol);
    else this.writer.enqueue(bytes);
  }

  onWriterOverflow(): void {
    this.node.log.info({ client: this.clientId, user: this.user }, 'client queue overflow, disconnecting slow client');
    this.close(disconnects.slow);
  }

  // ------------------------------------------------------------ timers

  /** Starts pings and expiry checks once connected. */
  startTimers(): void {
    if (this.status !== 'connected') return;
    if (this.transport.pingStyle === 'app') this.node.pingWheel?.add(this);
    this.scheduleExpire();
  }

  /**
   * Starts the periodic tick (presence refresh, subscription expiry, position checks) the first
   * time a subscription needs it; connections without such subscriptions carry no interval timer.
   */
  ensureTick(): void {
    const interval = this.node.options.presenceUpdateIntervalMs;
    if (this.tickTimer !== undefined || interval <= 0 || this.status === 'closed') return;
    this.tickTimer = setInterval(() => this.node.sessionTick(this), interval);
  }

  /** Drops the opening request's headers once connect is decided: they can be kilobytes. */
  releaseRequest(): void {
    this.request = RELEASED_REQUEST;
  }

  /** Called by the ping wheel. Returns true when a pong is now expected. */
  sendPing(): boolean {
    if (this.status !== 'connected') return false;
    // An empty Reply and an empty Push encode alike (`{}` in JSON, one 0x00 byte in Protobuf),
    // so the same ping serves bidirectional and unidirectional transports.
    this.writer.enqueue(this.codec.encodeReply(PING_REPLY));
    if (!this.pongExpected()) return false;
    this.awaitingPong = true;
    return true;
  }

  pongTimedOut(): void {
    this.close(disconnects.noPong);
  }

  pongExpected(): boolean {
    return !this.transport.unidirectional && this.node.options.pongTimeoutMs > 0;
  }

  /**
   * (Re)arms the connection expiry on the node's deadline queue: without a refresh, the
   * connection closes with 3005 `client.expired_close_delay` after it expired.
   */
  scheduleExpire(): void {
    if (this.status === 'closed') return;
    if (this.expireAt <= 0) this.node.expiryQueue.remove(this);
    else this.node.expiryQueue.schedule(this, this.expireAt * 1000 + this.node.options.expiredCloseDelayMs);
  }

  /** Slot in the node's expiry queue (-1: none). */
  deadlineSlot = -1;

  /**
   * Deadline queue callback. Before connect: no connect command within
   * `client.stale_close_delay` (3502 stale). After: the connection expired and was not refreshed
   * in time (3005).
   */
  onDeadline(nowMs: number): void {
    if (this.status === 'connecting') {
      this.close(disconnects.stale);
      return;
    }
    if (this.status === 'closed' || this.expireAt <= 0) return;
    if (this.expireAt * 1000 + this.node.options.expiredCloseDelayMs <= nowMs) this.close(disconnects.expired);
    else this.scheduleExpire();
  }

  // ------------------------------------------------------------ close

  /**
   * Closes the connection with a disconnect. Idempotent. Queued messages are flushed first except
   * for 3008 slow (the queue is the problem) and 3000 (the peer is gone).
   */
  close(d: Disconnect): void {
    if (this.status === 'closed') return;
    this.status = 'closed';
    this.node.pingWheel?.remove(this);
    this.node.expiryQueue.remove(this);
    if (this.tickTimer) clearInterval(this.tickTimer);
    const flush = d.code !== disconnects.slow.code && d.code !== disconnects.connectionClosed.code;
    if (flush && !this.transport.closeFrameDisconnect) {
      this.sendPushUnchecked({ kind: 'disconnect', code: d.code, reason: d.reason });
    }
    try {
      this.writer.close(flush);
      // A paused WebSocket would not read the peer's closing frame and linger for the close grace.
      this.resumeInput();
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

/** Queued commands at which a transport that can stop reading is paused. */
export const COMMAND_BACKLOG_PAUSE = 100;
/** Queued commands at which a connection whose transport cannot stop reading is closed (3013). */
export const COMMAND_BACKLOG_MAX = 1000;

const PING_REPLY: Reply = { id: 0, kind: 'ping' };
const NO_CHANNELS: readonly string[] = Object.freeze([]);
const RELEASED_REQUEST: SessionRequestInfo = Object.freeze({ headers: Object.freeze({}) });

export { ChannelSubscription };
