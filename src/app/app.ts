/**
 * The composition root: the only module that knows every other one. It turns the loaded config
 * into small option objects, builds the engine, the policy, the node, the transports and the HTTP
 * listeners, and owns start, stop and reload.
 */
import { v1Verifier } from '../auth/v1-sign.js';
import { hostname } from 'node:os';
import type { Config } from '../config/schema.js';
import { hasSeparateInternalPort } from '../config/checks.js';
import type { NodeMetrics } from '../node/metrics.js';
import { createEngine, type EngineParts } from './engine.js';
import { attachTo, type EmbedderServer } from './attach.js';
import { callApi, type ApiObject } from './api-calls.js';
import type { ApiContext } from '../api/methods.js';
import type { NodeHooks } from '../node/events.js';
import { Node, type NodeOptions } from '../node/node.js';
import { TokenVerifier } from '../auth/verifier.js';
import { ChannelRules } from '../rules/channels.js';
import { CentrifugoPolicy } from '../rules/hooks.js';
import { ApiHttpHandler } from '../api/http.js';
import { HttpListener } from '../http/server.js';
import { inboundLimits } from '../transport/shared/ws-limits.js';
import { mountTransports, type MountedTransports } from './transports.js';
import type { Logger } from '../util/logger.js';
import { disconnects } from '../protocol/errors.js';
import { uniDisconnectMapper } from './uni-disconnect.js';
import { tokenVerifierOptions } from './token-options.js';
import { listenerTls } from './tls-options.js';
import { VERSION } from './version.js';
import { buildProxyLayer, type ProxyLayer } from './proxies.js';
import { createGrpcApi } from './grpc-api.js';
import { createUniGrpc } from './uni-grpc.js';
import { LifecycleWiring } from './lifecycle.js';
import type { SideServer } from './side-server.js';
import { createPrometheus, mountObservability } from './observability.js';
import { AdminHttpHandler } from '../admin/http.js';
import { AdminV1Socket } from '../admin/v1-socket.js';
import { builtConsoleDir, mountConsole } from '../admin/ui.js';
import { mountSwagger } from './swagger.js';
import type { PrometheusMetrics } from '../metrics/prometheus.js';
import { messageOf } from '../util/message-of.js';
import { tokenRefusedLog } from './token-log.js';

/** Largest server API request body, bytes. Centrifugo has no limit; Rotor caps it at 10 MiB. */
export const API_MAX_BODY_SIZE = 10 * 1024 * 1024;
/** `client.max_messages_in_frame: 0` means this (Centrifugo's default). */
const DEFAULT_MAX_MESSAGES_IN_FRAME = 16;
/** What `client.channel_limit: 0` and `client.queue_max_size: 0` mean, as Centrifugo's node does. */
const DEFAULT_CHANNEL_LIMIT = 128;
const DEFAULT_QUEUE_MAX_SIZE = 1_048_576;

/** Parts an embedder or a test may supply instead of the ones the config would make. */
export interface AppParts {
  /**
   * Replaces the engine `engine.type` names (a broker with injected delays, say, or one engine
   * shared by several nodes in one process). The node closes it at stop, as its own.
   */
  engine?: EngineParts;
  /** What the node counts at each event (see node/metrics.ts); nothing by default. */
  metrics?: NodeMetrics;
  /** Puts hooks of the embedder's around Rotor's policy (see embed-hooks.ts); the policy alone by default. */
  policy?: (rotor: CentrifugoPolicy) => NodeHooks;
  /**
   * The embedder's server: the external listener's routes (client transports, and the API and
   * health when they are on it) are served on it (see attach.ts) instead of on a listener of
   * Rotor's own at `http_server.port`. The server does its own TLS.
   */
  server?: EmbedderServer;
}

export interface AppAddress {
  /** Port of the external listener (clients). */
  port: number;
  /** Port of the internal listener (API, health) — the same as `port` without `internal_port`. */
  internalPort: number;
  /** Port of the gRPC server API, with `grpc_api.enabled`. */
  grpcApiPort?: number;
  /** Port of the uni_grpc transport, with `uni_grpc.enabled`. */
  uniGrpcPort?: number;
}

export class App {
  readonly node: Node;
  private readonly policy: CentrifugoPolicy;
  private readonly external: HttpListener;
  private readonly internal: HttpListener | undefined;
  private readonly transports: MountedTransports;
  /** Centrifugo v1's admin websocket (`admin.v1_socket`). */
  private adminSocket: AdminV1Socket | undefined;
  private readonly apiContext: ApiContext;
  /** With `AppParts.server`: that server and the listener whose routes go on it. */
  private readonly attached: { server: EmbedderServer; listener: HttpListener } | undefined;
  /** Takes the routes off the embedder's server; set while attached. */
  private detach: (() => void) | undefined;
  private verifiers: TokenVerifier[];
  private readonly proxies: ProxyLayer;
  private readonly lifecycle: LifecycleWiring;
  private readonly grpcApi: SideServer | undefined;
  private readonly uniGrpc: SideServer | undefined;
  private readonly prometheus: PrometheusMetrics | undefined;
  private stopped = false;
  private apiQueue: import('../engine/redis/api-queue.js').RedisApiQueue | undefined;

  /**
   * Builds the server: loads the engine `config` names (see engine.ts; only that engine's module is
   * imported) unless `parts.engine` gives one, then everything else. Nothing listens or runs until
   * {@link start}. Rejects on settings that cannot work (a TLS file that does not load, an engine
   * not implemented), naming the option; an engine it loaded itself is closed again then.
   */
  static async create(config: Readonly<Config>, log: Logger, parts: AppParts = {}): Promise<App> {
    // Made before the engine, which reports into it.
    const prometheus = createPrometheus(config);
    const engine = parts.engine ?? (await createEngine(config, log, { redisPubSubError: (e) => prometheus?.redisPubSubError(e) }));
    try {
      return new App(config, log, engine, parts, prometheus);
    } catch (err) {
      if (parts.engine === undefined) await Promise.allSettled([engine.broker.close(), engine.presence.close()]);
      throw err;
    }
  }

  private constructor(
    private config: Readonly<Config>,
    readonly log: Logger,
    engine: EngineParts,
    parts: AppParts,
    prometheus: PrometheusMetrics | undefined,
  ) {
    const c = config.client;
    const rules = new ChannelRules(config.channel);
    const [connTokens, subTokens] = this.buildVerifiers(config);
    this.verifiers = [connTokens, subTokens];
    this.policy = new CentrifugoPolicy(
      rules,
      connTokens,
      subTokens,
      {
        tokenRefused: tokenRefusedLog(log),
        insecure: c.insecure,
        allowAnonymousConnectWithoutToken: c.allow_anonymous_connect_without_token,
        disallowAnonymousConnectionTokens: c.disallow_anonymous_connection_tokens,
        userIdHttpHeader: c.user_id_http_header,
        personalChannel: {
          enabled: c.subscribe_to_user_personal_channel.enabled,
          namespace: c.subscribe_to_user_personal_channel.personal_channel_namespace,
          singleConnection: c.subscribe_to_user_personal_channel.single_connection,
        },
        rpcPing: { enabled: config.rpc.ping.enabled, method: config.rpc.ping.method },
      },
      // On every node; a broker that cannot carry it to the others is logged, not fatal to the connect.
      (user, keep) => {
        this.node.disconnectUser({ user }, disconnects.connectionLimit, [keep]).catch((err: unknown) => log.error({ err, user }, 'could not disconnect the user on other nodes'));
      },
    );
    this.proxies = buildProxyLayer(config, this.policy, log, prometheus);
    const hooks = parts.policy !== undefined ? parts.policy(this.policy) : this.proxies.hooks;
    this.lifecycle = LifecycleWiring.create(config, log, engine);
    prometheus?.countLifecycle(() => this.lifecycle.notifierCounts());
    this.node = new Node(
      // v1 signatures are checked with the secret of the config in force (SIGHUP replaces it).
      { ...nodeOptions(config, () => this.config.client.token.hmac_secret_key), ...this.lifecycle.nodeOptions, ...metricsOption(parts.metrics ?? prometheus) },
      engine.broker,
      engine.presence,
      hooks,
      log,
    );
    prometheus?.attach(this.node, config.node.info_metrics_aggregate_interval);
    this.prometheus = prometheus;
    this.apiContext = { node: this.node, rules: () => this.policy.channelRules, ...metricsOption(prometheus) };
    this.grpcApi = createGrpcApi(config, this.apiContext, log);
    this.uniGrpc = createUniGrpc(config, this.node, log);

    const tls = listenerTls(config);
    if (parts.server !== undefined) {
      if (tls.external !== undefined) throw new Error('http_server.tls: Rotor is attached to a server of yours, which does its own TLS; leave http_server.tls off');
      this.attached = { server: parts.server, listener: new HttpListener(log, undefined, API_MAX_BODY_SIZE) };
    }
    this.external = this.attached?.listener ?? new HttpListener(log, tls.external, API_MAX_BODY_SIZE);
    this.internal = hasSeparateInternalPort(config.http_server) ? new HttpListener(log, tls.internal, API_MAX_BODY_SIZE) : undefined;
    const internal = this.internal ?? this.external;

    this.transports = mountTransports(config, this.node, this.external);

    if (!config.http_api.disabled) {
      const a = config.http_api;
      const api = new ApiHttpHandler(
        this.apiContext,
        {
          key: a.key,
          insecure: a.insecure,
          errorMode: a.error_mode,
          maxBodySize: API_MAX_BODY_SIZE,
          prefix: a.handler_prefix,
          ...(a.v1_format ? { v1: { secret: config.client.token.hmac_secret_key } } : {}),
        },
      );
      (a.external ? this.external : internal).route(a.handler_prefix, (req, res, path) => api.handle(req, res, path), true);
    }
    if (config.admin.enabled) {
      const a = config.admin;
      const admin = new AdminHttpHandler(this.apiContext, { password: a.password, secret: a.secret, insecure: a.insecure });
      const base = `${a.handler_prefix.replace(/\/+$/, '')}/admin`;
      const listener = a.external ? this.external : internal;
      listener.route(base, (req, res, path) => admin.handle(req, res, path.slice(base.length + 1)), true);
      mountConsole(listener, a.handler_prefix, a.web_path !== '' ? a.web_path : builtConsoleDir(), a.web_path !== '' ? 'admin.web_path' : 'admin.enabled');
      if (a.v1_socket) {
        const prefix = a.handler_prefix.replace(/\/+$/, '');
        const sock = new AdminV1Socket(this.apiContext, {
          tokenValid: (t) => admin.tokenValid(t),
          info: () => ({ name: this.node.options.name, version: VERSION, engine: config.engine.type, insecure: config.client.insecure, insecure_api: config.http_api.insecure, insecure_admin: a.insecure }),
        });
        this.adminSocket = sock;
        this.node.onPublished = (channel, data, opts) => sock.published(channel, data, opts);
        listener.upgrade(`${prefix}/socket`, (req, socket, head) => sock.handleUpgrade(req, socket, head));
        for (const path of [`${prefix}/auth`, `${prefix}/auth/`]) listener.route(path, (req, res) => admin.handle(req, res, 'auth'));
      }
    }
    // Swagger's "Try it out" posts to the API on the page's own origin, so it goes where the API is.
    if (config.swagger.enabled) mountSwagger(config.http_api.external ? this.external : internal, config.swagger.handler_prefix, config.http_api.handler_prefix, VERSION);
    mountObservability(config, internal, this.external, {
      prometheus,
      log,
      // The broker, presence manager or channel state manager cannot reach its server (a Redis
      // outage, a failover in progress).
      unhealthy: () => {
        const reasons = [...this.node.engineHealth().reasons];
        const state = this.lifecycle.health();
        if (state !== undefined && !state.health.ok) reasons.push(`${state.what}: ${state.health.reason ?? 'unavailable'}`);
        return reasons;
      },
    });
  }

  private buildVerifiers(config: Readonly<Config>): [TokenVerifier, TokenVerifier] {
    const conn = new TokenVerifier(tokenVerifierOptions(config, 'connection'));
    const sub = config.client.subscription_token.enabled ? new TokenVerifier(tokenVerifierOptions(config, 'subscription')) : conn;
    return [conn, sub];
  }

  /**
   * Starts the node and listens. Attached to an embedder's server, `port` is that server's port,
   * or 0 while it does not listen yet.
   */
  async start(): Promise<AppAddress> {
    this.warnInsecure();
    await this.node.start();
    await this.lifecycle.start(this.node);
    await this.startApiQueue();
    const hs = this.config.http_server;
    let ext: { port: number };
    if (this.attached !== undefined) {
      this.detach = attachTo(this.attached.server, this.attached.listener);
      const bound = this.attached.server.address();
      ext = { port: typeof bound === 'object' && bound !== null ? bound.port : 0 };
    } else ext = await listenNamingKey(this.external, hs.port, hs.address, 'http_server.port');
    let internalPort = ext.port;
    if (this.internal !== undefined) {
      const a = await listenNamingKey(this.internal, Number(hs.internal_port), hs.internal_address, 'http_server.internal_port');
      internalPort = a.port;
    }
    const out: AppAddress = { port: ext.port, internalPort };
    if (this.grpcApi !== undefined) out.grpcApiPort = await this.grpcApi.start();
    if (this.uniGrpc !== undefined) out.uniGrpcPort = await this.uniGrpc.start();
    return out;
  }

  /** Centrifugo v1's Redis API queue (`redis_api_queue`), loaded only when enabled. */
  private async startApiQueue(): Promise<void> {
    const q = this.config.redis_api_queue;
    if (!q.enabled) return;
    // Loaded only when enabled, like the Redis engine itself.
    const [{ RedisApiQueue }, { queueCommandHandler }, { redisShards }] = await Promise.all([
      import('../engine/redis/api-queue.js'),
      import('../api/v1/queue.js'),
      import('./redis-options.js'),
    ]);
    const shards = redisShards(this.config.engine.redis, 'engine.redis');
    const shard = shards[0];
    if (shard === undefined) throw new Error('redis_api_queue: engine.redis has no address');
    if (shards.length > 1) this.log.warn(`redis_api_queue: only the first of the ${shards.length} Redis shards holds the queue; commands pushed to the others are not taken`);
    this.apiQueue = new RedisApiQueue({ shard, prefix: this.config.engine.redis.prefix, numShards: q.num_shards, nodeId: this.node.options.nodeId }, queueCommandHandler(this.apiContext), this.log);
    await this.apiQueue.start();
  }

  /**
   * Applies a reloaded config (SIGHUP): token verifiers and channel options. Listeners, engines
   * and transports keep the settings they started with.
   */
  reload(config: Readonly<Config>): void {
    const rules = new ChannelRules(config.channel);
    const [conn, sub] = this.buildVerifiers(config);
    this.policy.reload(rules, conn, sub);
    for (const v of this.verifiers) v.close();
    this.verifiers = [conn, sub];
    this.config = config;
  }

  /**
   * Graceful stop: stop accepting, disconnect clients with 3001, close engines and listeners.
   * Connections still open after `timeoutMs` are dropped. Safe after a start that failed
   * part-way: listeners that never listened close at once.
   */
  async stop(timeoutMs: number): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.detach?.();
    const listeners = [this.external, ...(this.internal ? [this.internal] : [])];
    const closing = Promise.all(listeners.map((l) => l.close()));
    const sides = Promise.all([this.grpcApi?.stop(timeoutMs), this.uniGrpc?.stop(timeoutMs)]);
    // Before the node stops: the commands in hand finish, and the ones taken but not run go back.
    await this.apiQueue?.stop();
    await this.node.shutdown();
    this.transports.close();
    this.adminSocket?.close();
    await sides;
    await this.lifecycle.stop();
    await this.proxies.close();
    this.prometheus?.close();
    for (const v of this.verifiers) v.close();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([closing, deadline]);
    if (timer) clearTimeout(timer);
    for (const l of listeners) l.destroy();
  }

  /**
   * Runs a server API method from code, as the HTTP API would (see api-calls.ts): the same method
   * table, request and result objects. Rejects with a ReplyError carrying the API error.
   */
  api(method: string, request?: ApiObject): Promise<ApiObject> {
    return callApi(this.apiContext, method, request);
  }

  private warnInsecure(): void {
    const c = this.config;
    if (c.client.insecure) this.log.warn('INSECURE client mode (client.insecure): no authentication, every permission check passes');
    if (c.http_api.insecure) this.log.warn('INSECURE HTTP API mode (http_api.insecure): the server API accepts requests without a key');
    if (c.admin.enabled && c.admin.insecure) this.log.warn('INSECURE admin mode (admin.insecure): the admin console and its API accept requests without a login');
    if (c.client.insecure_skip_token_signature_verify) this.log.warn('INSECURE: token signatures are not verified (client.insecure_skip_token_signature_verify)');
    if (!c.http_api.insecure && !c.http_api.disabled && c.http_api.key === '') this.log.warn('http_api.key is empty: every server API request will be rejected with 401');
    if (c.http_api.v1_format && !c.http_api.disabled) {
      if (c.http_api.insecure) this.log.warn('http_api.v1_format: Centrifugo v1 API at the API root, unsigned (http_api.insecure)');
      else if (c.client.token.hmac_secret_key === '') this.log.warn('http_api.v1_format with an empty client.token.hmac_secret_key: every v1 API request will be rejected with 401');
      else this.log.warn('http_api.v1_format: client.token.hmac_secret_key also authorises the server API (Centrifugo v1 signed API requests with its secret)');
    }
  }
}

/** Listens, naming the option in the error (`http_server.internal_port: listen EADDRINUSE ...`). */
async function listenNamingKey(listener: HttpListener, port: number, host: string, key: string): Promise<{ port: number }> {
  try {
    return await listener.listen(port, host);
  } catch (err) {
    throw new Error(`${key}: ${messageOf(err)}`, { cause: err });
  }
}

function nodeOptions(config: Readonly<Config>, hmacSecret: () => string): NodeOptions {
  const c = config.client;
  return {
    nodeId: Node.newId(),
    name: config.node.name !== '' ? config.node.name : `${hostname()}_${config.http_server.port}`,
    version: `${VERSION} Rotor`,
    pingIntervalMs: Math.max(0, c.ping_interval),
    pongTimeoutMs: Math.max(0, c.pong_timeout),
    staleCloseDelayMs: c.stale_close_delay,
    expiredCloseDelayMs: c.expired_close_delay,
    expiredSubCloseDelayMs: c.expired_sub_close_delay,
    presenceUpdateIntervalMs: c.presence_update_interval,
    channelPositionCheckDelayMs: c.channel_position_check_delay,
    channelLimit: c.channel_limit === 0 ? DEFAULT_CHANNEL_LIMIT : c.channel_limit,
    userConnectionLimit: c.user_connection_limit,
    queueMaxSize: c.queue_max_size === 0 ? DEFAULT_QUEUE_MAX_SIZE : c.queue_max_size,
    maxMessagesInFrame: c.max_messages_in_frame < 0 ? Infinity : c.max_messages_in_frame === 0 ? DEFAULT_MAX_MESSAGES_IN_FRAME : c.max_messages_in_frame,
    writeDelayMs: c.write_delay,
    replyWithoutQueue: c.reply_without_queue,
    // A command is never larger than the WebSocket message holding it, inflated when compressed.
    maxCommandSize: inboundLimits(config.websocket.message_size_limit, config.websocket.compression, config.websocket.decompressed_message_size_limit).maxPayload,
    historyMaxPublicationLimit: c.history_max_publication_limit,
    recoveryMaxPublicationLimit: c.recovery_max_publication_limit,
    connectIncludeServerTime: c.connect_include_server_time,
    uniConnectErrorToDisconnect: uniDisconnectMapper(c.connect_code_to_unidirectional_disconnect),
    v1: {
      verify: v1Verifier(hmacSecret),
      connectionLifetimeSec: Math.floor(c.v1.connection_lifetime / 1000),
      insecure: c.insecure,
      clientChannelBoundary: c.v1.client_channel_boundary,
    },
  };
}

/** `{ metrics }` when there are metrics, else nothing (optional properties are absent, not undefined). */
function metricsOption<M>(metrics: M | undefined): { metrics: M } | Record<string, never> {
  return metrics === undefined ? {} : { metrics };
}
