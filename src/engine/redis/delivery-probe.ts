/**
 * Delivery probes: whether publications still reach a PUB/SUB connection, for the connections a
 * PING cannot check.
 *
 * A Sentinel client's PUB/SUB connection and a Cluster client's are private to the client: a PING
 * through it goes to a command connection instead, so a PUB/SUB connection that stopped
 * delivering (left behind by a failover, or a socket dropped by something between the node and
 * Redis without a reset) would leave `/health` green while the node's subscribers get nothing, the
 * failure Centrifugo users report after Sentinel failovers (centrifugo#1189). So each such
 * connection subscribes a channel of its own, and once a second the shard publishes to it through
 * its command connection. A probe that has not come back within `io_timeout` makes the shard
 * unhealthy, naming the connection, until one comes back.
 *
 * A probe Redis acknowledged while it held the connection's subscription (PUBLISH counted a
 * receiver) and that never arrived says the socket is silent, not that the client is subscribing
 * again: that is the time `overdue` reports as `silentSince`, and the shard replaces a connection
 * silent for long enough (shard.ts). A connection Redis holds no subscription for (PUBLISH counted
 * none) is being subscribed again by its client; one still unheld past `unheldGraceMs` counts as
 * silent from then on (a client that stayed with an old master).
 *
 * On a Cluster with sharded PUB/SUB the client holds one PUB/SUB connection per master, and a
 * channel's slot picks which one carries it: such a client subscribes one probe channel per
 * master (slot.ts picks names), and a probe overdue through any of them names that master. Slots
 * chosen when the client connected: after a resharding a probe follows its slot to its new
 * master, and a master added since is probed once the connection is replaced or made again.
 */
import type { Conn } from './clients.js';
import type { ProbeTarget, PubSubConn } from './pubsub-conn.js';
import { CLUSTER_SLOTS, keySlot } from './slot.js';

export interface DeliveryProbeOptions {
  /**
   * Publishes through the command connection; resolves with the receivers Redis counted, or
   * undefined where its count would leave ours out (a classic Cluster PUBLISH counts one node's).
   */
  publish(channel: string, payload: Buffer): Promise<number | undefined>;
  /** How long a probe may take to come back, ms (`io_timeout`). */
  timeoutMs: number;
  /** How long Redis may hold no subscription for `c` while its client subscribes again, ms. */
  unheldGraceMs(c: PubSubConn): number;
  /**
   * A probe is overdue on `c`; called at every check while it stays overdue. `silentSince`
   * (performance.now() ms): when Redis first acknowledged a probe it held a receiver for, if it did.
   */
  overdue(c: PubSubConn, why: string, silentSince: number | undefined): void;
  /** A probe came back on `c`. */
  heard(c: PubSubConn): void;
}

interface Outstanding {
  /** When the oldest probe not yet back was sent (performance.now() ms). */
  readonly sentAt: number;
  /** When Redis first acknowledged one while it held the subscription. */
  silentSince: number | undefined;
  /** When Redis first acknowledged one while it held no subscription, since the last that it held. */
  unheldSince: number | undefined;
}

export class DeliveryProbe {
  /** By connection, then by probe channel: the probes not back yet. */
  private readonly outstanding = new Map<PubSubConn, Map<string, Outstanding>>();
  private seq = 0;
  /** Probes that came back, over every connection: for tests and diagnostics. */
  roundTrips = 0;

  constructor(private readonly o: DeliveryProbeOptions) {}

  /**
   * The once-a-second check of `c`: for each of its probes, sends one when none is out; reports
   * one out longer than the timeout and sends another (a probe published while the connection
   * was being moved to a new master is lost for good; the next one says whether delivery is back).
   */
  check(c: PubSubConn, now = performance.now()): void {
    if (c.probes.length === 0) return;
    let byChannel = this.outstanding.get(c);
    if (byChannel === undefined) this.outstanding.set(c, (byChannel = new Map()));
    for (const t of c.probes) this.checkOne(c, byChannel, t, now);
  }

  private checkOne(c: PubSubConn, byChannel: Map<string, Outstanding>, t: ProbeTarget, now: number): void {
    let out = byChannel.get(t.channel);
    const first = out === undefined;
    if (out === undefined) {
      out = { sentAt: now, silentSince: undefined, unheldSince: undefined };
      byChannel.set(t.channel, out);
    } else if (now - out.sentAt >= this.o.timeoutMs) {
      const grace = this.o.unheldGraceMs(c);
      const unheldPast = out.unheldSince !== undefined && now - out.unheldSince >= grace ? out.unheldSince + grace : undefined;
      const through = t.via === undefined ? '' : ` through master ${t.via}`;
      this.o.overdue(c, `no delivery probe${through} came back within io_timeout (${this.o.timeoutMs} ms)`, out.silentSince ?? unheldPast);
    } else {
      return;
    }
    const o = out;
    this.o.publish(t.channel, Buffer.from(String(++this.seq))).then(
      (receivers) => {
        if (byChannel.get(t.channel) !== o) return;
        // Redis holds no subscription for it: the client is subscribing again, not silent.
        if (receivers === 0) {
          o.silentSince = undefined;
          o.unheldSince ??= performance.now();
        } else {
          o.unheldSince = undefined;
          o.silentSince ??= performance.now();
        }
      },
      () => {
        // Not published (the command connection is down, which its own PING reports): nothing is
        // out on this probe's account, unless an earlier one still is.
        if (first && byChannel.get(t.channel) === o) byChannel.delete(t.channel);
      },
    );
  }

  /**
   * A probe arrived on `c` through `channel` (its listener). `c` is heard once none of its probes
   * is overdue: one master's connection answering says nothing of another's.
   */
  received(c: PubSubConn, channel: string, now = performance.now()): void {
    this.roundTrips++;
    this.outstanding.get(c)?.delete(channel);
    if (!this.overdue(c, now)) this.o.heard(c);
  }

  /**
   * Forgets what is out on `c` (destroyed, or connected again), or with `node` (`host:port`, a
   * Cluster client's node that connected again) only its probes through that node and those not
   * tied to one master.
   */
  forget(c: PubSubConn, node?: string): void {
    const byChannel = this.outstanding.get(c);
    if (byChannel === undefined) return;
    if (node === undefined) {
      this.outstanding.delete(c);
      return;
    }
    for (const t of c.probes) if (t.via === undefined || t.via === node) byChannel.delete(t.channel);
  }

  /** Whether a probe of `c` is out longer than the timeout. */
  overdue(c: PubSubConn, now = performance.now()): boolean {
    const byChannel = this.outstanding.get(c);
    if (byChannel !== undefined) for (const o of byChannel.values()) if (now - o.sentAt >= this.o.timeoutMs) return true;
    return false;
  }
}

/** What a Cluster client knows of its slots: each slot's master, by `host:port`. */
interface ClusterSlotsView {
  readonly slots: ReadonlyArray<{ readonly master: { readonly address: string } } | undefined>;
}

/**
 * The probe channels of a connected PUB/SUB client `conn`, named from `base`: one, or with
 * sharded PUB/SUB one per master the client knows, each hash-tagged (`{k}`) to a slot of its
 * master.
 */
export function probeTargets(conn: Conn, base: string, sharded: boolean): ProbeTarget[] {
  if (!sharded) return [{ channel: base, via: undefined }];
  const slots = (conn as unknown as ClusterSlotsView).slots;
  const owners = new Set(slots.flatMap((s) => (s === undefined ? [] : [s.master.address])));
  const targets: ProbeTarget[] = [];
  // Every slot is as likely as another: a few tries per master (a coupon collector); bounded all the same.
  for (let k = 0; owners.size > 0 && k < 100 * CLUSTER_SLOTS; k++) {
    const channel = `${base}.{${k}}`;
    const via = slots[keySlot(channel)]?.master.address;
    if (via === undefined || !owners.delete(via)) continue;
    targets.push({ channel, via });
  }
  return targets;
}
