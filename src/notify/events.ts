/**
 * What Rotor tells the application backend (docs/lifecycle-events.md): one event per fact, and
 * the JSON form of a batch, `{"events":[...]}`, the shape of Centrifugo PRO's NotifyChannelState
 * request extended with the fields of the connection events. Field names are snake_case on the
 * wire; a field that does not apply to an event's type is left out.
 */

/** A connection that had connected ended. */
export interface DisconnectEvent {
  readonly type: 'disconnect';
  /** When it ended, ms since the epoch. */
  readonly timeMs: number;
  readonly client: string;
  /** "" for an anonymous connection. */
  readonly user: string;
  /** The disconnect code; 3000 when the client closed the connection. */
  readonly code: number;
  readonly reason: string;
  /** How long it was connected, ms. */
  readonly durationMs: number;
}

/** A live subscription ended. */
export interface UnsubscribeEvent {
  readonly type: 'unsubscribe';
  readonly timeMs: number;
  readonly client: string;
  readonly user: string;
  readonly channel: string;
  /** 0 client, 1 disconnect, 2000 server, 2500 insufficient state, 2501 expired. */
  readonly code: number;
  readonly reason: string;
}

/** A channel got its first subscriber in the cluster, or lost its last one for the vacated delay. */
export interface ChannelEvent {
  readonly type: 'occupied' | 'vacated';
  /** When the first subscriber came (occupied) or the last one left (vacated), ms since the epoch. */
  readonly timeMs: number;
  readonly channel: string;
}

export type LifecycleEvent = DisconnectEvent | UnsubscribeEvent | ChannelEvent;

/** The JSON object of one event. */
export function eventJson(e: LifecycleEvent): Record<string, string | number> {
  switch (e.type) {
    case 'disconnect':
      return { type: e.type, time_ms: e.timeMs, client: e.client, user: e.user, code: e.code, reason: e.reason, duration_ms: e.durationMs };
    case 'unsubscribe':
      return { type: e.type, time_ms: e.timeMs, channel: e.channel, client: e.client, user: e.user, code: e.code, reason: e.reason };
    case 'occupied':
    case 'vacated':
      return { channel: e.channel, type: e.type, time_ms: e.timeMs };
  }
}

/** The request body of a batch: `{"events":[...]}`, oldest first. */
export function batchJson(events: readonly LifecycleEvent[]): string {
  return JSON.stringify({ events: events.map(eventJson) });
}
