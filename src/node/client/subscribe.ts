/**
 * Subscribing a connection to a channel: the client `subscribe` command, server-side
 * subscriptions at connect, and server API subscribes. All three share `establishSubscription`
 * (register, read the stream position, recover) and `goLive` (merge what arrived meanwhile).
 *
 * While a subscribe is in flight, publications for the channel are buffered on the subscription.
 * After the reply is queued, the buffer is replayed through the positioning checks, so the client
 * sees the reply first, then every publication exactly once and in order (spec §5.4).
 */
import { DisconnectError, ReplyError, disconnects, errors } from '../../protocol/errors.js';
import { ErrorCode } from '../../protocol/codes.js';
import type { Publication, SubscribeRequest, SubscribeResult } from '../../protocol/types.js';
import type { SubscriptionOptions, SubscriptionStream } from '../events.js';
import { StreamDelivery } from './stream-delivery.js';
import type { Session } from './session.js';
import { ChannelSubscription } from './subscription.js';
import { deliverLive } from './deliver.js';
import { recover } from '../recovery.js';
import { toDeltaFullForm } from '../prepared.js';
import { compileTagsFilter, type TagsPredicate } from '../tags-filter.js';
import { SubscriptionEnds } from '../lifecycle.js';
import { checkClientLimited, checkV1Sign } from './v1.js';
import { isInternalChannel } from '../internal-channels.js';

export interface EstablishParams {
  serverSide: boolean;
  clientSideRefresh: boolean;
  recover: boolean;
  offset: number;
  epoch: string;
  delta: string;
  /** SubscribeRequest flag bit 2: answer 112 instead of `recovered: false`. */
  rejectUnrecovered: boolean;
  /** Client tags filter, already validated. */
  filter?: TagsPredicate;
  /** The backend's stream for this subscriber; closed if the subscription is not established. */
  stream?: SubscriptionStream;
}

export interface PendingSubscription {
  sub: ChannelSubscription;
  result: SubscribeResult;
}

const FLAG_REJECT_UNRECOVERED = 2;

/** The client `subscribe` command. */
export async function handleSubscribe(s: Session, id: number, req: SubscribeRequest): Promise<void> {
  const node = s.node;
  const channel = req.channel;
  if (channel === '') throw new DisconnectError(disconnects.badRequest);
  if (isInternalChannel(channel)) throw errors.permissionDenied();
  if (req.delta !== undefined && req.delta !== '' && req.delta !== 'fossil') throw new DisconnectError(disconnects.badRequest);
  if (s.subscription(channel) !== undefined) throw errors.alreadySubscribed();
  if (s.subscriptionCount >= node.options.channelLimit) throw errors.limitExceeded();
  // Tags filters and deltas exclude each other; a malformed tree is a bad request.
  if (req.tf !== undefined && req.delta !== undefined && req.delta !== '') throw errors.badRequest();
  const filter = req.tf !== undefined ? compileTagsFilter(req.tf) : undefined;
  checkClientLimited(s, channel);
  const v1Signed = req.v1Sign !== undefined ? checkV1Sign(s, channel, req.v1Sign) : undefined;

  const reply = await node.hooks.subscribing({
    ...(v1Signed !== undefined ? { v1Signed } : {}),
    client: s,
    channel,
    token: req.token ?? '',
    data: req.data,
    positioned: req.positioned === true,
    recoverable: req.recoverable === true,
    joinLeave: req.joinLeave === true,
  });
  const stream = reply.stream;
  try {
    if (s.status !== 'connected') {
      stream?.close();
      return;
    }
    // The hook awaited: another subscribe to the same channel may have won meanwhile.
    if (s.subscription(channel) !== undefined) throw errors.alreadySubscribed();
    if (s.subscriptionCount >= node.options.channelLimit) throw errors.limitExceeded();
    if (reply.options.expireAt > 0 && reply.options.expireAt <= Math.floor(Date.now() / 1000)) throw errors.expired();
    if (filter !== undefined && reply.options.allowTagsFilter !== true) throw errors.badRequest();
  } catch (e) {
    stream?.close();
    throw e;
  }

  // From here the subscription owns the stream: removing it closes the stream.
  const pending = await establishSubscription(s, channel, reply.options, {
    serverSide: false,
    clientSideRefresh: reply.clientSideRefresh,
    recover: req.recover === true,
    offset: req.offset ?? 0,
    epoch: req.epoch ?? '',
    delta: req.delta ?? '',
    rejectUnrecovered: ((req.flag ?? 0) & FLAG_REJECT_UNRECOVERED) !== 0,
    filter,
    stream,
  });
  if (s.status !== 'connected') return;
  s.sendReply({ id, kind: 'subscribe', result: pending.result });
  goLive(s, pending);
  if (stream !== undefined && s.subscription(channel) === pending.sub) stream.start(new StreamDelivery(pending.sub));
}

/**
 * Registers the subscription (hub + broker), reads the stream position and recovers missed
 * publications when asked. Publications arriving meanwhile are buffered on the subscription.
 */
export async function establishSubscription(s: Session, channel: string, options: SubscriptionOptions, p: EstablishParams): Promise<PendingSubscription> {
  const node = s.node;
  const sub = new ChannelSubscription(s, channel, options, p.serverSide, p.clientSideRefresh, p.filter, p.stream);
  s.addSubscription(sub);
  try {
    await node.addSessionSubscription(s, sub);
    const result: SubscribeResult = {};
    if (p.clientSideRefresh && options.expireAt > 0) {
      result.expires = true;
      result.ttl = Math.max(0, options.expireAt - Math.floor(Date.now() / 1000));
    }
    if (options.data !== undefined) result.data = options.data;
    // Echoes the request, as Centrifugo, whether or not the channel can recover.
    if (p.recover) result.wasRecovering = true;
    if (sub.positioned) {
      result.positioned = true;
      if (options.enableRecovery) result.recoverable = true;
      if (options.enableRecovery && p.recover) {
        const r = await recover(node, node.options.recoveryMaxPublicationLimit, channel, options, p.offset, p.epoch);
        node.metrics.recovered(channel, r.recovered, r.recovered ? r.publications.length : 0);
        if (!r.recovered && p.rejectUnrecovered) throw errors.unrecoverablePosition();
        result.recovered = r.recovered;
        result.epoch = r.position.epoch;
        if (r.recovered) {
          result.offset = p.offset;
          // Recovered publications the filter rejects are dropped; their offsets still count.
          const pubs = p.filter === undefined ? r.publications : r.publications.filter((x) => p.filter!(x.tags));
          if (pubs.length > 0) result.publications = pubs;
        } else {
          // Not recovered: no publications, the client starts over from the current top.
          result.offset = r.position.offset;
        }
        sub.startAt(r.position, Date.now());
      } else {
        const top = await node.streamTop(channel, options.historyMetaTtlMs);
        result.epoch = top.epoch;
        result.offset = top.offset;
        sub.startAt(top, Date.now());
      }
    }
    if (p.delta === 'fossil' && options.allowedDeltaTypes.includes('fossil')) {
      result.delta = true;
      // The SDK decodes every publication of a delta subscription, recovered ones included; on
      // JSON they carry their payload as a JSON string. The last one is the next delta's base.
      const recovered = result.publications !== undefined && result.publications.length > 0;
      if (recovered && s.codec.name === 'json') result.publications = toDeltaFullForm(result.publications!);
      sub.enableDelta(recovered);
    }
    // An API unsubscribe or a disconnect may have removed the subscription while we awaited (a
    // parallel API batch can interleave): then it must not leave presence behind. Error 100 is
    // temporary, so an SDK whose subscribe this was subscribes again.
    if (!owns(s, sub)) throw new SubscriptionGone();
    if (options.emitPresence) await node.addPresence(channel, s.clientId, s.clientInfo(options.chanInfo));
    if (!owns(s, sub)) throw new SubscriptionGone();
    stripUndefinedPublications(result);
    return { sub, result };
  } catch (e) {
    await node.removeSessionSubscription(s, sub, false);
    throw e;
  }
}

/** The subscription being set up was removed meanwhile; answered as error 100 (temporary). */
class SubscriptionGone extends ReplyError {
  constructor() {
    const e = ErrorCode.internal;
    super(e.code, e.message, e.temporary);
  }
}

/** Whether `sub` is still the open session's subscription to its channel. */
function owns(s: Session, sub: ChannelSubscription): boolean {
  return s.status !== 'closed' && s.subscription(sub.channel) === sub;
}

function stripUndefinedPublications(r: SubscribeResult): void {
  if (r.publications !== undefined && r.publications.length === 0) delete r.publications;
}

/** Marks the subscription live, replays buffered publications and announces the join. */
export function goLive(s: Session, p: PendingSubscription): void {
  const sub = p.sub;
  if (s.subscription(sub.channel) !== sub) return;
  const buffered = sub.goLive();
  s.node.watches.subscribed(s.clientId, s.user, sub.channel);
  if (sub.options.emitPresence || sub.expireAt > 0 || sub.positioned) s.ensureTick();
  for (const b of buffered) {
    deliverLive(sub, b.prepared, b.position, true);
    if (s.subscription(sub.channel) !== sub || s.status === 'closed') return;
  }
  if (sub.options.emitJoinLeave) {
    void s.node.publishJoin(sub.channel, s.clientInfo(sub.options.chanInfo)).catch((err: unknown) => {
      s.node.rateLog.error({ err, channel: sub.channel }, 'publish join failed');
    });
  }
}

/** The client `unsubscribe` command. Unknown channels are acknowledged too. */
export async function handleUnsubscribe(s: Session, id: number, channel: string): Promise<void> {
  if (channel === '') throw new DisconnectError(disconnects.badRequest);
  const sub = s.subscription(channel);
  if (sub !== undefined) await s.node.removeSessionSubscription(s, sub, true, SubscriptionEnds.client);
  s.sendReply({ id, kind: 'unsubscribe' });
}

/**
 * Server API subscribe: adds a server-side subscription to a live connection and tells the client
 * with a `subscribe` push. `since` recovers from a position (server API `recover_since`).
 */
export async function serverSubscribe(s: Session, channel: string, options: SubscriptionOptions, since: { offset: number; epoch: string } | undefined): Promise<void> {
  if (s.status !== 'connected' || s.subscription(channel) !== undefined) return;
  if (s.subscriptionCount >= s.node.options.channelLimit) {
    s.close(disconnects.channelLimit);
    return;
  }
  let pending: PendingSubscription;
  try {
    pending = await establishSubscription(s, channel, options, {
      serverSide: true,
      clientSideRefresh: false,
      recover: since !== undefined,
      offset: since?.offset ?? 0,
      epoch: since?.epoch ?? '',
      delta: '',
      rejectUnrecovered: false,
    });
  } catch (e) {
    // Unsubscribed or disconnected meanwhile: nothing to announce.
    if (e instanceof SubscriptionGone) return;
    throw e;
  }
  if (s.status !== 'connected' || s.subscription(channel) !== pending.sub) return;
  const r = pending.result;
  s.sendPush({
    kind: 'subscribe',
    channel,
    sub: { recoverable: r.recoverable, epoch: r.epoch, offset: r.offset, positioned: r.positioned, data: r.data },
  });
  // Recovered publications travel as ordinary pushes after the subscribe push.
  for (const pub of r.publications ?? []) s.sendPush({ kind: 'pub', channel, pub: pub satisfies Publication });
  goLive(s, pending);
}
