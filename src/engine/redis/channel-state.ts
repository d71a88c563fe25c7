/**
 * The Redis engine's ChannelStateManager: which channels have subscribers on any node, kept in
 * Redis (keys and scripts in channel-state-scripts.ts) so that several Rotor processes agree on
 * `occupied` and `vacated`.
 *
 * Each node is a member (`<nodeId>.<generation>`) with a heartbeat every `nodeTtlMs / 4`. Its notes
 * (first local subscriber, last one gone) become OCCUPY and LEAVE on the channel's keys, applied
 * one at a time per channel in the order they were taken; a vacate and an occupy that cancel out
 * while one is in flight are never sent. A channel whose last member left waits out the vacated
 * delay: the node that saw it leave confirms it on a local timer, and every node's sweep (each
 * heartbeat) confirms the waits nobody confirmed (their node died) and vacates the channels of
 * members whose heartbeat is older than `nodeTtlMs` (a crashed or cut-off node). A node that finds
 * itself swept (it was stalled or cut off longer than that) starts a new generation and reports
 * its channels again, so they are occupied again, with an `occupied` event where they had been
 * vacated meanwhile.
 *
 * A note that fails (Redis down) is retried at the next heartbeat. An event is emitted by the node
 * whose script made the transition, once the reply arrives: a reply lost after the script ran (a
 * timeout) loses that event. Channels live on the shard `shardIndex` picks, as their streams do.
 */
import type { ChannelStateEvent, ChannelStateManager, ChannelStateOptions, EngineHealth } from '../types.js';
import type { Logger } from '../../util/logger.js';
import { DeadlineQueue, type DeadlineTarget } from '../../util/deadline-queue.js';
import { shardIndex } from './hash.js';
import type { RedisCommonOptions } from './options.js';
import type { RedisShard } from './shard.js';
import { combinedHealth, openShards } from './shards.js';
import {
  CS_CONFIRM,
  CS_DUE,
  CS_EXPIRED,
  CS_FORGET,
  CS_HEARTBEAT,
  CS_INDEX,
  CS_INDEX_SAMPLE,
  CS_LEAVE,
  CS_MARK,
  CS_OCCUPY,
  CS_RESCORE,
  ChannelStateKeys,
} from './channel-state-scripts.js';

export interface RedisChannelStateOptions extends RedisCommonOptions {
  /** A member whose heartbeat is older than this is taken for dead and its channels vacated, ms. */
  nodeTtlMs: number;
}

/** Candidates and swept channels handled per shard and sweep, at most. */
const SWEEP_BATCH = 100;
/** Sweep rounds per shard and heartbeat, at most (a dead node with many channels takes several). */
const SWEEP_ROUNDS = 20;
/** How long `close` waits for the notes in flight and the vacates it sends, ms. */
const CLOSE_WAIT_MS = 2000;
/** At most one error line per this long; the others are counted into it, ms. */
const ERROR_LOG_EVERY_MS = 10_000;

interface Part {
  shard: RedisShard;
  keys: ChannelStateKeys;
}

/** This node's view of one channel. */
class Entry {
  /** The node has a subscriber of it. */
  want = false;
  /** Redis holds this node's membership (as far as the last reply said). */
  applied = false;
  busy = false;
  constructor(readonly channel: string) {}
}

/** A wait to confirm once its delay ran out; `seen` is its candidate's score. */
class Check implements DeadlineTarget {
  deadlineSlot = -1;
  constructor(
    private readonly owner: RedisChannelStates,
    readonly channel: string,
    readonly seen: number,
  ) {}
  onDeadline(): void {
    void this.owner.confirm(this.channel, this.seen);
  }
}

export class RedisChannelStates implements ChannelStateManager {
  private readonly entries = new Map<string, Entry>();
  private readonly retry = new Set<Entry>();
  private readonly checks = new DeadlineQueue<Check>();
  private readonly idle: Array<() => void> = [];
  private nodeId = '';
  private gen = 0;
  private member = '';
  private delayMs = 0;
  private emit: ((e: ChannelStateEvent) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  /** No more notes are taken (closing); the ones taken are still applied. */
  private stopping = false;
  private lastErrorAt = 0;
  private suppressed = 0;

  private constructor(
    private readonly parts: readonly Part[],
    private readonly opts: RedisChannelStateOptions,
    private readonly log: Logger,
  ) {}

  /** Connects every shard (command connections only). Rejects naming the shard it cannot reach. */
  static async open(opts: RedisChannelStateOptions, log: Logger): Promise<RedisChannelStates> {
    if (opts.shards.length === 0) throw new Error('redis channel state: no address');
    if (!(opts.nodeTtlMs > 0)) throw new Error(`redis channel state: node TTL must be > 0 ms, got ${opts.nodeTtlMs}`);
    const shards = await openShards(opts.shards, log, { component: 'channel state manager', pubsub: false });
    return new RedisChannelStates(
      shards.map((shard) => ({ shard, keys: new ChannelStateKeys(opts.prefix, shard.cluster) })),
      opts,
      log,
    );
  }

  /** Registers this node's member on every shard (rejects when Redis does not answer), then runs. */
  async run(nodeId: string, opts: ChannelStateOptions, emit: (e: ChannelStateEvent) => void): Promise<void> {
    this.nodeId = nodeId;
    this.delayMs = Math.max(0, Math.round(opts.vacatedDelayMs));
    this.gen = 1;
    this.member = `${nodeId}.${this.gen}`;
    await Promise.all(this.parts.map((p) => this.heartbeat(p, false)));
    this.emit = emit;
    this.timer = setInterval(() => void this.tick(), Math.max(1, Math.floor(this.opts.nodeTtlMs / 4)));
    this.timer.unref();
    for (const e of this.entries.values()) this.drive(e);
  }

  occupy(channel: string): void {
    if (this.stopping) return;
    let e = this.entries.get(channel);
    if (e === undefined) this.entries.set(channel, (e = new Entry(channel)));
    e.want = true;
    this.drive(e);
  }

  vacate(channel: string): void {
    if (this.stopping) return;
    const e = this.entries.get(channel);
    if (e === undefined) return;
    e.want = false;
    this.drive(e);
  }

  health(): EngineHealth {
    return combinedHealth(this.parts.map((p) => p.shard));
  }

  /**
   * Vacates this node's channels (their waits run on and are confirmed by another node's sweep, or
   * by this node's next start), waiting at most CLOSE_WAIT_MS, deregisters the member when every
   * vacate went through, and closes the connections.
   */
  async close(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.checks.clear();
    for (const e of this.entries.values()) {
      e.want = false;
      this.drive(e);
    }
    const clean = await this.settled(CLOSE_WAIT_MS);
    if (clean && this.emit !== undefined) {
      await Promise.allSettled(
        this.parts.map(async (p) => {
          await p.shard.eval(CS_FORGET, [p.keys.nodes], [this.member]);
          await p.shard.del(p.keys.index(this.member));
        }),
      );
    }
    this.emit = undefined;
    await Promise.all(this.parts.map((p) => p.shard.close()));
  }

  /** Looks at a wait whose delay should have run out; `seen` is its candidate's score. */
  async confirm(channel: string, seen: number): Promise<void> {
    const p = this.partOf(channel);
    try {
      const r = (await p.shard.eval(CS_CONFIRM, p.keys.channel(channel), [])) as unknown[];
      const kind = Number(r[0]);
      if (kind === 2) this.deliver({ channel, type: 'vacated', timeMs: Number(r[1]) });
      if (kind === 1) {
        // Not yet (a candidate found early, or clocks apart): look again at the wait's deadline.
        const deadline = Number(r[1]);
        await p.shard.eval(CS_RESCORE, [p.keys.vacating], [channel, seen, deadline]);
        if (!this.stopping) this.checks.schedule(new Check(this, channel, deadline), Date.now() + Number(r[2]));
        return;
      }
      await p.shard.eval(CS_RESCORE, [p.keys.vacating], [channel, seen, '']);
    } catch (err) {
      // The candidate stays in Redis: the next sweep (any node's) looks at it again.
      this.failed(err, channel);
    }
  }

  // ------------------------------------------------------------ notes

  private drive(e: Entry): void {
    if (e.busy || this.emit === undefined) return;
    if (e.want === e.applied) {
      if (!e.want) this.entries.delete(e.channel);
      this.retry.delete(e);
      return;
    }
    const target = e.want;
    const member = this.member;
    e.busy = true;
    (target ? this.join(e.channel, member) : this.leave(e.channel, member)).then(
      () => {
        e.busy = false;
        if (member === this.member) e.applied = target;
        // Applied under a generation that has been replaced: undo it, the new one reports anew.
        else if (target) void this.leave(e.channel, member).catch((err: unknown) => this.failed(err, e.channel));
        this.drive(e);
        this.wake();
      },
      (err: unknown) => {
        e.busy = false;
        this.failed(err, e.channel);
        this.retry.add(e);
        this.wake();
      },
    );
  }

  private async join(channel: string, member: string): Promise<void> {
    const p = this.partOf(channel);
    // The index first: a node dying between the two leaves a superset, which the sweep tolerates.
    await p.shard.eval(CS_INDEX, [p.keys.index(member)], ['+', channel]);
    const at = Number(await p.shard.eval(CS_OCCUPY, p.keys.channel(channel), [member]));
    if (at > 0) this.deliver({ channel, type: 'occupied', timeMs: at });
  }

  /** Takes `member` out of the channel; when that starts a wait, confirms it after the delay. */
  private async leave(channel: string, member: string): Promise<void> {
    const p = this.partOf(channel);
    // The candidate before the wait, so that a wait never exists without one.
    const seen = Number(await p.shard.eval(CS_MARK, [p.keys.vacating], [channel, this.delayMs]));
    const delay = Number(await p.shard.eval(CS_LEAVE, p.keys.channel(channel), [member, this.delayMs]));
    await p.shard.eval(CS_INDEX, [p.keys.index(member)], ['-', channel]);
    if (delay < 0) await p.shard.eval(CS_RESCORE, [p.keys.vacating], [channel, seen, '']);
    else if (!this.stopping) this.checks.schedule(new Check(this, channel, seen), Date.now() + delay);
  }

  // ------------------------------------------------------------ heartbeat and sweep

  private async tick(): Promise<void> {
    if (this.ticking || this.stopping) return;
    this.ticking = true;
    try {
      const alive = await Promise.all(this.parts.map((p) => this.heartbeat(p, true)));
      if (alive.includes(false)) await this.reincarnate();
      for (const e of [...this.retry]) this.drive(e);
      for (const p of this.parts) await this.sweep(p);
    } catch (err) {
      this.failed(err, undefined);
    } finally {
      this.ticking = false;
    }
  }

  /** Refreshes the member's heartbeat; false when it had to exist and did not (it was swept). */
  private async heartbeat(p: Part, mustExist: boolean): Promise<boolean> {
    return Number(await p.shard.eval(CS_HEARTBEAT, [p.keys.nodes], [this.member, this.opts.nodeTtlMs, mustExist ? '1' : '0'])) === 1;
  }

  /** This node was taken for dead: a new member reports every channel the node has. */
  private async reincarnate(): Promise<void> {
    this.gen++;
    this.member = `${this.nodeId}.${this.gen}`;
    this.log.warn({ member: this.member }, 'channel state: this node was taken for dead (no heartbeat within the node TTL); reporting its channels again');
    await Promise.all(this.parts.map((p) => this.heartbeat(p, false)));
    for (const e of this.entries.values()) {
      e.applied = false;
      this.drive(e);
    }
  }

  /** Confirms the due waits of one shard and vacates the channels of its dead members. */
  private async sweep(p: Part): Promise<void> {
    for (let round = 0; round < SWEEP_ROUNDS; round++) {
      const due = (await p.shard.eval(CS_DUE, [p.keys.vacating], [SWEEP_BATCH])) as Buffer[];
      for (let i = 0; i + 1 < due.length; i += 2) await this.confirm(due[i]!.toString(), Number(due[i + 1]!.toString()));
      if (due.length < 2 * SWEEP_BATCH) break;
    }
    const dead = ((await p.shard.eval(CS_EXPIRED, [p.keys.nodes], [SWEEP_BATCH])) as Buffer[]).map((b) => b.toString());
    let rounds = SWEEP_ROUNDS;
    for (const m of dead) {
      if (m === this.member) continue;
      while (rounds-- > 0) {
        const chans = ((await p.shard.eval(CS_INDEX_SAMPLE, [p.keys.index(m)], [SWEEP_BATCH])) as Buffer[]).map((b) => b.toString());
        if (chans.length === 0) {
          await p.shard.eval(CS_FORGET, [p.keys.nodes], [m]);
          await p.shard.del(p.keys.index(m));
          break;
        }
        for (const ch of chans) await this.leave(ch, m);
      }
    }
  }

  // ------------------------------------------------------------ helpers

  private partOf(channel: string): Part {
    return this.parts[shardIndex(channel, this.parts.length)] as Part;
  }

  private deliver(e: ChannelStateEvent): void {
    this.emit?.(e);
  }

  /** Resolves true once no note is in flight or waiting to be retried, false after `ms`. */
  private settled(ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const done = (): boolean => {
        for (const e of this.entries.values()) if (e.busy) return false;
        return this.retry.size === 0;
      };
      if (done() || this.emit === undefined) {
        resolve(this.retry.size === 0);
        return;
      }
      const t = setTimeout(() => resolve(false), ms);
      const check = (): void => {
        if (!done()) {
          this.idle.push(check);
          return;
        }
        clearTimeout(t);
        resolve(true);
      };
      this.idle.push(check);
    });
  }

  private wake(): void {
    const waiting = this.idle.splice(0);
    for (const w of waiting) w();
  }

  private failed(err: unknown, channel: string | undefined): void {
    // Closing: a call cut short by the connections closing; what was not applied is left to the
    // other nodes' sweep (close reports it by not deregistering the member).
    if (this.stopping) return;
    const now = Date.now();
    if (now - this.lastErrorAt < ERROR_LOG_EVERY_MS) {
      this.suppressed++;
      return;
    }
    this.log.error({ err, channel, suppressed: this.suppressed }, 'channel state: Redis call failed; retrying at the next heartbeat');
    this.lastErrorAt = now;
    this.suppressed = 0;
  }
}
