/**
 * One Redis setup (a server, a Sentinel-managed master or a Cluster) and Rotor's two uses of it:
 * commands (Lua scripts, PUBLISH, presence) on one pipelined connection, and PUB/SUB on others
 * (pubsub-pool.ts: one, or more when its channels outgrow one). Channels are spread over several
 * shards by `shardIndex` (hash.ts). The client is `@redis/client` (node-redis;
 * docs/dependencies.md says why; clients.ts), loaded only with this module.
 *
 * Failing fast is the point of most settings here (spec §9.3, ECOSYSTEM lesson 3):
 * - a command whose reply does not come within `io_timeout` rejects, even one already written to
 *   a Redis that stalls with the socket open (`timeout` with `rejectInFlight`);
 * - while a connection is down, commands reject at once instead of queueing (no offline queue);
 * - a PING every second on every connection finds a stalled Redis: after `io_timeout` without a
 *   reply the shard reports itself unhealthy (`/health` 503) until a PING is answered again;
 * - on Sentinel and Cluster, whose PUB/SUB connections a PING cannot reach, a delivery probe
 *   (delivery-probe.ts) checks each of them the same way;
 * - a PUB/SUB connection silent for twice `io_timeout` while the command connection's PINGs are
 *   answered is replaced by a new one with the same channels: Redis is there, the path to it on
 *   that socket is not, and the client would wait for TCP to give up on it.
 *
 * The client keeps the PUB/SUB subscriptions and sends them again whenever a PUB/SUB connection
 * comes back (a restart, a Sentinel failover, a Cluster resharding); the shard follows that with
 * a PING on the same connection, whose reply says every channel is subscribed again.
 */
import type { EngineHealth } from '../types.js';
import type { HostPort, RedisShardOptions } from './options.js';
import type { LuaScript } from './scripts.js';
import { BUFFER_REPLIES, asBuffer, bounded, connect, destroyConn, detectCluster, labelOf, makeConn, nodeAddress, pinger, type Arg, type ClusterCommands, type Conn, type Listener, type Pinger, type Waiter } from './clients.js';
import { PubSubPool } from './pubsub-pool.js';
import type { ProbeTarget, PubSubConn } from './pubsub-conn.js';
import { DeliveryProbe, probeTargets } from './delivery-probe.js';
import { SilenceWatch } from './silence.js';
import { randomBytes } from 'node:crypto';
import { messageOf } from '../../util/message-of.js';

/** How often each connection is pinged to detect a stalled server, ms. */
const PING_INTERVAL_MS = 1000;

export interface ShardEvents {
  /** A message on a subscribed PUB/SUB channel. */
  message(channel: string, payload: Buffer): void;
  /**
   * A PUB/SUB connection (`pubsub`, `pubsub 2`...) is back and its channels are subscribed again
   * (not at its first connect). Cluster clients emit no `ready`, so they are not reported.
   */
  resubscribed(connection: string, channels: number, ms: number): void;
  /** Something worth an operator's attention (connection lost, resubscribe failed). */
  warn(message: string): void;
  /** A failure `warn` reported is over. */
  info(message: string): void;
  /** A PUB/SUB connection began failing: lost, stalled or delivering nothing (once per failure). */
  pubSubFailed(): void;
}

export class RedisShard {
  /** What the shard is called in messages and health reasons: never holds a password. */
  readonly label: string;
  /** Whether this shard is a Redis Cluster (keys hash-tagged). */
  readonly cluster: boolean;
  private readonly cmd: Conn;
  private readonly cmdPinger: Pinger;
  /** What is wrong, by connection (`commands`, `pubsub`, `pubsub 2`...). */
  private readonly problems = new Map<string, string>();
  private readonly listener: Listener;
  /** Absent with `pubsub: false` (the command connection only). */
  private readonly pubsub: PubSubPool | undefined;
  /** On Sentinel and Cluster, where a PING cannot reach the PUB/SUB connections. */
  private readonly probe: DeliveryProbe | undefined;
  /** Which PUB/SUB connections went silent, and when to replace them. */
  private readonly silence: SilenceWatch;
  private pingTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private connectedOnce = false;

  private constructor(
    private readonly rawCmd: Conn,
    make: () => Conn,
    pubsub: boolean,
    private readonly opts: RedisShardOptions,
    private readonly sharded: boolean,
    private readonly events: ShardEvents,
    label: string,
    cluster: boolean,
    probePrefix: string,
  ) {
    this.label = label;
    this.cluster = cluster;
    this.cmd = rawCmd.withTypeMapping(BUFFER_REPLIES);
    this.cmdPinger = pinger(rawCmd);
    this.listener = (message, channel) => this.events.message(channel.toString(), message);
    this.silence = new SilenceWatch(opts.ioTimeoutMs);
    const probe = pubsub && (cluster || opts.topology.kind === 'sentinel') ? this.makeProbe() : undefined;
    this.probe = probe;
    // Every connection made gets a channel of its own, a replacement too: probes sent to the one
    // it replaces must not count for it.
    const probeId = randomBytes(6).toString('hex');
    let probes = 0;
    this.pubsub = pubsub
      ? new PubSubPool({
          make,
          connectTimeoutMs: opts.connectTimeoutMs,
          ioTimeoutMs: opts.ioTimeoutMs,
          label,
          sharded,
          listener: this.listener,
          watch: (c) => this.trackPubSub(c),
          opened: (c) => this.problems.delete(c.name),
          dropped: (c) => {
            // Its name lives on in its replacement, or in the connection it failed to replace.
            if (!this.pubsub?.connections.some((x) => x !== c && x.name === c.name)) this.problems.delete(c.name);
            this.silence.forget(c);
            probe?.forget(c);
          },
          ...(probe === undefined
            ? {}
            : { probe: { targets: (c: PubSubConn) => probeTargets(c.conn, `${probePrefix}.probe.${probeId}.${++probes}`, this.sharded), received: (c: PubSubConn, channel: string) => probe.received(c, channel) } }),
        })
      : undefined;
  }

  /** The PUB/SUB connections (for tests and diagnostics). */
  get pubsubConnections(): number {
    return this.pubsub?.connections.length ?? 0;
  }

  /** The PUB/SUB connections' delivery probes (Sentinel and Cluster only; for tests and diagnostics). */
  get probeTargets(): ProbeTarget[] {
    return this.pubsub?.connections.flatMap((c) => c.probes) ?? [];
  }

  /** Delivery probes that came back (Sentinel and Cluster only; for tests and diagnostics). */
  get probeRoundTrips(): number {
    return this.probe?.roundTrips ?? 0;
  }

  /**
   * Connects the command connection and the first PUB/SUB one (within `connect_timeout` each) and starts watching them. Rejects
   * with a message naming the shard when Redis cannot be reached. `shardedPubSub` takes effect
   * only on a Cluster. `pubsub: false` opens the command connection only. Delivery probes use
   * channels `<probePrefix>.probe.<random id>.<n>` (the broker passes its key prefix).
   */
  static async open(opts: RedisShardOptions, shardedPubSub: boolean, events: ShardEvents, pubsub = true, probePrefix = 'rotor'): Promise<RedisShard> {
    let label = labelOf(opts);
    let cluster = opts.topology.kind === 'cluster';
    if (opts.topology.kind === 'standalone' && !('path' in opts.topology.address)) cluster = await detectCluster(opts, label);
    // Found through a plain address: named as what it is.
    if (cluster && opts.topology.kind === 'standalone') label = labelOf({ ...opts, topology: { kind: 'cluster', nodes: [opts.topology.address as HostPort] } });
    const cmd = makeConn(opts, cluster);
    const shard = new RedisShard(cmd, () => makeConn(opts, cluster, true), pubsub, opts, cluster && shardedPubSub, events, label, cluster, probePrefix);
    shard.watch();
    try {
      await connect(cmd, label, opts.connectTimeoutMs);
      await shard.pubsub?.open();
    } catch (err) {
      await shard.close();
      throw err;
    }
    shard.connectedOnce = true;
    shard.problems.clear();
    return shard;
  }

  /** Runs a script (EVALSHA, loading it on NOSCRIPT) with Buffer replies. */
  async eval(script: LuaScript, keys: readonly string[], args: ReadonlyArray<Arg | number>): Promise<unknown> {
    const o = { keys: [...keys], arguments: args.map((a) => (typeof a === 'number' ? String(a) : a)) };
    try {
      return await this.bounded(this.cmd.evalSha(script.sha1, o));
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return this.bounded(this.cmd.eval(script.source, o));
    }
  }

  /** Fails `p` shortly after `io_timeout` on Sentinel and Cluster too (clients.ts `bounded`). */
  private bounded<T>(p: Promise<T>): Promise<T> {
    return bounded(p, this.opts, this.cluster, this.label);
  }

  /**
   * WAIT: resolves once `replicas` replicas hold every write this connection made so far (on a
   * Cluster, the connection to the node owning `key`); rejects when fewer confirm within
   * `io_timeout`. The command connection waits meanwhile, so it is for a publication that must
   * survive a failover, not for every call.
   */
  async waitReplicas(replicas: number, key: string): Promise<void> {
    const conn = this.cluster ? await this.bounded((this.rawCmd as unknown as ClusterCommands).getNodeClientForKey(key)) : this.cmd;
    const acked = Number(await this.bounded((conn as unknown as Waiter).wait(replicas, this.opts.ioTimeoutMs)));
    if (acked < replicas) throw new Error(`${this.label}: ${acked} of ${replicas} replicas confirmed the write within io_timeout (${this.opts.ioTimeoutMs} ms)`);
  }

  async del(key: string): Promise<void> {
    await this.bounded(this.cmd.del(key));
  }

  /**
   * PUBLISH, or SPUBLISH on a Cluster with sharded PUB/SUB. On a Cluster a classic PUBLISH goes to
   * the node owning the channel name's slot, always the same one: sent to any node, consecutive
   * messages of one channel would travel different paths and could arrive out of order.
   * Resolves with the receivers the answering Redis counted (the delivery probes read it).
   */
  async publish(channel: string, payload: Buffer | Uint8Array): Promise<number> {
    const bytes = asBuffer(payload);
    if (this.sharded) return Number(await this.bounded(this.cmd.sPublish(channel, bytes)));
    if (this.cluster) return Number(await this.bounded((this.rawCmd as unknown as ClusterCommands).getNodeClientForKey(channel).then((node) => node.publish(channel, bytes))));
    return Number(await this.bounded(this.cmd.publish(channel, bytes)));
  }

  /** The command a script uses to publish. */
  get publishCommand(): 'publish' | 'spublish' {
    return this.sharded ? 'spublish' : 'publish';
  }

  /** Subscribes a PUB/SUB connection; the client subscribes it again after reconnects. */
  subscribe(channel: string): Promise<void> {
    if (this.pubsub === undefined) return Promise.reject(new Error(`${this.label}: opened without PUB/SUB`));
    return this.pubsub.subscribe(channel);
  }

  async unsubscribe(channel: string): Promise<void> {
    await this.pubsub?.unsubscribe(channel);
  }

  health(): EngineHealth {
    if (this.problems.size === 0) return { ok: true };
    return { ok: false, reason: `${this.label}: ${[...this.problems].map(([what, why]) => `${what} ${why}`).join('; ')}` };
  }

  /** Closes every connection at once: waiting for a stalled Redis to answer QUIT would hang. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
    destroyConn(this.rawCmd);
    this.pubsub?.destroy();
  }

  private watch(): void {
    this.track(this.rawCmd, 'commands', () => this.recovered('commands'));
    this.pingTimer = setInterval(() => {
      this.ping(this.rawCmd, this.cmdPinger, 'commands', (answered, sent) => {
        if (answered) this.silence.commandAnswered(sent);
      });
      for (const c of this.pubsub?.connections ?? []) {
        if (this.probe === undefined) this.ping(c.conn, c.pinger, c.name, (answered, sent) => this.checked(c, answered, sent));
        else if (!this.closed) this.probe.check(c);
      }
    }, PING_INTERVAL_MS);
    // Watching Redis is no reason to keep the process alive.
    this.pingTimer.unref();
  }

  /** A PUB/SUB connection: its first `ready` is its connect, every later one a resubscribe. */
  private trackPubSub(c: PubSubConn): void {
    let connected = false;
    // Its problems from before its first connect are cleared by the pool's `opened`.
    // Connected again: checks from before say nothing about the new socket. (A Cluster client
    // reports its nodes' connections as node-*.)
    const fresh = (node?: string): void => {
      this.probe?.forget(c, node);
      // One master's link coming back says nothing of another's silence.
      if (this.probe?.overdue(c) !== true) this.silence.answered(c);
    };
    // node-redis has resubscribed by now (it does before `ready`), the channels the node left
    // while it was down included: they go again.
    const back = (node?: string): void => {
      fresh(node);
      this.pubsub?.unsubscribeLeftovers(c);
    };
    const onReady = (): void => {
      back();
      if (connected) void this.resubscribed(c);
      connected = true;
    };
    const live = (): boolean => !c.dropped && !c.retired;
    this.track(c.conn, c.name, onReady, live);
    c.conn.on('node-ready', (node: unknown) => {
      if (!this.closed && live()) back(nodeAddress(node));
    });
    c.conn.on('node-reconnecting', (node: unknown) => {
      if (!this.closed && live()) fresh(nodeAddress(node));
    });
  }

  /** Follows `client`'s connection state into `problems` while `live()` (and the shard is open). */
  private track(client: Conn, what: string, onReady: () => void, live: () => boolean = () => true): void {
    let lastError = '';
    const watching = (): boolean => !this.closed && live();
    client.on('error', (err) => {
      lastError = messageOf(err);
      if (this.connectedOnce && watching() && !client.isReady) this.lost(what, lastError);
    });
    client.on('end', () => {
      if (watching()) this.lost(what, lastError);
    });
    client.on('reconnecting', () => {
      if (watching()) this.lost(what, lastError);
    });
    client.on('ready', () => {
      if (watching()) onReady();
    });
  }

  private makeProbe(): DeliveryProbe {
    return new DeliveryProbe({
      publish: async (channel, payload) => {
        const receivers = await this.publish(channel, payload);
        // A classic Cluster PUBLISH counts the answering node's subscribers only, and ours may be on another.
        return this.cluster && !this.sharded ? undefined : receivers;
      },
      timeoutMs: this.opts.ioTimeoutMs,
      // Reconnecting, then one SUBSCRIBE of every channel (about 0.1 ms each).
      unheldGraceMs: (c) => this.opts.connectTimeoutMs + this.opts.ioTimeoutMs + Math.ceil((c.channels.size + c.leftovers.size) / 10),
      overdue: (c, why, silentSince) => {
        if (this.closed || c.dropped) return;
        // A lost connection's own reason says more than the probe's.
        if (!this.problems.has(c.name)) this.fail(c.name, why, `${c.name} connection delivers nothing: ${why}`);
        if (silentSince === undefined) this.silence.notSilent(c);
        else this.checked(c, false, silentSince);
      },
      heard: (c) => {
        // One being replaced says nothing for its successor, which has probes of its own.
        if (this.closed || c.dropped || c.retired) return;
        if (this.problems.has(c.name)) this.events.info(`${this.label}: ${c.name} connection delivers again`);
        this.problems.delete(c.name);
        this.checked(c, true, 0);
      },
    });
  }

  private lost(what: string, why: string): void {
    const reason = `connection lost${why ? `: ${why}` : ''}`;
    this.fail(what, reason, `${what} ${reason}`);
  }

  /**
   * `what` (`commands`, or a PUB/SUB connection's name) is failing for `reason`, which `/health`
   * shows until it recovers. A failure that begins now is logged as `warning` and, on a PUB/SUB
   * connection, counted; one already known only takes the newer reason.
   */
  private fail(what: string, reason: string, warning: string): void {
    if (!this.problems.has(what)) {
      this.events.warn(`${this.label}: ${warning}`);
      if (what !== 'commands') this.events.pubSubFailed();
    }
    this.problems.set(what, reason);
  }

  /** `what` works again: a failure on record is over, and the log says so. */
  private recovered(what: string): void {
    const why = this.problems.get(what);
    if (why === undefined) return;
    this.problems.delete(what);
    this.events.info(`${this.label}: ${what} connection back (was: ${why})`);
  }

  /** PINGs `client`; `done` hears whether it was answered, and when the PING was sent. */
  private ping(client: Conn, p: Pinger, what: string, done: (answered: boolean, sent: number) => void): void {
    if (!client.isReady || this.closed) return;
    const sent = performance.now();
    p.ping().then(
      () => {
        // Answered on a connection that is up: whatever was wrong with it is over. (A PUB/SUB
        // connection's PING queues behind its resubscribe, so the answer also says that is done,
        // even when the resubscribe's own PING had failed.)
        if (!client.isReady || this.closed) return;
        this.recovered(what);
        done(true, sent);
      },
      (err: unknown) => {
        if (this.closed || !client.isReady) return;
        this.fail(what, `no reply within io_timeout (${this.opts.ioTimeoutMs} ms): ${messageOf(err)}`, `${what} connection stalled (no reply to PING within io_timeout)`);
        done(false, sent);
      },
    );
  }

  /**
   * A PUB/SUB connection's check passed, or failed with its silence begun at `since`
   * (performance.now() ms); replaces it when silence.ts says so.
   */
  private checked(c: PubSubConn, answered: boolean, since: number): void {
    if (answered) {
      this.silence.answered(c);
      return;
    }
    const began = this.silence.silent(c, since);
    const pool = this.pubsub;
    if (began === undefined || pool === undefined || c.retired || c.dropped || pool.replacingNow) return;
    const channels = c.channels.size;
    this.events.warn(`${this.label}: ${c.name} connection silent for ${Math.round(performance.now() - began)} ms while Redis answers commands: replacing it (${channels} channels)`);
    const started = performance.now();
    pool.replace(c).then(
      (stray) => {
        if (this.closed || !c.dropped) return;
        this.events.resubscribed(c.name, channels, performance.now() - started);
        if (stray.length > 0) this.events.warn(`${this.label}: the UNSUBSCRIBE of ${stray.length} channels left during the replacement of ${c.name} was not confirmed; they may still reach this node, which has no subscriber for them, until that connection is replaced`);
      },
      (err: unknown) => {
        if (this.closed) return;
        this.silence.replaceFailed(c);
        this.events.warn(`${this.label}: replacing ${c.name} failed, it stays: ${messageOf(err)}`);
      },
    );
  }

  /**
   * The client resent its subscriptions as the connection came back; a PING behind them on the
   * same connection answers once Redis has processed them all.
   */
  private async resubscribed(c: PubSubConn): Promise<void> {
    const started = performance.now();
    try {
      await c.pinger.ping();
      this.problems.delete(c.name);
      this.events.resubscribed(c.name, c.channels.size, performance.now() - started);
    } catch (err) {
      this.events.warn(`${this.label}: waiting for ${c.channels.size} channels to be resubscribed on ${c.name} failed: ${messageOf(err)}`);
    }
  }
}
