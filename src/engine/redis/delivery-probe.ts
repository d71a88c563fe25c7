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
 * unhealthy, naming the connection, until one comes back; the shard replaces a connection that
 * stays silent while Redis answers commands (pubsub-pool.ts `replace`).
 *
 * Scope: on a Cluster with sharded PUB/SUB the client holds one connection per master and the
 * probe channel's slot picks one of them; the others are not probed.
 */
import type { PubSubConn } from './pubsub-pool.js';

export interface DeliveryProbeOptions {
  /** Publishes through the command connection (PUBLISH, or SPUBLISH when sharded). */
  publish(channel: string, payload: Buffer): Promise<void>;
  /** How long a probe may take to come back, ms (`io_timeout`). */
  timeoutMs: number;
  /**
   * A probe is overdue on `c`, out since `since` (performance.now() ms); called at every check
   * while it stays overdue.
   */
  overdue(c: PubSubConn, why: string, since: number): void;
  /** A probe came back on `c`. */
  heard(c: PubSubConn): void;
}

export class DeliveryProbe {
  /** When the oldest probe not yet back was sent, by connection (performance.now() ms). */
  private readonly outstanding = new Map<PubSubConn, number>();
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
    const channel = c.probeChannel;
    if (channel === undefined) return;
    const since = this.outstanding.get(c);
    if (since === undefined) this.outstanding.set(c, now);
    else if (now - since >= this.o.timeoutMs) this.o.overdue(c, `no delivery probe came back within io_timeout (${this.o.timeoutMs} ms)`, since);
    else return;
    this.o.publish(channel, Buffer.from(String(++this.seq))).catch(() => {
      // Not published (the command connection is down, which its own PING reports): nothing is
      // out on this connection's account, unless an earlier probe still is.
      if (since === undefined && this.outstanding.get(c) === now) this.outstanding.delete(c);
    });
  }

  /** A probe arrived on `c` (its listener). */
  received(c: PubSubConn): void {
    this.roundTrips++;
    this.outstanding.delete(c);
    this.o.heard(c);
  }

  /** Forgets `c` (destroyed). */
  forget(c: PubSubConn): void {
    this.outstanding.delete(c);
  }
}
