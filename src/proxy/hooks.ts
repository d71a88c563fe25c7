/**
 * The proxy layer: `NodeHooks` over Rotor's policy that hand connect, refresh, subscribe, publish,
 * sub_refresh and RPC decisions to the application backend where the config says so, and act on
 * the answer as Centrifugo v6.9 does (spec §3.1, §3.6–3.10; centrifugo-v6-notes §6):
 *
 * - connect: only for a connect without a token (a token skips the proxy). A result is the
 *   connection's identity, its server-side channels those of `channels` and `subs` together
 *   (the client's own `connect.subs` are not added, as for a token they would be); no result
 *   means no credentials (anonymous when allowed, else 3501).
 * - refresh (server-side, at expiry): with a refresh proxy every connection, token ones too, is
 *   refreshed by the server (Centrifugo's `ClientSideRefresh: !refreshProxyEnabled`), so a
 *   client's `refresh` command is 3501. A result extends or expires the connection; no result,
 *   and an error or disconnect answer (a status transform), expire it (3005); a failed call
 *   extends it by 60 s and asks again then.
 * - subscribe: unless the client brings a subscription token, the channel is user-limited, or it
 *   is private (`$`, which needs a token: 103). A result may set channel info, data, expiry and
 *   overrides; no result allows the subscription with the namespace's options. In a namespace
 *   with a sub_refresh proxy every subscription, token ones too, is refreshed by the server.
 * - publish: the proxy decides alone; a result may replace the data and set history, tags,
 *   idempotency, delta and version; no result publishes the client's data.
 * - sub_refresh: as refresh, for a subscription (expired: unsubscribe 2501, or 3006 server-side).
 * - subscribe_stream: in the subscribe proxy's cases, a gRPC stream per subscriber whose first
 *   message decides as a subscribe answer does; the stream then rides on the subscription
 *   (`SubscribeReply.stream`, docs/proxies.md "Subscribe streams").
 * - rpc: by method namespace (`rpc.namespaces`, `rpc.without_namespace`); `rpc.ping` first. A
 *   namespace without a proxy is 108, an unknown namespace 104.
 *
 * An error or disconnect answer reaches the client as it is (connect, subscribe, publish, RPC). A
 * failed call (down, slow past `timeout`, non-200 without a transform, garbage, a `b64*` field
 * that is not base64) is logged with the proxy's name and is error 100 (temporary) for the
 * client, which its SDK retries. A backend that is down fails every call, and each client's SDK
 * retries, so these lines are rate-limited (util/rate-log.ts): one per proxy, method and kind of
 * failure every 10 s at `error`, the next one carrying `suppressed`, every repeat at `debug`.
 */
import { DelegatingHooks } from '../node/delegating-hooks.js';
import type {
  ChannelEvent, ConnectEvent, ConnectReply, ExpiredEvent, ExpiredRefreshReply, PublishEvent, PublishReply, RpcEvent, RpcReply,
  SubExpiredRefreshReply, SubscribeEvent, SubscribeReply,
} from '../node/events.js';
import { DisconnectError, ReplyError, errors } from '../protocol/errors.js';
import type { CentrifugoPolicy, ConnectIdentity } from '../rules/hooks.js';
import type { ServerSubOptions } from '../auth/verifier.js';
import type { Logger } from '../util/logger.js';
import { RateLimitedLog } from '../util/rate-log.js';
import { messageOf } from '../util/message-of.js';
import {
  forwardedHeaders, keepHeaders, requestBase, resultBytes, setPayload, userRequestBase, type HeaderNeeds, type ProxyEntry,
} from './requests.js';
import {
  ProxyCallError, type ConnectProxyRequest, type ConnectProxyResult, type ProxyAnswer, type ProxyMethod, type ProxyRequests, type ProxyResults,
  type SubscribeProxyResult,
} from './types.js';
import { ProxiedSubscriptionStream } from './stream-subscription.js';
import { RpcRouter } from './rpc-router.js';
import { dict } from '../util/dict.js';

/** A refresh that failed on the proxy's side extends the connection or subscription this long, s. */
export const FAILED_REFRESH_EXTENSION_S = 60;

export type ChannelProxyKind = 'subscribe' | 'publish' | 'sub_refresh' | 'subscribe_stream';

export interface ProxySetup {
  /** `client.proxy.connect` when enabled. */
  connect?: ProxyEntry;
  /** `client.proxy.refresh` when enabled. */
  refresh?: ProxyEntry;
  /** The proxy a namespace names for `kind`: `default` is `channel.proxy.<kind>`, else a `proxies[]` entry. */
  channel(kind: ChannelProxyKind, name: string): ProxyEntry | undefined;
  rpc: RpcRouter;
  /** Header names some proxy forwards: kept by every connection. */
  headerNeeds: HeaderNeeds;
  /** `rpc.ping`: answered before any proxy. */
  ping: { enabled: boolean; method: string };
}

export class ProxyHooks extends DelegatingHooks<CentrifugoPolicy> {
  readonly rpc?: (e: RpcEvent) => Promise<RpcReply>;
  readonly refreshExpired?: (e: ExpiredEvent) => Promise<ExpiredRefreshReply>;
  readonly subRefreshExpired?: (e: ChannelEvent) => Promise<SubExpiredRefreshReply>;
  readonly #keeps: boolean;
  readonly #failures: RateLimitedLog;

  constructor(
    policy: CentrifugoPolicy,
    private readonly setup: ProxySetup,
    private readonly log: Logger,
  ) {
    super(policy);
    this.#failures = new RateLimitedLog(log);
    const n = setup.headerNeeds;
    this.#keeps = n.request.size + n.emulated.size + n.metadata.size > 0;
    if (setup.rpc.anyProxy) this.rpc = (e) => this.proxyRpc(e);
    else if (policy.rpc !== undefined) this.rpc = policy.rpc;
    if (setup.refresh !== undefined) {
      const refresh = setup.refresh;
      this.refreshExpired = (e) => this.proxyRefresh(refresh, e);
    }
    this.subRefreshExpired = (e) => this.proxySubRefresh(e);
  }

  override connecting(e: ConnectEvent): ConnectReply | Promise<ConnectReply> {
    const reply = this.setup.connect === undefined || e.token !== '' ? this.keep(this.base.connecting(e), e) : this.proxyConnect(this.setup.connect, e);
    if (this.setup.refresh === undefined) return reply;
    return reply instanceof Promise ? reply.then(refreshedByServer) : refreshedByServer(reply);
  }

  override async subscribing(e: SubscribeEvent): Promise<SubscribeReply> {
    const route = this.base.subscribeProxy(e);
    if (route?.kind === 'stream') return this.proxyStream(e, route.name, route.bidirectional);
    const name = route?.name;
    if (name === undefined) {
      const reply = await this.base.subscribing(e);
      // A sub_refresh proxy refreshes every subscription of its namespace, token ones too.
      if (reply.clientSideRefresh && this.base.subRefreshProxyName(e.channel) !== undefined) reply.clientSideRefresh = false;
      return reply;
    }
    const p = this.channelProxy('subscribe', name);
    const req: ProxyRequests['subscribe'] = { ...userRequestBase(e.client, p), channel: e.channel, token: e.token };
    setPayload(req, e.data, p);
    const extras = await this.ask(p, 'subscribe', req, forwardedHeaders(p, e.client.keptHeaders), subscribeExtras);
    return this.base.proxiedSubscription(e, extras);
  }

  /**
   * A subscribe stream: the backend's first answer decides as a subscribe proxy's would, and the
   * stream then rides on the subscription (closed with it). Failing to open it, or no answer
   * within `timeout`, is error 100 (temporary).
   */
  private async proxyStream(e: SubscribeEvent, name: string, bidirectional: boolean): Promise<SubscribeReply> {
    const p = this.channelProxy('subscribe_stream', name);
    const log = { proxy: p.caller.name, method: 'subscribe_stream', client: e.client.clientId, channel: e.channel };
    if (p.caller.openSubscribeStream === undefined) {
      // Config checks refuse a stream proxy that is not grpc://.
      this.logFailure(log, `subscribe stream proxy ${p.caller.name} is not a gRPC proxy`);
      throw errors.notAvailable();
    }
    const req: ProxyRequests['subscribe'] = { ...userRequestBase(e.client, p), channel: e.channel, token: e.token };
    setPayload(req, e.data, p);
    let stream: ProxiedSubscriptionStream;
    try {
      const backend = p.caller.openSubscribeStream(req, forwardedHeaders(p, e.client.keptHeaders), bidirectional);
      stream = new ProxiedSubscriptionStream(backend, (err) => {
        if (err === undefined) this.log.debug(log, 'subscribe stream finished by the backend');
        // A backend that goes away breaks all its streams at once.
        else this.#failures.write('warn', `subscribe stream ${p.caller.name} broke`, log, `subscribe stream ${p.caller.name} broke: ${err.message}`);
      });
    } catch (err) {
      this.logFailure(log, `subscribe stream ${p.caller.name} failed to open: ${messageOf(err)}`);
      throw errors.internal();
    }
    let answer: ProxyAnswer<SubscribeProxyResult>;
    try {
      answer = await stream.answer;
    } catch (err) {
      this.logFailure(log, `subscribe stream ${p.caller.name} failed: ${messageOf(err)}`);
      throw errors.internal();
    }
    try {
      const reply = this.base.proxiedSubscription(e, subscribeExtras(answer));
      reply.stream = stream;
      return reply;
    } catch (err) {
      stream.close();
      throw err;
    }
  }

  override async publishing(e: PublishEvent): Promise<PublishReply> {
    const proxied = this.base.publishProxy(e);
    if (proxied === undefined) return this.base.publishing(e);
    const p = this.channelProxy('publish', proxied.name);
    const req: ProxyRequests['publish'] = { ...userRequestBase(e.client, p), channel: e.channel };
    setPayload(req, e.data, p);
    return this.ask(p, 'publish', req, forwardedHeaders(p, e.client.keptHeaders), (a) => {
      const r = decided(a);
      const reply = proxied.reply;
      // No result: the client's data is published with the namespace's options.
      if (r === undefined) return reply;
      const data = resultBytes(r.data);
      if (data !== undefined) reply.data = data;
      const o = reply.options;
      if (r.skipHistory) delete o.history;
      if (r.tags !== undefined) o.tags = r.tags;
      if (r.idempotencyKey !== '') o.idempotencyKey = r.idempotencyKey;
      if (r.delta) o.useDelta = true;
      if (r.version > 0) {
        o.version = r.version;
        o.versionEpoch = r.versionEpoch;
      }
      return reply;
    });
  }

  private async proxyConnect(p: ProxyEntry, e: ConnectEvent): Promise<ConnectReply> {
    const req: ConnectProxyRequest = { ...requestBase(e.client, p), name: e.name, version: e.version, channels: Object.keys(e.subs) };
    setPayload(req, e.data, p);
    // Reading `e.headers` builds the request's header map: only when some proxy forwards headers.
    const kept = this.#keeps ? keepHeaders(this.setup.headerNeeds, e.headers, e.emulatedHeaders, e.metadata) : undefined;
    const id = await this.ask(p, 'connect', req, forwardedHeaders(p, kept), (a) => {
      const r = decided(a);
      return r === undefined ? undefined : connectIdentity(r, this.setup.refresh === undefined);
    });
    // No result: no credentials, so Rotor's rules decide (anonymous when allowed, else 3501).
    if (id === undefined) return this.keep(this.base.connecting(e), e);
    // The proxy's channels only: Centrifugo honours a client's `connect.subs` for token and
    // anonymous connections, not for ones the backend authenticated.
    const reply = this.base.connectReply(e, id, false);
    if (kept !== undefined) reply.keptHeaders = kept;
    return reply;
  }

  private proxyRefresh(p: ProxyEntry, e: ExpiredEvent): Promise<ExpiredRefreshReply> {
    return this.ask<'refresh', ExpiredRefreshReply>(
      p,
      'refresh',
      userRequestBase(e.client, p),
      forwardedHeaders(p, e.client.keptHeaders),
      (a): ExpiredRefreshReply => {
        // Refresh reads the result only: an error or disconnect answer (a status transform) expires it.
        const r = a.kind === 'result' ? a.result : undefined;
        if (r === undefined || r.expired) return { expired: true };
        const out: ExpiredRefreshReply = { expireAt: r.expireAt };
        const info = resultBytes(r.info);
        const meta = resultBytes(r.meta);
        if (info !== undefined) out.info = info;
        if (meta !== undefined) out.meta = meta;
        return out;
      },
      () => ({ expireAt: nowSec() + FAILED_REFRESH_EXTENSION_S }),
    );
  }

  private async proxySubRefresh(e: ChannelEvent): Promise<SubExpiredRefreshReply> {
    const name = this.base.subRefreshProxyName(e.channel);
    const p = name !== undefined ? this.setup.channel('sub_refresh', name) : undefined;
    if (p === undefined) return { expired: true };
    return this.ask<'sub_refresh', SubExpiredRefreshReply>(
      p,
      'sub_refresh',
      { ...userRequestBase(e.client, p), channel: e.channel },
      forwardedHeaders(p, e.client.keptHeaders),
      (a): SubExpiredRefreshReply => {
        const r = a.kind === 'result' ? a.result : undefined;
        if (r === undefined || r.expired) return { expired: true };
        const out: SubExpiredRefreshReply = { expireAt: r.expireAt };
        const info = resultBytes(r.info);
        if (info !== undefined) out.info = info;
        return out;
      },
      () => ({ expireAt: nowSec() + FAILED_REFRESH_EXTENSION_S }),
    );
  }

  private async proxyRpc(e: RpcEvent): Promise<RpcReply> {
    const ping = this.setup.ping;
    if (ping.enabled && e.method === ping.method) return {};
    const route = this.setup.rpc.route(e.method);
    if (route.kind === 'unknown_namespace') throw errors.methodNotFound();
    const p = route.kind === 'proxy' ? this.setup.rpc.entry(route.name) : undefined;
    if (p === undefined) throw errors.notAvailable();
    const req: ProxyRequests['rpc'] = { ...userRequestBase(e.client, p), method: e.method };
    setPayload(req, e.data, p);
    return this.ask(p, 'rpc', req, forwardedHeaders(p, e.client.keptHeaders), (a): RpcReply => {
      const r = decided(a);
      const data = r !== undefined ? resultBytes(r.data) : undefined;
      return data !== undefined ? { data } : {};
    });
  }

  private channelProxy(kind: ChannelProxyKind, name: string): ProxyEntry {
    const p = this.setup.channel(kind, name);
    // Config checks refuse a namespace naming a proxy that does not exist; this is a reload's gap.
    if (p === undefined) throw errors.notAvailable();
    return p;
  }

  /**
   * Calls the backend and reads its answer with `use`. A failed call, or an answer `use` finds
   * bad (a ProxyCallError), is logged with the proxy's name and becomes `failed()`: error 100
   * (temporary) unless given. What `use` throws otherwise (the answer's error or disconnect, a
   * policy error) goes to the client as it is.
   */
  private async ask<M extends ProxyMethod, T>(
    p: ProxyEntry,
    method: M,
    req: ProxyRequests[M],
    headers: ReadonlyMap<string, string>,
    use: (a: ProxyAnswer<ProxyResults[M]>) => T,
    failed: () => T = () => {
      throw errors.internal();
    },
  ): Promise<T> {
    let why: unknown;
    try {
      return use(await p.caller.call(method, req, headers));
    } catch (err) {
      if (err instanceof ReplyError || err instanceof DisconnectError) throw err;
      why = err;
    }
    const status = why instanceof ProxyCallError && why.status !== undefined ? { status: why.status } : {};
    const channel = 'channel' in req ? { channel: req.channel } : {};
    this.logFailure({ proxy: p.caller.name, method, client: req.client, ...channel, ...status }, `${method} proxy ${p.caller.name} failed: ${messageOf(why)}`);
    return failed();
  }

  /**
   * Logs a failed call, rate-limited by proxy, method and kind of failure: the message up to its
   * second colon (`rpc proxy rpc.proxy failed: request failed`, `... failed: no answer within
   * 200 ms`), so a new kind of failure is written at once, and the keys stay few (the addresses,
   * positions and details after it vary).
   */
  private logFailure(fields: { proxy: string; method: string; status?: number; [k: string]: unknown }, msg: string): void {
    const first = msg.indexOf(': ');
    const second = first < 0 ? -1 : msg.indexOf(':', first + 2);
    const kind = second < 0 ? msg : msg.slice(0, second);
    this.#failures.write('error', fields.status === undefined || kind.endsWith(String(fields.status)) ? kind : `${kind} ${fields.status}`, fields, msg);
  }

  /** Keeps the headers proxies forward on a connection Rotor's rules accepted (a token, anonymous). */
  private keep(reply: ConnectReply | Promise<ConnectReply>, e: ConnectEvent): ConnectReply | Promise<ConnectReply> {
    if (!this.#keeps) return reply;
    const add = (r: ConnectReply): ConnectReply => {
      const kept = keepHeaders(this.setup.headerNeeds, e.headers, e.emulatedHeaders, e.metadata);
      if (kept !== undefined) r.keptHeaders = kept;
      return r;
    };
    return reply instanceof Promise ? reply.then(add) : add(reply);
  }
}

/** With a refresh proxy the server refreshes every connection (the client never sends `refresh`). */
function refreshedByServer(r: ConnectReply): ConnectReply {
  r.clientSideRefresh = false;
  delete r.tokenChannels;
  return r;
}

/**
 * The identity a connect result gives: user, expiry, info, data, meta, and server-side channels
 * from `channels` (namespace options) and `subs` (options of their own) together, as Centrifugo
 * adds both; a channel in both takes its `subs` options.
 */
function connectIdentity(r: ConnectProxyResult, clientSideRefresh: boolean): ConnectIdentity {
  const id: ConnectIdentity = { user: r.user, expireAt: r.expireAt, clientSideRefresh };
  const info = resultBytes(r.info);
  const meta = resultBytes(r.meta);
  const data = resultBytes(r.data);
  if (info !== undefined) id.info = info;
  if (meta !== undefined) id.meta = meta;
  if (data !== undefined) id.data = data;
  const subs = dict<ServerSubOptions>();
  for (const ch of r.channels) subs[ch] = {};
  for (const [ch, so] of Object.entries(r.subs ?? {})) {
    const sub: ServerSubOptions = {};
    const si = resultBytes(so.info);
    const sd = resultBytes(so.data);
    if (si !== undefined) sub.info = si;
    if (sd !== undefined) sub.data = sd;
    if (so.override !== undefined) sub.override = so.override;
    subs[ch] = sub;
  }
  id.subs = subs;
  return id;
}

/** What a subscribe answer adds to the namespace's options; an error or disconnect answer is thrown. */
function subscribeExtras(a: ProxyAnswer<SubscribeProxyResult>): Parameters<CentrifugoPolicy['proxiedSubscription']>[1] {
  const r = decided(a);
  const out: Parameters<CentrifugoPolicy['proxiedSubscription']>[1] = {};
  if (r === undefined) return out;
  out.expireAt = r.expireAt;
  const info = resultBytes(r.info);
  const data = resultBytes(r.data);
  if (info !== undefined) out.chanInfo = info;
  if (data !== undefined) out.data = data;
  if (r.override !== undefined) out.override = r.override;
  return out;
}

/** The result of an answer; an error or disconnect answer is thrown as the client's error or disconnect. */
function decided<R>(a: ProxyAnswer<R>): R | undefined {
  if (a.kind === 'result') return a.result;
  if (a.kind === 'error') throw new ReplyError(a.code, a.message, a.temporary);
  throw new DisconnectError({ code: a.code, reason: closeReason(a.reason) });
}

/** A close frame's reason holds at most 123 bytes; a longer one is cut at a character boundary. */
function closeReason(reason: string): string {
  if (Buffer.byteLength(reason) <= 123) return reason;
  let out = reason.slice(0, 123);
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
  return out;
}

function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}
