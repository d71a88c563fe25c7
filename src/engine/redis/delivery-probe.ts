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
 * silent from then on (a client that stayed with an old master). Scope: on a Cluster with sharded PUB/SUB the client holds one
 * connection per master and the probe channel's slot picks one of them; the others are not probed.
 */
import type { PubSubConn } from './pubsub-pool.js';

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
  private readonly outstanding = new Map<PubSubConn, Outstanding>();
  private seq = 0;
  /** Probes that came back, over every connection: for tests and diagnostics. */
  roundTrips = 0;

  constructor(private readonly o: DeliveryProbeOptions) {}

  /**
   * The once-a-second check of `c`: sends a probe when none is out; reports one out longer than
   * the timeout and sends another (a probe published while the connection was being moved to a
   * new master is lost for good; the next one says whether delivery is back).
   */
  check(c: PubSubConn, now = performance.now()): void {
    if (c.probeChannel === undefined) return;
    let out = this.outstanding.get(c);
    const first = out === undefined;
    if (out === undefined) {
      out = { sentAt: now, silentSince: undefined, unheldSince: undefined };
      this.outstanding.set(c, out);
    } else if (now - out.sentAt >= this.o.timeoutMs) {
      const grace = this.o.unheldGraceMs(c);
      const unheldPast = out.unheldSince !== undefined && now - out.unheldSince >= grace ? out.unheldSince + grace : undefined;
      this.o.overdue(c, `no delivery probe came back within io_timeout (${this.o.timeoutMs} ms)`, out.silentSince ?? unheldPast);
    } else {
      return;
    }
    const o = out;
    this.o.publish(c.probeChannel, Buffer.from(String(++this.seq))).then(
      (receivers) => {
        if (this.outstanding.get(c) !== o) return;
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
        // out on this connection's account, unless an earlier probe still is.
        if (first && this.outstanding.get(c) === o) this.outstanding.delete(c);
      },
    );
  }

  /** A probe arrived on `c` (its listener). */
  received(c: PubSubConn): void {
    this.roundTrips++;
    this.outstanding.delete(c);
    this.o.heard(c);
  }

  /** Forgets what is out on `c` (destroyed, or connected again). */
  forget(c: PubSubConn): void {
    this.outstanding.delete(c);
  }
}
