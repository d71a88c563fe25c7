/**
 * A shard's PUB/SUB connections, as many as its channels need.
 *
 * The client subscribes a connection's channels again by itself when the connection comes back,
 * all of them in one SUBSCRIBE. Redis answers that command with one confirmation per channel and
 * holds them all in the connection's output buffer before writing any; past the
 * `client-output-buffer-limit pubsub` hard limit (32 MB by default: some 450,000 channels of
 * 40-byte names) it closes the connection, the client reconnects and sends the same command
 * again, and the node never receives a publication again. So the channels are spread over
 * connections, each holding channels whose confirmations add up to at most PUBSUB_REPLY_BUDGET_BYTES; a
 * new connection opens when the open ones are full. Centrifugo avoids the same trap by
 * resubscribing in batches; node-redis has no batching, so this bounds the batch instead.
 *
 * Sharded PUB/SUB (SSUBSCRIBE on a Cluster) is resent one channel per command: one connection
 * takes any number of channels.
 *
 * A connection that went silent with its socket open (the shard finds out, shard.ts) is replaced
 * by a new one holding the same channels (`replace`): the client has no call to reconnect it.
 *
 * A channel the node left while its connection was down (the UNSUBSCRIBE failed) is still held by
 * the client, which subscribes it again on reconnecting; it is unsubscribed as the connection
 * comes back (`unsubscribeLeftovers`), or the node would receive, and count against the budget,
 * channels nobody on it wants.
 */
import type { Conn, Listener } from './clients.js';
import { connect, destroyConn, pinger } from './clients.js';
import { withTimeout } from '../../util/timeout.js';
import { NotConfirmedError, costOf, PUBSUB_REPLY_BUDGET_BYTES, type ProbeTarget, type PubSubConn } from './pubsub-conn.js';

/** A SUBSCRIBE that timed out, still queued: whether Redis has confirmed it since. */
interface LateSubscribe {
  confirmed: boolean;
}

export interface PubSubPoolOptions {
  /** A new, unconnected client for the shard's topology. */
  make(): Conn;
  /** Connects within `connect_timeout`; rejects naming the shard. */
  connectTimeoutMs: number;
  label: string;
  /**
   * How long Redis may take to confirm a SUBSCRIBE or UNSUBSCRIBE, ms, plus 0.1 ms per channel
   * of the command; node-redis gives PUB/SUB commands no timeout.
   */
  ioTimeoutMs: number;
  sharded: boolean;
  listener: Listener;
  /** Called once for every connection made, before it connects: the shard watches it. */
  watch(c: PubSubConn): void;
  /** Called when a connection's first connect succeeded (a Cluster client emits no `ready`). */
  opened(c: PubSubConn): void;
  /**
   * Called when a connection was destroyed: its first connect failed, the pool closed meanwhile,
   * or another took its place (`replace`).
   */
  dropped(c: PubSubConn): void;
  /**
   * Delivery probes: every connection made subscribes new `targets(c)` once it is connected,
   * before it takes any channel, with their own listener, which calls `received`.
   */
  probe?: { targets(c: PubSubConn): ProbeTarget[]; received(c: PubSubConn, channel: string): void };
}

export class PubSubPool {
  private readonly conns: PubSubConn[] = [];
  private readonly holder = new Map<string, PubSubConn>();
  /** Subscriptions on their way, by channel. */
  private readonly pending = new Map<string, Promise<void>>();
  /** A connection being opened for channels that found no room, shared by all of them. */
  private opening: Promise<PubSubConn> | undefined;
  /** Connections not yet in `conns` (connecting, or a replacement being set up): `destroy` ends them too. */
  private readonly connecting = new Set<PubSubConn>();
  /** The replacement under way (one at a time): channels that find no room wait for it. */
  private replacing: Promise<void> | undefined;
  /**
   * SUBSCRIBEs that timed out and are still queued, by channel: node-redis holds the channel
   * (and subscribes it again after a reconnect) only once Redis confirmed one.
   */
  private readonly unconfirmed = new Map<string, LateSubscribe>();
  private closed = false;
  private readonly budget: number;

  constructor(private readonly opts: PubSubPoolOptions) {
    this.budget = opts.sharded ? Number.POSITIVE_INFINITY : PUBSUB_REPLY_BUDGET_BYTES;
  }

  /** Opens the first connection, so a Redis that cannot be reached fails the start. */
  async open(): Promise<void> {
    await this.add();
  }

  get connections(): readonly PubSubConn[] {
    return this.conns;
  }

  /** Channels subscribed over all connections. */
  get size(): number {
    return this.holder.size;
  }

  /**
   * Subscribes `channel` on a connection with room for it (opening one when none has). A call for
   * a channel already subscribed, or being subscribed, waits for that subscription. Rejects with
   * `NotConfirmedError` when Redis does not confirm within `io_timeout`: a stalled Redis fails
   * the call instead of holding it (the client then gets error 100).
   */
  subscribe(channel: string): Promise<void> {
    const pending = this.pending.get(channel);
    if (pending !== undefined) return pending;
    if (this.holder.has(channel)) return Promise.resolve();
    const p = this.place(channel).finally(() => this.pending.delete(channel));
    this.pending.set(channel, p);
    return p;
  }

  private async place(channel: string): Promise<void> {
    this.checkOpen();
    const cost = costOf(channel);
    const fits = (x: PubSubConn): boolean => !x.retired && x.bytes + cost <= this.budget;
    // Where node-redis still holds it first: subscribed on another connection too, each
    // publication would arrive twice.
    const where = (): PubSubConn | undefined => this.reclaim(channel, cost) ?? this.conns.find(fits);
    let c = where();
    // A connection being replaced takes no channel: wait for its successor rather than open one.
    while (c === undefined && this.replacing !== undefined) {
      await this.replacing.catch(() => undefined);
      this.checkOpen();
      c = where();
    }
    while (c === undefined) {
      // Every channel that found no room waits for the same new connection; what they take of
      // it is counted as each resumes, so the ones it cannot hold open the next.
      const opened = await (this.opening ??= this.add().finally(() => (this.opening = undefined)));
      this.checkOpen();
      c = this.reclaim(channel, cost) ?? (fits(opened) ? opened : this.conns.find(fits));
    }
    this.take(c, channel, cost);
    // This SUBSCRIBE supersedes one that timed out before: what that one does no longer counts.
    this.unconfirmed.delete(channel);
    const sent = this.subscribeAll(c, [channel]);
    try {
      await this.confirmed(sent, 1, `subscribing ${channel}`);
    } catch (err) {
      // Sent on a connection being replaced: the replacement decides, and takes the channel along.
      if (c.retired) await this.replacing?.catch(() => undefined);
      if (c.dropped && this.holder.has(channel)) return;
      if (err instanceof NotConfirmedError) {
        this.settleLate(c, channel, sent);
        throw err;
      }
      if (this.holder.get(channel) === c) this.release(c, channel, cost);
      this.mayHold(c, channel);
      throw err;
    }
  }

  /** The connection holding `channel` as a leftover, which from now on holds it as a channel. */
  private reclaim(channel: string, cost: number): PubSubConn | undefined {
    for (const x of this.conns) {
      if (x.retired || !x.leftovers.delete(channel)) continue;
      x.bytes -= cost;
      return x;
    }
    return undefined;
  }

  /**
   * A SUBSCRIBE not answered in time (a stalled Redis) stays queued on the connection, and Redis
   * applies it when it answers again, so the channel stays counted until the caller's
   * UNSUBSCRIBE, sent after it, undoes it in order. If the connection drops first, node-redis
   * rejects it and never subscribes the channel again: it is no longer counted then.
   */
  private settleLate(c: PubSubConn, channel: string, sent: Promise<unknown>): void {
    const late: LateSubscribe = { confirmed: false };
    this.unconfirmed.set(channel, late);
    sent.then(
      () => {
        late.confirmed = true;
        if (this.unconfirmed.get(channel) === late) this.unconfirmed.delete(channel);
      },
      () => {
        if (this.unconfirmed.get(channel) !== late) return;
        this.unconfirmed.delete(channel);
        if (this.holder.get(channel) === c) this.release(c, channel, costOf(channel));
        this.mayHold(c, channel);
      },
    );
  }

  /**
   * Unsubscribes `channel`. Its UNSUBSCRIBE follows its SUBSCRIBE on the same connection, so one
   * still unconfirmed is undone in order; one still waiting for a new connection is placed first.
   * The node orders each channel's subscribe and unsubscribe calls (node/broker-calls.ts).
   */
  async unsubscribe(channel: string): Promise<void> {
    if (!this.holder.has(channel)) await this.pending.get(channel)?.catch(() => undefined);
    const c = this.holder.get(channel);
    if (c === undefined) return;
    const cost = costOf(channel);
    this.release(c, channel, cost);
    const sent = this.unsubscribeAll(c, [channel]);
    try {
      await this.confirmed(sent, 1, `unsubscribing ${channel}`);
    } catch (err) {
      // Sent on a connection being replaced: the outcome of the replacement decides.
      if (c.retired) await this.replacing?.catch(() => undefined);
      // Replaced: the replacement left the channel out, or unsubscribed it, so it is done.
      if (c.dropped) return;
      if (err instanceof NotConfirmedError) {
        // Not answered in time: the UNSUBSCRIBE stays queued and Redis applies it when it
        // answers again, unless the connection drops first (below).
        sent.catch(() => this.mayHold(c, channel));
        throw err;
      }
      this.mayHold(c, channel);
      throw err;
    }
  }

  /**
   * A SUBSCRIBE or UNSUBSCRIBE of `channel` on `c` failed with its connection: node-redis may
   * still hold the channel (it keeps one whose UNSUBSCRIBE failed, and one a reclaim found
   * there) and subscribes it again on reconnecting. Unless the node wants it on `c`, it becomes
   * one of `c`'s leftovers, unsubscribed once `c` is back; one node-redis did not hold after all
   * costs an UNSUBSCRIBE that Redis answers as a no-op.
   */
  private mayHold(c: PubSubConn, channel: string): void {
    if (this.closed || c.dropped || this.holder.get(channel) === c || c.leftovers.has(channel)) return;
    c.leftovers.add(channel);
    c.bytes += costOf(channel);
  }

  /**
   * Unsubscribes `c`'s leftovers, which node-redis subscribed again as `c` came back (the shard
   * calls this then). A channel the node subscribes meanwhile is placed anew; on `c`, node-redis
   * sends its SUBSCRIBE after this UNSUBSCRIBE. One this fails for stays a leftover, for next time.
   */
  unsubscribeLeftovers(c: PubSubConn): void {
    if (c.leftovers.size === 0 || c.dropped || this.closed) return;
    const channels = [...c.leftovers].filter((ch) => this.holder.get(ch) !== c);
    for (const ch of c.leftovers) c.bytes -= costOf(ch);
    c.leftovers.clear();
    if (channels.length === 0) return;
    const sent = this.unsubscribeAll(c, channels);
    const failed = (): void => {
      for (const ch of channels) this.mayHold(c, ch);
    };
    this.confirmed(sent, channels.length, `unsubscribing ${channels.length} channels left while disconnected`).catch((err: unknown) => {
      // Not confirmed in time: still queued, and applied when Redis answers, unless the
      // connection drops first, when node-redis keeps them again.
      if (err instanceof NotConfirmedError) sent.catch(failed);
      else failed();
    });
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`${this.opts.label}: closed`);
  }

  /** Ends every connection at once, those still connecting too; no connection opens after it. */
  destroy(): void {
    this.closed = true;
    for (const c of this.conns) destroyConn(c.conn);
    for (const c of this.connecting) destroyConn(c.conn);
  }

  private take(c: PubSubConn, channel: string, cost: number): void {
    this.holder.set(channel, c);
    c.channels.add(channel);
    c.bytes += cost;
  }

  private release(c: PubSubConn, channel: string, cost: number): void {
    this.holder.delete(channel);
    c.channels.delete(channel);
    c.bytes -= cost;
  }

  /**
   * Puts a new connection in the place of `old`, which stopped delivering with its socket open
   * (the client cannot be told to reconnect): the new one connects and subscribes `old`'s
   * channels in one command, then takes `old`'s name and place, and `old` is destroyed; channels
   * unsubscribed meanwhile are then unsubscribed on the new one, before any later call's command.
   * Publications sent between `old` going silent and the new one's SUBSCRIBE are not delivered
   * (as after any reconnect; recovery fills them in). Rejects, leaving `old` in place, when the
   * new connection cannot connect or subscribe within the deadline. Once the new one is in place
   * it resolves, with the channels left meanwhile whose UNSUBSCRIBE on it was not confirmed in
   * time. One replacement at a time.
   */
  replace(old: PubSubConn): Promise<string[]> {
    const at = this.conns.indexOf(old);
    if (at < 0 || old.retired || this.closed || this.replacing !== undefined) return Promise.resolve([]);
    old.retired = true;
    const p = this.succeed(old, at);
    this.replacing = p.then(
      () => undefined,
      () => undefined,
    );
    return p.finally(() => (this.replacing = undefined));
  }

  /** Whether a replacement is under way. */
  get replacingNow(): boolean {
    return this.replacing !== undefined;
  }

  private async succeed(old: PubSubConn, at: number): Promise<string[]> {
    let fresh: PubSubConn | undefined;
    let moving: string[] = [];
    try {
      fresh = await this.connectOne(at + 1);
      moving = [...old.channels];
      if (moving.length > 0) await this.confirmed(this.subscribeAll(fresh, moving), moving.length, `subscribing ${moving.length} channels on the replacement of ${old.name}`);
      if (this.closed) throw new Error(`${this.opts.label}: closed`);
    } catch (err) {
      old.retired = false;
      if (fresh !== undefined) {
        this.connecting.delete(fresh);
        this.drop(fresh);
      }
      // While retired it took no part in its own reconnects.
      if (old.conn.isReady) this.unsubscribeLeftovers(old);
      throw err;
    }
    // From here to the UNSUBSCRIBE below nothing else runs, so every later call for these
    // channels finds the new connection and is sent after it.
    this.connecting.delete(fresh);
    const gone = moving.filter((ch) => this.holder.get(ch) !== old);
    for (const ch of [...old.channels]) {
      this.release(old, ch, costOf(ch));
      this.take(fresh, ch, costOf(ch));
    }
    this.conns[at] = fresh;
    this.drop(old);
    this.opts.opened(fresh);
    if (gone.length === 0) return [];
    const sent = this.unsubscribeAll(fresh, gone);
    const failed = (): void => {
      for (const ch of gone) this.mayHold(fresh, ch);
    };
    try {
      await this.confirmed(sent, gone.length, `unsubscribing ${gone.length} channels left during the replacement of ${old.name}`);
      return [];
    } catch (err) {
      // Not confirmed in time on a connection that just confirmed a SUBSCRIBE: it went silent
      // too, and will be replaced in turn, which leaves these out; Redis may still apply the
      // UNSUBSCRIBE. Failed with the connection: node-redis keeps them.
      if (err instanceof NotConfirmedError) sent.catch(failed);
      else failed();
      return gone.filter((ch) => !this.holder.has(ch));
    }
  }

  /** `p`, or a rejection once it has taken longer than io_timeout plus 0.1 ms per channel. */
  private confirmed<T>(p: Promise<T>, channels: number, what: string): Promise<T> {
    const ms = this.opts.ioTimeoutMs + Math.ceil(channels / 10);
    return withTimeout(p, ms, () => new NotConfirmedError(`${this.opts.label}: ${what}: not confirmed within ${ms} ms`));
  }

  /** One SUBSCRIBE; SSUBSCRIBE one channel at a time (a Cluster refuses channels of several slots in one). */
  private subscribeAll(c: PubSubConn, channels: string[], listener: Listener = this.opts.listener): Promise<unknown> {
    if (!this.opts.sharded) return c.conn.subscribe(channels.length === 1 ? channels[0]! : channels, listener, true);
    return Promise.all(channels.map((ch) => c.conn.sSubscribe(ch, listener, true)));
  }

  private unsubscribeAll(c: PubSubConn, channels: string[]): Promise<unknown> {
    if (!this.opts.sharded) return c.conn.unsubscribe(channels.length === 1 ? channels[0]! : channels, this.opts.listener, true);
    return Promise.all(channels.map((ch) => c.conn.sUnsubscribe(ch, this.opts.listener, true)));
  }

  private drop(c: PubSubConn): void {
    c.dropped = true;
    destroyConn(c.conn);
    this.opts.dropped(c);
  }

  private async add(): Promise<PubSubConn> {
    const c = await this.connectOne(this.conns.length + 1);
    this.connecting.delete(c);
    this.conns.push(c);
    this.opts.opened(c);
    return c;
  }

  /**
   * Connection number `n` (it names it), connected, with its probe subscribed; still in
   * `connecting`, which the caller leaves it when it is in place.
   */
  private async connectOne(n: number): Promise<PubSubConn> {
    this.checkOpen();
    const conn = this.opts.make();
    const probe = this.opts.probe;
    const c: PubSubConn = { conn, pinger: pinger(conn), name: n === 1 ? 'pubsub' : `pubsub ${n}`, channels: new Set(), leftovers: new Set(), bytes: 0, dropped: false, retired: false, probes: [] };
    this.opts.watch(c);
    this.connecting.add(c);
    try {
      await connect(conn, this.opts.label, this.opts.connectTimeoutMs);
      if (this.closed) throw new Error(`${this.opts.label}: closed`);
      if (probe !== undefined) {
        const targets = probe.targets(c);
        const channels = targets.map((t) => t.channel);
        const heard: Listener = (_message, channel) => probe.received(c, channel.toString());
        await this.confirmed(this.subscribeAll(c, channels, heard), channels.length, `subscribing the delivery probes on ${c.name}`);
        c.probes.push(...targets);
        for (const ch of channels) c.bytes += costOf(ch);
      }
    } catch (err) {
      this.connecting.delete(c);
      this.drop(c);
      throw err;
    }
    return c;
  }
}
