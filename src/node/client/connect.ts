/**
 * The connect command (bidirectional) and the connect request of unidirectional transports.
 *
 * Order, as Centrifugo: ask the connecting hook for credentials → enforce the per-user connection
 * limit → reject an expiry already in the past (110) → establish server-side subscriptions (with
 * recovery from the client's `subs`) → reply (or the `connect` push on unidirectional transports)
 * → release publications buffered during those subscribes, and publish joins.
 */
import { DisconnectError, ReplyError, disconnects, errors } from '../../protocol/errors.js';
import type { ConnectRequest, ConnectResult, SubscribeResult } from '../../protocol/types.js';
import type { ConnectReply } from '../events.js';
import { ConnectingEvent } from './connect-event.js';
import type { Session } from './session.js';
import { establishSubscription, goLive, type PendingSubscription } from './subscribe.js';
import { expiredV1Connect, v1ConnectReply } from './v1.js';
import { dict } from '../../util/dict.js';

const NO_PENDING: readonly PendingSubscription[] = Object.freeze([]);

interface Connected {
  result: ConnectResult;
  pending: readonly PendingSubscription[];
  /** `ConnectReply.onConnected`. */
  onConnected: (() => void) | undefined;
}

/**
 * Connect over a bidirectional transport: answers with a Reply (or throws for an error reply).
 * Returns nothing when the connect completed synchronously (the hooks and subscriptions did not
 * wait), otherwise a promise of its completion.
 */
export function handleConnect(s: Session, id: number, req: ConnectRequest): void | Promise<void> {
  let r: Connected | Promise<Connected>;
  try {
    r = connect(s, req);
  } catch (e) {
    // Any failed connect (an error reply, or an internal error answered with 100) leaves the
    // connection unusable (spec §1.8); the stale timer closes it later.
    s.connectFailed();
    if (req.v1 !== undefined && isExpired(e)) return expiredV1Connect(s, id);
    throw e;
  }
  if (!(r instanceof Promise)) return replyConnected(s, id, r);
  return r.then(
    (c) => replyConnected(s, id, c),
    (e: unknown) => {
      s.connectFailed();
      if (req.v1 !== undefined && isExpired(e)) return expiredV1Connect(s, id);
      throw e;
    },
  );
}

function isExpired(e: unknown): boolean {
  return e instanceof ReplyError && e.code === errors.expired().code;
}

function replyConnected(s: Session, id: number, c: Connected): void {
  s.sendReply({ id, kind: 'connect', result: c.result });
  finishConnect(s, c);
}

/** Connect over a unidirectional transport: errors become disconnects (spec §2.4). */
export async function handleUnidirectionalConnect(s: Session, req: ConnectRequest): Promise<void> {
  let result: Connected;
  try {
    result = await connect(s, req);
  } catch (e) {
    const toHttp = s.request.connectErrorToHttp;
    if (toHttp !== undefined && (e instanceof ReplyError || e instanceof DisconnectError)) {
      const code = e instanceof ReplyError ? e.code : e.disconnect.code;
      const message = e instanceof ReplyError ? e.message : e.disconnect.reason;
      // The transport answered with an HTTP status; end the session without writing to it.
      if (toHttp(code, message)) {
        s.close(disconnects.connectionClosed);
        return;
      }
    }
    if (e instanceof ReplyError) throw new DisconnectError(s.node.options.uniConnectErrorToDisconnect(e.code));
    throw e;
  }
  s.sendPush({ kind: 'connect', connect: result.result });
  finishConnect(s, result);
}

function connect(s: Session, req: ConnectRequest): Connected | Promise<Connected> {
  const event = new ConnectingEvent(s, req, s.request.headers, s.request.metadata);
  s.identify(event.name, event.version);
  // A v1 client signs its credentials itself; the hooks (token, proxy) are for protocol v2.
  const reply = req.v1 !== undefined ? v1ConnectReply(s, req.v1) : s.node.hooks.connecting(event);
  return reply instanceof Promise ? reply.then((r) => connectAs(s, req, r)) : connectAs(s, req, reply);
}

/** The rest of a connect once the hooks have answered. */
function connectAs(s: Session, req: ConnectRequest, reply: ConnectReply): Connected | Promise<Connected> {
  const node = s.node;
  const o = node.options;
  if (s.status === 'closed') throw new DisconnectError(disconnects.connectionClosed);

  if (o.userConnectionLimit > 0 && reply.user !== '' && node.hub.userConnectionCount(reply.user) >= o.userConnectionLimit) {
    throw new DisconnectError(disconnects.connectionLimit);
  }
  const nowSec = Math.floor(Date.now() / 1000);
  let ttl = 0;
  if (reply.expireAt > 0) {
    ttl = reply.expireAt - nowSec;
    if (ttl <= 0) throw errors.expired();
  }

  const channels = Object.keys(reply.subscriptions);
  if (channels.length > o.channelLimit) throw new DisconnectError(disconnects.channelLimit);

  s.connected(reply);

  if (channels.length === 0) return { result: connectResult(s, reply, ttl, undefined), pending: NO_PENDING, onConnected: reply.onConnected };
  return subscribeServerSide(s, req, reply, channels, ttl);
}

/** Server-side subscriptions are established concurrently; any failure aborts the connect. */
async function subscribeServerSide(s: Session, req: ConnectRequest, reply: ConnectReply, channels: string[], ttl: number): Promise<Connected> {
  const node = s.node;
  const pending: PendingSubscription[] = [];
  const subResults = dict<SubscribeResult>();
  try {
    await Promise.all(
      channels.map(async (ch) => {
        const clientView = req.subs?.[ch];
        const p = await establishSubscription(s, ch, reply.subscriptions[ch]!, {
          serverSide: true,
          clientSideRefresh: false,
          recover: clientView?.recover === true,
          offset: clientView?.offset ?? 0,
          epoch: clientView?.epoch ?? '',
          delta: clientView?.delta ?? '',
          rejectUnrecovered: false,
        });
        pending.push(p);
        subResults[ch] = p.result;
      }),
    );
  } catch (e) {
    // At once: an API call must not find it among the user's connections meanwhile.
    s.connectFailed();
    // Every subscription set up so far, including those whose setup had not finished.
    for (const sub of s.subscriptions()) await node.removeSessionSubscription(s, sub, false);
    throw e;
  }

  return { result: connectResult(s, reply, ttl, subResults), pending, onConnected: reply.onConnected };
}

function connectResult(s: Session, reply: ConnectReply, ttl: number, subs: Record<string, SubscribeResult> | undefined): ConnectResult {
  const o = s.node.options;
  const result: ConnectResult = { client: s.clientId, version: o.version };
  if (reply.clientSideRefresh && reply.expireAt > 0) {
    result.expires = true;
    result.ttl = ttl;
  }
  if (reply.data !== undefined) result.data = reply.data;
  if (subs !== undefined) result.subs = subs;
  if (o.pingIntervalMs > 0 && s.appPings) {
    result.ping = Math.round(o.pingIntervalMs / 1000);
    if (s.pongExpected()) result.pong = true;
  }
  if (s.sessionId !== '') result.session = s.sessionId;
  if (s.transport.emulation) result.node = o.nodeId;
  if (o.connectIncludeServerTime) result.time = Date.now();
  return result;
}

function finishConnect(s: Session, c: Connected): void {
  s.releaseRequest();
  // The reply itself can close the session (over queue_max_size: 3008; not encodable: 3506).
  // Timers started now would put a closed session back on the ping wheel for good.
  if (s.status !== 'connected') return;
  s.node.metrics.connected(s);
  s.node.watches.connected(s.clientId, s.user, s.transport.name);
  s.startTimers();
  for (const p of c.pending) goLive(s, p);
  c.onConnected?.();
}
