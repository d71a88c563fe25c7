/**
 * Dispatch of commands on a connected session, and the small command handlers. Subscribe and
 * unsubscribe live in `subscribe.ts`, connect in `connect.ts`.
 */
import { handleV1Refresh } from './v1.js';
import { isInternalChannel } from '../internal-channels.js';
import { DisconnectError, ReplyError, disconnects, errors } from '../../protocol/errors.js';
import type { Command, HistoryRequest, PublishRequest, RpcRequest, SubRefreshRequest } from '../../protocol/types.js';
import { assertNever } from '../../util/assert.js';
import type { Session } from './session.js';
import { handleSubscribe, handleUnsubscribe } from './subscribe.js';

export async function handleCommand(s: Session, cmd: Exclude<Command, { kind: 'connect' } | { kind: 'pong' }>): Promise<void> {
  if (s.transport.unidirectional) throw new DisconnectError(disconnects.badRequest);
  // Every command except `send` needs an id to answer to.
  if (cmd.id === 0 && cmd.kind !== 'send') throw new DisconnectError(disconnects.badRequest);
  switch (cmd.kind) {
    case 'subscribe':
      return handleSubscribe(s, cmd.id, cmd.req);
    case 'unsubscribe':
      return handleUnsubscribe(s, cmd.id, cmd.req.channel);
    case 'publish':
      return handlePublish(s, cmd.id, cmd.req);
    case 'presence':
      return handlePresence(s, cmd.id, cmd.req.channel);
    case 'presence_stats':
      return handlePresenceStats(s, cmd.id, cmd.req.channel);
    case 'history':
      return handleHistory(s, cmd.id, cmd.req);
    case 'ping':
      // v1 clients ping and expect an answer; the v2 protocol pings from the server, so a client
      // ping command is not available there.
      if (s.codec.name !== 'v1') throw errors.notAvailable();
      s.sendReply({ id: cmd.id, kind: 'ping' });
      return;
    case 'send':
      // Rotor has no asynchronous message handler (as Centrifugo OSS).
      throw new DisconnectError(disconnects.notAvailable);
    case 'rpc':
      return handleRpc(s, cmd.id, cmd.req);
    case 'refresh':
      if (cmd.req.v1 !== undefined) return handleV1Refresh(s, cmd.id, cmd.req.v1);
      return handleRefresh(s, cmd.id, cmd.req.token ?? '');
    case 'sub_refresh':
      return handleSubRefresh(s, cmd.id, cmd.req);
    default:
      return assertNever(cmd);
  }
}

function requireChannel(channel: string): void {
  if (channel === '') throw new DisconnectError(disconnects.badRequest);
  if (isInternalChannel(channel)) throw errors.permissionDenied();
}

async function handlePublish(s: Session, id: number, req: PublishRequest): Promise<void> {
  requireChannel(req.channel);
  const data = req.data ?? new Uint8Array(0);
  // A subscriber of a bidirectional subscribe stream publishes to the backend, not the channel.
  const into = s.subscription(req.channel)?.stream?.publish;
  if (into !== undefined) {
    if (!into(data)) throw errors.internal();
    s.sendReply({ id, kind: 'publish' });
    return;
  }
  const reply = await s.node.hooks.publishing({ client: s, channel: req.channel, data });
  const chanInfo = s.subscription(req.channel)?.options.chanInfo;
  await s.node.publish(req.channel, reply.data ?? data, { ...reply.options, clientInfo: s.clientInfo(chanInfo) });
  s.sendReply({ id, kind: 'publish' });
}

async function handlePresence(s: Session, id: number, channel: string): Promise<void> {
  requireChannel(channel);
  await s.node.hooks.presence({ client: s, channel });
  const presence = await s.node.presence(channel);
  s.sendReply({ id, kind: 'presence', result: { presence } });
}

async function handlePresenceStats(s: Session, id: number, channel: string): Promise<void> {
  requireChannel(channel);
  await s.node.hooks.presenceStats({ client: s, channel });
  const st = await s.node.presenceStats(channel);
  s.sendReply({ id, kind: 'presence_stats', result: { numClients: st.numClients, numUsers: st.numUsers } });
}

async function handleHistory(s: Session, id: number, req: HistoryRequest): Promise<void> {
  requireChannel(req.channel);
  const reply = await s.node.hooks.history({ client: s, channel: req.channel });
  const max = s.node.options.historyMaxPublicationLimit;
  let limit = req.limit ?? 0;
  if (max > 0 && (limit < 0 || limit > max)) limit = max;
  if (req.reverse === true && req.since !== undefined && req.since.offset === 0) throw errors.badRequest();
  const h = await s.node.history(req.channel, { since: req.since, limit, reverse: req.reverse === true }, reply.historyMetaTtlMs);
  if (req.since !== undefined && req.since.epoch !== '' && req.since.epoch !== h.position.epoch) throw errors.unrecoverablePosition();
  s.sendReply({ id, kind: 'history', result: { publications: h.publications, epoch: h.position.epoch, offset: h.position.offset } });
}

async function handleRpc(s: Session, id: number, req: RpcRequest): Promise<void> {
  const rpc = s.node.hooks.rpc;
  if (rpc === undefined) throw errors.notAvailable();
  const r = await rpc.call(s.node.hooks, { client: s, method: req.method ?? '', data: req.data });
  s.sendReply({ id, kind: 'rpc', result: r.data !== undefined ? { data: r.data } : {} });
}

async function handleRefresh(s: Session, id: number, token: string): Promise<void> {
  // Only connections that refresh their own token may send `refresh`.
  if (!s.clientSideRefresh || token === '') throw new DisconnectError(disconnects.badRequest);
  const r = await s.node.hooks.refreshing({ client: s, token });
  const nowSec = Math.floor(Date.now() / 1000);
  if (r.expireAt > 0 && r.expireAt <= nowSec) throw new DisconnectError(disconnects.expired);
  if (r.tokenChannels !== undefined && !sameChannels(s.tokenChannels, r.tokenChannels)) {
    throw new DisconnectError(disconnects.insufficientState);
  }
  s.applyRefresh(r.expireAt, r.info, r.meta);
  s.sendReply({
    id,
    kind: 'refresh',
    result: r.expireAt > 0 ? { expires: true, ttl: r.expireAt - nowSec } : {},
  });
}

async function handleSubRefresh(s: Session, id: number, req: SubRefreshRequest): Promise<void> {
  requireChannel(req.channel);
  const sub = s.subscription(req.channel);
  if (sub === undefined || !sub.live) throw errors.permissionDenied();
  if (!sub.clientSideRefresh) throw new DisconnectError(disconnects.badRequest);
  const token = req.token ?? '';
  if (token === '') throw errors.badRequest();
  const r = await s.node.hooks.subRefreshing({ client: s, channel: req.channel, token });
  const nowSec = Math.floor(Date.now() / 1000);
  if (r.expireAt > 0 && r.expireAt <= nowSec) throw errors.expired();
  sub.refreshed(r.expireAt, r.chanInfo);
  if (r.expireAt > 0) s.ensureTick();
  s.sendReply({ id, kind: 'sub_refresh', result: r.expireAt > 0 ? { expires: true, ttl: r.expireAt - nowSec } : {} });
}

function sameChannels(sorted: readonly string[], other: readonly string[]): boolean {
  if (sorted.length !== other.length) return false;
  const o = [...other].sort();
  return sorted.every((c, i) => c === o[i]);
}

export { ReplyError };
