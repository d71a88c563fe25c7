/**
 * A connection's command intake: frames decoded into commands, processed one at a time in arrival
 * order (so replies keep the command order, Centrifugo's default `client.concurrency: 0`),
 * commands that arrive while one waits queued behind it, the transport paused while that queue is
 * long, and a handler's error turned into an error reply or a disconnect.
 */
import { ProtocolDecodeError } from '../../protocol/codec.js';
import { DisconnectError, ReplyError, disconnects } from '../../protocol/errors.js';
import type { Command, ConnectRequest } from '../../protocol/types.js';
import { resultCode } from '../metrics.js';
import { handleCommand } from './commands.js';
import { handleConnect, handleUnidirectionalConnect } from './connect.js';
import type { Session } from './session.js';

/** Queued commands at which a transport that can stop reading is paused. */
export const COMMAND_BACKLOG_PAUSE = 100;
/** Queued commands at which a connection whose transport cannot stop reading is closed (3013). */
export const COMMAND_BACKLOG_MAX = 1000;

export class CommandIntake {
  /** Commands that arrived while others were being handled, oldest first (see `drain`). */
  private backlog: Command[] | undefined;
  private draining = false;
  #paused = false;

  constructor(private readonly s: Session) {}

  /** The transport was asked to stop reading because the backlog is long (see `handleCommands`). */
  get paused(): boolean {
    return this.#paused;
  }

  /** A frame from a bidirectional transport: one or more encoded commands. */
  handleFrame(frame: Uint8Array): void {
    const s = this.s;
    if (s.status === 'closed') return;
    let cmds: Command[];
    try {
      cmds = s.codec.decodeCommands(frame, s.node.options.maxCommandSize);
    } catch (e) {
      if (!(e instanceof ProtocolDecodeError)) s.node.log.error({ err: e, client: s.clientId }, 'decode failed');
      s.node.log.info({ client: s.clientId, reason: (e as Error).message }, 'malformed frame, disconnecting');
      s.close(disconnects.badRequest);
      return;
    }
    // A frame's bytes are shared evenly by the commands it holds (the codec does not split them).
    const each = cmds.length > 0 ? frame.byteLength / cmds.length : 0;
    for (let i = 0; i < cmds.length; i++) s.counters.read(cmds[i]!.kind).add(each);
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
    const s = this.s;
    if (cmds.length === 0 || s.status === 'closed') return;
    if (!this.draining) {
      this.drain(cmds);
      return;
    }
    const backlog = (this.backlog ??= []);
    for (const cmd of cmds) backlog.push(cmd);
    if (backlog.length < COMMAND_BACKLOG_PAUSE || this.#paused) return;
    if (s.transport.pauseInput !== undefined) {
      this.#paused = true;
      s.transport.pauseInput();
    } else if (backlog.length >= COMMAND_BACKLOG_MAX) {
      s.node.log.info({ client: s.clientId, user: s.user, commands: backlog.length }, 'too many commands waiting, disconnecting');
      s.close(disconnects.tooManyRequests);
    }
  }

  /**
   * Unidirectional transports: the connect request arrives once, and no command ever follows it,
   * so there is nothing to queue behind.
   */
  async connectUnidirectional(req: ConnectRequest): Promise<void> {
    try {
      await handleUnidirectionalConnect(this.s, req);
    } catch (e) {
      this.onCommandError(e, 0);
    }
  }

  /** Lets a paused transport read again (the queue was taken up, or the connection is closing). */
  resumeInput(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.s.transport.resumeInput?.();
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
    this.s.node.log.error({ err: e, client: this.s.clientId }, 'command handling failed');
    this.s.close(disconnects.internal);
  }

  /** Returns a promise only when the command has to wait (see `drain`); it never rejects. */
  private process(cmd: Command): void | Promise<void> {
    const s = this.s;
    if (s.status === 'closed') return;
    if (cmd.kind === 'pong') {
      if (!s.acceptPong()) s.close(disconnects.badRequest);
      return;
    }
    if (s.unusable || (cmd.kind === 'connect') === (s.status === 'connected')) {
      // A command before connect, a second connect, or anything after a failed connect.
      s.close(disconnects.badRequest);
      return;
    }
    const started = performance.now();
    let waiting: void | Promise<void>;
    try {
      waiting = cmd.kind === 'connect' ? handleConnect(s, cmd.id, cmd.req) : handleCommand(s, cmd);
    } catch (e) {
      s.node.metrics.command(cmd.kind, resultCode(e), performance.now() - started, commandChannel(cmd));
      this.onCommandError(e, cmd.id);
      return;
    }
    if (waiting !== undefined) return this.settle(waiting, cmd, started);
    s.node.metrics.command(cmd.kind, 0, performance.now() - started, commandChannel(cmd));
  }

  private async settle(waiting: Promise<void>, cmd: Command, started: number): Promise<void> {
    try {
      await waiting;
      this.s.node.metrics.command(cmd.kind, 0, performance.now() - started, commandChannel(cmd));
    } catch (e) {
      this.s.node.metrics.command(cmd.kind, resultCode(e), performance.now() - started, commandChannel(cmd));
      this.onCommandError(e, cmd.id);
    }
  }

  /** A handler threw: protocol errors become an error reply (`replyId` > 0) or a disconnect. */
  private onCommandError(e: unknown, replyId: number): void {
    const s = this.s;
    if (s.status === 'closed') return;
    if (e instanceof DisconnectError) {
      s.close(e.disconnect);
    } else if (e instanceof ReplyError && replyId > 0) {
      s.sendReply({ id: replyId, kind: 'error', error: e.toProtocol() });
    } else if (e instanceof ReplyError) {
      s.close(disconnects.badRequest);
    } else {
      s.node.rateLog.error({ err: e, client: s.clientId }, 'command failed');
      if (replyId > 0) s.sendReply({ id: replyId, kind: 'error', error: { code: 100, message: 'internal server error', temporary: true } });
      else s.close(disconnects.internal);
    }
  }
}

/** The channel a command is about, for metrics labels; '' for those about none. */
function commandChannel(cmd: Command): string {
  switch (cmd.kind) {
    case 'subscribe':
    case 'publish':
    case 'history':
    case 'sub_refresh':
    case 'unsubscribe':
    case 'presence':
    case 'presence_stats':
      return cmd.req.channel;
    default:
      return '';
  }
}
