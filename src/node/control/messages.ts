/**
 * The control plane's model: what nodes tell each other, decoded once at the edge (codec.ts) into
 * this union. See control.proto for the wire form and its versioning.
 */
import type { StreamPosition } from '../../protocol/types.js';
import type { SubscriptionOptions } from '../events.js';
import type { UserWatchEvent } from '../watch/events.js';

/** What a node says about itself in its heartbeat, and what `info` lists per node. */
export interface NodeInfo {
  uid: string;
  name: string;
  version: string;
  numClients: number;
  numUsers: number;
  numSubs: number;
  numChannels: number;
  /** Seconds since start. */
  uptime: number;
  /** The metrics snapshot (series → value) and its interval in seconds; absent without metrics. */
  metrics?: { interval: number; items: Record<string, number> };
  /** CPU (percent of one core over the last sampling interval) and RSS (bytes). */
  process?: { cpu: number; rss: number };
}

/** Connections of one user: all of them, or only the one with this client or session ID. */
export interface UserTarget {
  user: string;
  /** Only this connection, when non-empty. */
  client?: string;
  /** Only the connection with this session ID, when non-empty. */
  session?: string;
}

export type ControlCommand =
  /** Heartbeat. `reply`: the sender did not know the receiver and wants its heartbeat now. */
  | { kind: 'node'; info: NodeInfo; reply: boolean }
  /** The sender is stopping: drop it now instead of waiting for its heartbeats to lapse. */
  | { kind: 'shutdown' }
  | { kind: 'disconnect'; target: UserTarget; code: number; reason: string; whitelist: string[] }
  | { kind: 'unsubscribe'; target: UserTarget; channel: string }
  | { kind: 'subscribe'; target: UserTarget; channel: string; options: SubscriptionOptions; since: StreamPosition | undefined }
  | { kind: 'refresh'; target: UserTarget; expired: boolean; expireAt: number; info: Uint8Array | undefined }
  | { kind: 'surveyRequest'; id: number; op: string; data: Uint8Array }
  /** `code` 0: answered; otherwise the survey failed on that node (see SURVEY_CODES). */
  | { kind: 'surveyResponse'; id: number; code: number; data: Uint8Array }
  /** Every user the sender's admin watchers follow now (empty: none any more). */
  | { kind: 'watchUsers'; users: string[] }
  /** A watched user's event on the sender's connections, for the receiver's watchers. */
  | { kind: 'userEvent'; event: UserWatchEvent };

export interface ControlMessage {
  /** Sender node ID. */
  from: string;
  command: ControlCommand;
}

/** Survey answer codes other than 0 (answered). */
export const SURVEY_CODES = {
  /** The node has no handler for the op (an older node, say). */
  unknownOp: 1,
  /** The handler failed on that node. */
  failed: 2,
} as const;
