/**
 * Centrifugo's policy as `NodeHooks`: JWT authentication, channel namespaces and the permission
 * decision order of spec §3.1 and §4.3. The node calls these; they throw ReplyError or
 * DisconnectError to reject.
 */
import {
  type ConnectTokenClaims, type ServerSubOptions, type SubscriptionTokenClaims, type TokenVerifier,
} from '../auth/verifier.js';
import { DisconnectError, disconnects, errors } from '../protocol/errors.js';
import type {
  ChannelEvent, ClientContext, ConnectEvent, ConnectReply, HistoryReply, NodeHooks, PublishEvent, PublishReply,
  RefreshEvent, RefreshReply, RpcEvent, RpcReply, SubRefreshEvent, SubRefreshReply, SubscribeEvent, SubscribeReply, SubscriptionOptions,
} from '../node/events.js';
import { checkDataFormat, type ChannelRules, type NamespaceOptions, type ResolvedChannel } from './channels.js';
import { buildSubscriptionOptions, NOTHING_ASKED, type Extras } from './subscription-options.js';
import { TokenRefusals, type TokenRefused } from './token-refusal.js';
import { dict } from '../util/dict.js';

export interface PolicyOptions {
  /** Where refused tokens are reported; absent: not reported. */
  tokenRefused?: TokenRefused;
  /** `client.insecure`: no auth, every permission check passes, token expiry ignored. */
  insecure: boolean;
  allowAnonymousConnectWithoutToken: boolean;
  disallowAnonymousConnectionTokens: boolean;
  /** `client.user_id_http_header`: trust this request header as the user ID ("" = off). */
  userIdHttpHeader: string;
  personalChannel: { enabled: boolean; namespace: string; singleConnection: boolean };
  rpcPing: { enabled: boolean; method: string };
}

/**
 * Who a connection is, once established: by a connection token's claims, or by code that
 * authenticates connections itself (`CentrifugoPolicy.connectReply`).
 */
export interface ConnectIdentity {
  /** User ID; `""`: anonymous. */
  user: string;
  /** Unix seconds; 0: the connection never expires. */
  expireAt: number;
  /**
   * true: the client refreshes the connection with a new token before `expireAt` (a token
   * connection). false: the server does (`NodeHooks.refreshExpired`), or it closes with 3005.
   */
  clientSideRefresh: boolean;
  /** Connection info (ClientInfo.conn_info in presence, join/leave and client publications). */
  info?: Uint8Array;
  /** Server-only connection metadata. */
  meta?: Uint8Array;
  /** Returned to the client in ConnectResult.data. */
  data?: Uint8Array;
  /** Server-side channels, each with options of its own (a token's `subs`); `channels` is then ignored. */
  subs?: Readonly<Record<string, ServerSubOptions>>;
  /** Server-side channels with their namespace's options. */
  channels?: readonly string[];
}

const ANONYMOUS: ConnectIdentity = { user: '', expireAt: 0, clientSideRefresh: true };

/** Closes other connections of a user (personal channel `single_connection`). */
export type DisconnectOthers = (user: string, keepClient: string) => void;

export class CentrifugoPolicy implements NodeHooks {
  rpc?: (e: RpcEvent) => Promise<RpcReply>;
  private readonly refusals: TokenRefusals;

  constructor(
    private rules: ChannelRules,
    private connectTokens: TokenVerifier,
    private subTokens: TokenVerifier,
    private readonly opts: PolicyOptions,
    private readonly disconnectOthers: DisconnectOthers,
  ) {
    this.refusals = new TokenRefusals(opts.tokenRefused);
    if (opts.rpcPing.enabled) {
      const method = opts.rpcPing.method;
      this.rpc = async (e: RpcEvent): Promise<RpcReply> => {
        if (e.method !== method) throw errors.methodNotFound();
        return {};
      };
    }
  }

  /** SIGHUP: swap channel rules and token verifiers; connections keep running. */
  reload(rules: ChannelRules, connectTokens: TokenVerifier, subTokens: TokenVerifier): void {
    this.rules = rules;
    this.connectTokens = connectTokens;
    this.subTokens = subTokens;
  }

  get channelRules(): ChannelRules {
    return this.rules;
  }

  /**
   * Synchronous when the token can be checked without waiting (HMAC, a cached verification): a
   * connect then runs to its reply in the event that delivered it, with no promise.
   */
  connecting(e: ConnectEvent): ConnectReply | Promise<ConnectReply> {
    if (e.token === '') return this.connectingWith(e, undefined);
    let claims: ConnectTokenClaims | Promise<ConnectTokenClaims>;
    try {
      claims = this.connectTokens.checkConnectToken(e.token);
    } catch (err) {
      throw this.refusals.of(err, 'connect', e.client.clientId);
    }
    if (!(claims instanceof Promise)) return this.connectingWith(e, claims);
    return claims.then(
      (c) => this.connectingWith(e, c),
      (err: unknown) => {
        throw this.refusals.of(err, 'connect', e.client.clientId);
      },
    );
  }

  /** `claims`: of the connection token, undefined when the connect carries none. */
  private connectingWith(e: ConnectEvent, claims: ConnectTokenClaims | undefined): ConnectReply {
    if (claims !== undefined) {
      if (claims.user === '' && this.opts.disallowAnonymousConnectionTokens) throw new DisconnectError(disconnects.permissionDenied);
      const id: ConnectIdentity = { user: claims.user, expireAt: this.opts.insecure ? 0 : claims.expireAt, clientSideRefresh: true, channels: claims.channels };
      if (claims.info !== undefined) id.info = claims.info;
      if (claims.meta !== undefined) id.meta = claims.meta;
      if (claims.subs !== undefined) id.subs = claims.subs;
      return this.replyFor(e, id, true);
    }
    if (this.opts.allowAnonymousConnectWithoutToken || this.opts.insecure) return this.replyFor(e, ANONYMOUS, true);
    const header = this.opts.userIdHttpHeader === '' ? '' : (e.headers.get(this.opts.userIdHttpHeader.toLowerCase()) ?? '');
    // The request's own headers only: an emulated header (connect `headers`) is the client's word.
    // Centrifugo honours the client's `subs` only for token and anonymous/insecure connections;
    // a user taken from `user_id_http_header` gets no client-listed subscriptions.
    if (header !== '') return this.replyFor(e, { user: header, expireAt: 0, clientSideRefresh: true }, false);
    // No credentials at all.
    throw new DisconnectError(disconnects.badRequest);
  }

  /**
   * The connect reply for a connection whose identity is already established by other means than
   * a token (an embedder's connecting hook, a connect proxy), built as a verified token's is: the
   * identity's server-side channels, the personal channel (`client.subscribe_to_user_personal_channel`;
   * with `single_connection` the user's other connections are closed), and the channels the client
   * lists in `connect.subs` (its server-side subscriptions before a reconnect, with their recovery
   * positions) that it could subscribe to anyway, unless `clientSubs` is false (a connect proxy's
   * identity: Centrifugo adds the client's `subs` only to token and anonymous connections).
   * Throws ReplyError 102 for an identity channel in an unknown namespace, DisconnectError 3501
   * for a client-listed one.
   */
  connectReply(e: ConnectEvent, id: ConnectIdentity, clientSubs = true): ConnectReply {
    return this.replyFor(e, id, clientSubs);
  }

  private replyFor(e: ConnectEvent, id: ConnectIdentity, processClientSubs: boolean): ConnectReply {
    const reply: ConnectReply = { user: id.user, expireAt: id.expireAt, subscriptions: dict(), clientSideRefresh: id.clientSideRefresh };
    if (id.info !== undefined) reply.info = id.info;
    if (id.meta !== undefined) reply.meta = id.meta;
    if (id.data !== undefined) reply.data = id.data;
    if (id.subs !== undefined) {
      for (const [ch, so] of Object.entries(id.subs)) reply.subscriptions[ch] = this.serverSideOptions(ch, so);
    } else {
      for (const ch of id.channels ?? []) reply.subscriptions[ch] = this.serverSideOptions(ch, {});
    }
    // What a refreshed credential's channels are compared with (3010 when they differ).
    if (id.clientSideRefresh) reply.tokenChannels = Object.keys(reply.subscriptions);

    const pc = this.opts.personalChannel;
    if (pc.enabled && reply.user !== '') {
      const ch = this.rules.personalChannel(reply.user, pc.namespace);
      if (reply.subscriptions[ch] === undefined) reply.subscriptions[ch] = this.serverSideOptions(ch, {});
      // Once this connect has succeeded, as Centrifugo's OnConnect does: a connect that fails
      // after this (a limit, a failed server-side subscription) leaves the others open.
      if (pc.singleConnection) {
        const user = reply.user;
        const keep = e.client.clientId;
        reply.onConnected = () => this.disconnectOthers(user, keep);
      }
    }

    // Channels the client lists in `subs` are honoured only where it could subscribe anyway.
    if (!processClientSubs) return reply;
    for (const ch of Object.keys(e.subs)) {
      if (reply.subscriptions[ch] !== undefined) continue;
      const opts = this.clientListedSub(ch, reply.user);
      if (opts !== undefined) reply.subscriptions[ch] = opts;
    }
    return reply;
  }

  private serverSideOptions(channel: string, so: ServerSubOptions): SubscriptionOptions {
    const r = this.rules.resolve(channel);
    return buildSubscriptionOptions(this.rules, r.options, NOTHING_ASKED, {
      chanInfo: so.info,
      data: so.data,
      override: so.override,
    });
  }

  /**
   * Options for a channel the client listed in `connect.subs`, or undefined to skip it silently
   * (private, subscribe or subscribe stream proxy, invalid name, not permitted). A channel in an unknown namespace is
   * not skipped: Centrifugo answers it with disconnect 3501 (bad request).
   */
  private clientListedSub(channel: string, user: string): SubscriptionOptions | undefined {
    if (channel === '') return undefined;
    let r: ResolvedChannel;
    try {
      r = this.rules.resolve(channel);
    } catch {
      throw new DisconnectError(disconnects.badRequest);
    }
    if (this.rules.isPrivate(channel)) return undefined;
    try {
      this.rules.validateName(r, channel, true);
    } catch {
      return undefined;
    }
    const ns = r.options;
    if (ns.subscribe_proxy_enabled || ns.subscribe_stream_proxy_enabled) return undefined;
    const userLimited = this.rules.isUserLimited(r, channel);
    const ok =
      (userLimited && this.rules.userAllowed(channel, user)) ||
      (!userLimited && ns.allow_subscribe_for_client && (user !== '' || ns.allow_subscribe_for_anonymous)) ||
      this.opts.insecure;
    return ok ? buildSubscriptionOptions(this.rules, ns, NOTHING_ASKED) : undefined;
  }

  async subscribing(e: SubscribeEvent): Promise<SubscribeReply> {
    const r = this.rules.resolve(e.channel);
    this.rules.validateName(r, e.channel, true);
    const ns = r.options;
    const asks = {
      positioned: e.positioned,
      recoverable: e.recoverable,
      joinLeave: e.joinLeave,
      // The connection is becoming a subscriber: `_for_subscriber` permissions count for it.
      historyAllowed: this.historyAllowed(e.client, e.channel, ns, true),
      presenceAllowed: this.presenceAllowed(e.client, e.channel, ns, true),
    };
    if (this.rules.isPrivate(e.channel) && e.token === '' && e.v1Signed === undefined) throw errors.permissionDenied();
    // A v1 client's checked private channel sign: the backend allowed it, as a token does.
    if (e.v1Signed !== undefined && e.token === '') {
      return { options: buildSubscriptionOptions(this.rules, ns, asks, { chanInfo: e.v1Signed.info }), clientSideRefresh: false };
    }
    if (e.token !== '') {
      let c: SubscriptionTokenClaims;
      try {
        c = await this.subTokens.verifySubscriptionToken(e.token);
      } catch (err) {
        throw this.refusals.of(err, 'subscribe', e.client.clientId, e.channel);
      }
      if (c.channel !== e.channel || c.user !== e.client.user || (c.client !== undefined && c.client !== '' && c.client !== e.client.clientId)) {
        throw this.refusals.mismatch(e.client.clientId, e.channel);
      }
      const options = buildSubscriptionOptions(this.rules, ns, asks, { chanInfo: c.info, data: c.data, override: c.override, expireAt: c.expireAt });
      return { options, clientSideRefresh: c.expireAt > 0 };
    }
    const user = e.client.user;
    const userLimited = this.rules.isUserLimited(r, e.channel);
    let allowed = false;
    if (userLimited && this.rules.userAllowed(e.channel, user)) allowed = true;
    // Proxied namespaces without their proxy (none configured): no subscription the backend never sees.
    else if (!userLimited && (ns.subscribe_proxy_enabled || ns.subscribe_stream_proxy_enabled)) throw errors.notAvailable();
    else if (!userLimited && ns.allow_subscribe_for_client && (user !== '' || ns.allow_subscribe_for_anonymous)) allowed = true;
    else if (this.opts.insecure) allowed = true;
    if (!allowed) throw errors.permissionDenied();
    return { options: buildSubscriptionOptions(this.rules, ns, asks), clientSideRefresh: false };
  }

  /**
   * Which proxy decides this subscription, or undefined when Rotor's rules do. A namespace with
   * `subscribe_stream_proxy_enabled` opens a stream (with its direction); one with
   * `subscribe_proxy_enabled` asks its subscribe proxy. Neither applies when the client brings a
   * subscription token, or the channel is user-limited (`#`) or private (`$`: without a token the
   * rules refuse it, 103), as Centrifugo does. One channel resolution and name check for both.
   * Throws for an unknown namespace (102) or a bad channel name.
   */
  subscribeProxy(e: SubscribeEvent): { kind: 'stream'; name: string; bidirectional: boolean } | { kind: 'subscribe'; name: string } | undefined {
    const r = this.rules.resolve(e.channel);
    this.rules.validateName(r, e.channel, true);
    const ns = r.options;
    if (!ns.subscribe_stream_proxy_enabled && !ns.subscribe_proxy_enabled) return undefined;
    if (e.token !== '' || this.rules.isUserLimited(r, e.channel) || this.rules.isPrivate(e.channel)) return undefined;
    if (ns.subscribe_stream_proxy_enabled) return { kind: 'stream', name: ns.subscribe_stream_proxy_name, bidirectional: ns.subscribe_stream_proxy_bidirectional };
    return { kind: 'subscribe', name: ns.subscribe_proxy_name };
  }

  /**
   * Options of a subscription a subscribe proxy allowed: the namespace's, with what the client asked
   * for and the proxy's channel info, data, expiry and overrides. `clientSideRefresh` is false when
   * the namespace refreshes subscriptions through its sub_refresh proxy.
   */
  proxiedSubscription(e: SubscribeEvent, extras: Extras): SubscribeReply {
    const ns = this.rules.resolve(e.channel).options;
    const asks = {
      positioned: e.positioned,
      recoverable: e.recoverable,
      joinLeave: e.joinLeave,
      historyAllowed: this.historyAllowed(e.client, e.channel, ns, true),
      presenceAllowed: this.presenceAllowed(e.client, e.channel, ns, true),
    };
    const expireAt = extras.expireAt ?? 0;
    return { options: buildSubscriptionOptions(this.rules, ns, asks, extras), clientSideRefresh: expireAt > 0 && !ns.sub_refresh_proxy_enabled };
  }

  /**
   * For a namespace with `publish_proxy_enabled`: the proxy's name and the publish options the
   * namespace gives (history, delta), after the channel name and data format checks; the proxy
   * then decides alone (`allow_publish_*` are not consulted). Undefined: Rotor's rules decide.
   */
  publishProxy(e: PublishEvent): { name: string; reply: PublishReply } | undefined {
    const r = this.rules.resolve(e.channel);
    const ns = r.options;
    if (!ns.publish_proxy_enabled) return undefined;
    this.rules.validateName(r, e.channel, false);
    checkDataFormat(this.rules.dataFormat(ns), e.data);
    const history = this.rules.historyRetention(ns);
    return { name: ns.publish_proxy_name, reply: { options: { ...(history !== undefined ? { history } : {}), useDelta: ns.delta_publish } } };
  }

  /** The sub_refresh proxy's name for a channel whose namespace has `sub_refresh_proxy_enabled`. */
  subRefreshProxyName(channel: string): string | undefined {
    let ns: NamespaceOptions;
    try {
      ns = this.rules.resolve(channel).options;
    } catch {
      return undefined;
    }
    return ns.sub_refresh_proxy_enabled ? ns.sub_refresh_proxy_name : undefined;
  }

  async publishing(e: PublishEvent): Promise<PublishReply> {
    const r = this.rules.resolve(e.channel);
    this.rules.validateName(r, e.channel, false);
    const ns = r.options;
    checkDataFormat(this.rules.dataFormat(ns), e.data);
    if (ns.publish_proxy_enabled) throw errors.notAvailable();
    const anonOk = e.client.user !== '' || ns.allow_publish_for_anonymous;
    const allowed =
      (ns.allow_publish_for_client && anonOk) || (ns.allow_publish_for_subscriber && anonOk && e.client.isSubscribed(e.channel)) || this.opts.insecure;
    if (!allowed) throw errors.permissionDenied();
    const history = this.rules.historyRetention(ns);
    return { options: { ...(history !== undefined ? { history } : {}), useDelta: ns.delta_publish } };
  }

  async history(e: ChannelEvent): Promise<HistoryReply> {
    const r = this.rules.resolve(e.channel);
    this.rules.validateName(r, e.channel, false);
    if (this.rules.historyRetention(r.options) === undefined) throw errors.notAvailable();
    if (!this.historyAllowed(e.client, e.channel, r.options)) throw errors.permissionDenied();
    return { historyMetaTtlMs: this.rules.metaTtlMs(r.options) };
  }

  async presence(e: ChannelEvent): Promise<void> {
    const r = this.rules.resolve(e.channel);
    this.rules.validateName(r, e.channel, false);
    if (!r.options.presence) throw errors.notAvailable();
    if (!this.presenceAllowed(e.client, e.channel, r.options)) throw errors.permissionDenied();
  }

  presenceStats(e: ChannelEvent): Promise<void> {
    return this.presence(e);
  }

  async refreshing(e: RefreshEvent): Promise<RefreshReply> {
    let claims;
    try {
      claims = await this.connectTokens.verifyConnectToken(e.token);
    } catch (err) {
      throw this.refusals.of(err, 'refresh', e.client.clientId);
    }
    if (claims.user !== e.client.user) throw this.refusals.otherUser(e.client.clientId);
    const out: RefreshReply = {
      expireAt: this.opts.insecure ? 0 : claims.expireAt,
      tokenChannels: claims.subs !== undefined ? Object.keys(claims.subs) : claims.channels,
    };
    if (claims.info !== undefined) out.info = claims.info;
    if (claims.meta !== undefined) out.meta = claims.meta;
    return out;
  }

  async subRefreshing(e: SubRefreshEvent): Promise<SubRefreshReply> {
    let c;
    try {
      c = await this.subTokens.verifySubscriptionToken(e.token);
    } catch (err) {
      throw this.refusals.of(err, 'sub_refresh', e.client.clientId, e.channel);
    }
    if (c.channel !== e.channel || c.user !== e.client.user || (c.client !== undefined && c.client !== '' && c.client !== e.client.clientId)) {
      throw this.refusals.mismatch(e.client.clientId, e.channel);
    }
    const out: SubRefreshReply = { expireAt: c.expireAt };
    if (c.info !== undefined) out.chanInfo = c.info;
    return out;
  }

  private historyAllowed(c: ClientContext, channel: string, ns: NamespaceOptions, subscribing = false): boolean {
    const anonOk = c.user !== '' || ns.allow_history_for_anonymous;
    const subscriber = subscribing || c.isSubscribed(channel);
    return (ns.allow_history_for_client && anonOk) || (ns.allow_history_for_subscriber && anonOk && subscriber) || this.opts.insecure;
  }

  private presenceAllowed(c: ClientContext, channel: string, ns: NamespaceOptions, subscribing = false): boolean {
    const anonOk = c.user !== '' || ns.allow_presence_for_anonymous;
    const subscriber = subscribing || c.isSubscribed(channel);
    return (ns.allow_presence_for_client && anonOk) || (ns.allow_presence_for_subscriber && anonOk && subscriber) || this.opts.insecure;
  }
}


