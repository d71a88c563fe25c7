/**
 * Server API operations addressed to a user, applied to this node's connections. `Node` applies
 * them here and sends them to the other nodes through the control plane, whose copies arrive in
 * `applyRemoteLocal` and are applied here too; so every node runs the same code for them.
 */
import { disconnects, type Disconnect } from '../protocol/errors.js';
import { UnsubscribeCode } from '../protocol/codes.js';
import type { StreamPosition } from '../protocol/types.js';
import type { SubscriptionOptions } from './events.js';
import type { Hub } from './hub.js';
import type { Session } from './client/session.js';
import { serverSubscribe } from './client/subscribe.js';
import type { UserTarget } from './control/messages.js';
import type { RemoteCommand } from './control/plane.js';

/** The user's connections on this node that the target selects. */
export function userTargets(hub: Hub, t: UserTarget): Session[] {
  const out: Session[] = [];
  for (const s of hub.userSessions(t.user)) {
    if (t.client && s.clientId !== t.client) continue;
    if (t.session && s.sessionId !== t.session) continue;
    out.push(s);
  }
  return out;
}

export function disconnectLocal(hub: Hub, t: UserTarget, d: Disconnect, whitelist: readonly string[]): void {
  for (const s of userTargets(hub, t)) if (!whitelist.includes(s.clientId)) s.close(d);
}

/** Unsubscribes the target's connections from `channel`, telling each client (code 2000). */
export async function unsubscribeLocal(
  hub: Hub,
  t: UserTarget,
  channel: string,
  remove: (s: Session, channel: string) => Promise<boolean>,
): Promise<void> {
  const c = UnsubscribeCode.server;
  await Promise.all(
    userTargets(hub, t).map(async (s) => {
      if (await remove(s, channel)) s.sendUnsubscribe(channel, c);
    }),
  );
}

export async function subscribeLocal(hub: Hub, t: UserTarget, channel: string, options: SubscriptionOptions, since: StreamPosition | undefined): Promise<void> {
  await Promise.all(userTargets(hub, t).map((s) => serverSubscribe(s, channel, options, since)));
}

/** Server-side refresh: new expiry (or expired: 3005) and info, with a `refresh` push. */
export function refreshLocal(hub: Hub, t: UserTarget, expired: boolean, expireAt: number, info: Uint8Array | undefined): void {
  const nowSec = Math.floor(Date.now() / 1000);
  for (const s of userTargets(hub, t)) {
    if (expired || (expireAt > 0 && expireAt <= nowSec)) {
      s.close(disconnects.expired);
      continue;
    }
    s.applyRefresh(expireAt, info, undefined);
    s.sendPush({ kind: 'refresh', expires: expireAt > 0, ttl: expireAt > 0 ? expireAt - nowSec : 0 });
  }
}

/** A user operation another node sent (through the control plane), applied here as the sender did. */
export async function applyRemoteLocal(hub: Hub, c: RemoteCommand, remove: (s: Session, channel: string) => Promise<boolean>): Promise<void> {
  switch (c.kind) {
    case 'disconnect':
      return disconnectLocal(hub, c.target, { code: c.code, reason: c.reason }, c.whitelist);
    case 'unsubscribe':
      return unsubscribeLocal(hub, c.target, c.channel, remove);
    case 'subscribe':
      return subscribeLocal(hub, c.target, c.channel, c.options, c.since);
    case 'refresh':
      return refreshLocal(hub, c.target, c.expired, c.expireAt, c.info);
  }
}
