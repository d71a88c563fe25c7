/**
 * Server API methods (spec §7.2). Each takes the decoded request object and returns the result
 * object, or throws a ReplyError with an API error code. The server API bypasses channel
 * permissions: it may publish to and read any configured namespace.
 */
import { ApiErrorCode, ErrorCode } from '../protocol/codes.js';
import { ReplyError, disconnects, type Disconnect } from '../protocol/errors.js';
import type { Node } from '../node/node.js';
import type { ClientInfo } from '../protocol/types.js';
import { checkDataFormat, type ChannelRules } from '../rules/channels.js';
import { buildSubscriptionOptions, NOTHING_ASKED } from '../rules/subscription-options.js';
import type { PublishOptions } from '../node/events.js';
import { GlobLimitError, GlobSyntaxError } from '../util/glob.js';
import { channelsMatcher } from '../node/channels.js';
import { RawJson } from '../protocol/json/raw-json.js';
import { ApiError, apiBadRequest, apiError, parseApiJson } from './json.js';
import { asObject, bool, JsonFieldError, boolValue, int, payload, position, str, strList, strMap, uint, type Obj } from '../protocol/json/fields.js';
import { batchResult, historyResult, nodeResult, presenceResult, presenceStatsResult, publishResult } from './results.js';

export interface ApiContext {
  readonly node: Node;
  /** Current channel rules (replaced on SIGHUP). */
  rules(): ChannelRules;
  /** Counts each command (`callMethod`); absent: nothing counted. */
  readonly metrics?: ApiMetrics;
}

/** What the server API counts: each command's protocol, method, result and duration. */
export interface ApiMetrics {
  /** `errorCode` 0 for success; `durationMs` in milliseconds. */
  apiCommand(protocol: 'http' | 'grpc', method: string, errorCode: number, durationMs: number): void;
}

export type ApiMethod = (ctx: ApiContext, req: Obj) => Promise<Obj>;

function resolve(ctx: ApiContext, channel: string) {
  if (channel === '') throw apiBadRequest('channel required');
  try {
    return ctx.rules().resolve(channel);
  } catch {
    throw apiError(ApiErrorCode.unknownChannel);
  }
}

/**
 * One `publish`. `clientInfo` is the publisher for APIs that name one (Centrifugo v1's `client`
 * parameter); the v6 API has none.
 */
export async function publishOne(ctx: ApiContext, channel: string, req: Obj, clientInfo?: ClientInfo): Promise<Obj> {
  if (channel === '') throw apiBadRequest('channel required');
  return publishRead(ctx, channel, readPublish(req), clientInfo);
}

/** The fields of a publish (or broadcast) request, every one read: a field of the wrong type throws here. */
interface PublishFields {
  data: Uint8Array;
  skipHistory: boolean;
  tags: Record<string, string> | undefined;
  idempotencyKey: string;
  delta: boolean;
  version: number;
  versionEpoch: string;
}

/** `"data": null`, published as the JSON `null` it is: Centrifugo's decoder keeps the raw bytes. */
const JSON_NULL = new TextEncoder().encode('null');

/** Centrifugo's order: the payload is decoded (bad base64 is 107) before the namespace is looked up (102). */
function readPublish(req: Obj): PublishFields {
  const data = payload(req, 'data') ?? (req.data instanceof RawJson && req.data.text.trim() === 'null' ? JSON_NULL.slice() : new Uint8Array(0));
  return {
    data,
    skipHistory: bool(req, 'skip_history'),
    tags: strMap(req, 'tags'),
    idempotencyKey: str(req, 'idempotency_key'),
    delta: bool(req, 'delta'),
    version: uint(req, 'version'),
    versionEpoch: str(req, 'version_epoch'),
  };
}

async function publishRead(ctx: ApiContext, channel: string, p: PublishFields, clientInfo?: ClientInfo): Promise<Obj> {
  if (channel === '') throw apiBadRequest('channel required');
  const r = resolve(ctx, channel);
  const rules = ctx.rules();
  try {
    checkDataFormat(rules.dataFormat(r.options), p.data);
  } catch {
    throw apiBadRequest('invalid data');
  }
  const opts: PublishOptions = {};
  const history = rules.historyRetention(r.options);
  if (history !== undefined && !p.skipHistory) opts.history = history;
  if (p.tags !== undefined) opts.tags = p.tags;
  if (clientInfo !== undefined) opts.clientInfo = clientInfo;
  if (p.idempotencyKey !== '') opts.idempotencyKey = p.idempotencyKey;
  if (p.delta || r.options.delta_publish) opts.useDelta = true;
  if (p.version > 0) {
    opts.version = p.version;
    opts.versionEpoch = p.versionEpoch;
  }
  const data = p.data;
  let res;
  try {
    res = await ctx.node.publish(channel, data, opts);
  } catch (e) {
    // A channel the broker cannot carry (a NATS wildcard or subject it refuses): not temporary.
    if (e instanceof ReplyError && e.code === ErrorCode.badRequest.code) throw apiBadRequest(String(e.cause ?? e.message));
    ctx.node.rateLog.error({ err: e, channel }, 'publish failed');
    throw apiError(ApiErrorCode.internal);
  }
  return publishResult(opts.history !== undefined ? res.position : undefined);
}

const publish: ApiMethod = (ctx, req) => publishOne(ctx, str(req, 'channel'), req);

const broadcast: ApiMethod = async (ctx, req) => {
  const channels = strList(req, 'channels');
  if (channels.length === 0) throw apiBadRequest('channels required');
  // Read once, before any channel is published: a payload that cannot be decoded fails the whole
  // broadcast (one 107), and a field of the wrong type the whole request (HTTP 400).
  const fields = readPublish(req);
  const responses = await Promise.all(
    channels.map(async (ch) => {
      try {
        return { result: await publishRead(ctx, ch, fields) };
      } catch (e) {
        return { error: errorObject(e) };
      }
    }),
  );
  return { responses };
};

/**
 * Whose connections a user-targeted method acts on. `user` is required (spec §7.2), although
 * Centrifugo's handlers pass an empty one on, which reaches its anonymous connections.
 */
function target(req: Obj) {
  const user = str(req, 'user');
  if (user === '') throw apiBadRequest('user required');
  return { user, client: str(req, 'client'), session: str(req, 'session') };
}

const subscribe: ApiMethod = async (ctx, req) => {
  const t = target(req);
  const channel = str(req, 'channel');
  const r = resolve(ctx, channel);
  const ov = asObject(req.override, 'override');
  const options = buildSubscriptionOptions(ctx.rules(), r.options, NOTHING_ASKED, {
    chanInfo: payload(req, 'info'),
    data: payload(req, 'data'),
    expireAt: int(req, 'expire_at'),
    override: {
      presence: boolValue(ov, 'presence'),
      joinLeave: boolValue(ov, 'join_leave'),
      forcePushJoinLeave: boolValue(ov, 'force_push_join_leave'),
      forceRecovery: boolValue(ov, 'force_recovery'),
      forcePositioning: boolValue(ov, 'force_positioning'),
    },
  });
  await ctx.node.subscribeUser(t, channel, options, position(req, 'recover_since'));
  return {};
};

const unsubscribe: ApiMethod = async (ctx, req) => {
  const t = target(req);
  const channel = str(req, 'channel');
  // A named channel must be in a configured namespace (102). "" skips that check, as in
  // Centrifugo, and matches no subscription: nothing is unsubscribed.
  if (channel !== '') resolve(ctx, channel);
  await ctx.node.unsubscribeUser(t, channel);
  return {};
};

const disconnect: ApiMethod = async (ctx, req) => {
  const t = target(req);
  let d: Disconnect = disconnects.forceNoReconnect;
  if (req.disconnect !== undefined && req.disconnect !== null) {
    const o = asObject(req.disconnect, 'disconnect');
    const code = int(o, 'code');
    if (code !== 0) d = { code, reason: str(o, 'reason') };
  }
  await ctx.node.disconnectUser(t, d, strList(req, 'whitelist'));
  return {};
};

const refresh: ApiMethod = async (ctx, req) => {
  const t = target(req);
  await ctx.node.refreshUser(t, bool(req, 'expired'), int(req, 'expire_at'), payload(req, 'info'));
  return {};
};

const presence: ApiMethod = async (ctx, req) => {
  const channel = str(req, 'channel');
  const r = resolve(ctx, channel);
  if (!r.options.presence) throw apiError(ApiErrorCode.notAvailable);
  return presenceResult(await ctx.node.presence(channel));
};

const presenceStats: ApiMethod = async (ctx, req) => {
  const channel = str(req, 'channel');
  const r = resolve(ctx, channel);
  if (!r.options.presence) throw apiError(ApiErrorCode.notAvailable);
  return presenceStatsResult(await ctx.node.presenceStats(channel));
};

function historyEnabled(ctx: ApiContext, channel: string) {
  const r = resolve(ctx, channel);
  if (ctx.rules().historyRetention(r.options) === undefined) throw apiError(ApiErrorCode.notAvailable);
  return r;
}

const history: ApiMethod = async (ctx, req) => {
  const channel = str(req, 'channel');
  const r = historyEnabled(ctx, channel);
  const since = position(req, 'since');
  const reverse = bool(req, 'reverse');
  if (reverse && since !== undefined && since.offset === 0) throw apiBadRequest('reverse with since.offset 0');
  const h = await ctx.node.history(channel, { since, limit: int(req, 'limit'), reverse }, ctx.rules().metaTtlMs(r.options));
  if (since !== undefined && since.epoch !== '' && since.epoch !== h.position.epoch) throw apiError(ApiErrorCode.unrecoverablePosition);
  return historyResult(h.publications, h.position);
};

const historyRemove: ApiMethod = async (ctx, req) => {
  const channel = str(req, 'channel');
  historyEnabled(ctx, channel);
  await ctx.node.removeHistory(channel);
  return {};
};

const channels: ApiMethod = async (ctx, req) => {
  const pattern = str(req, 'pattern');
  try {
    channelsMatcher(pattern);
  } catch (e) {
    if (e instanceof GlobLimitError) throw new ApiError(ApiErrorCode.badRequest.code, `${ApiErrorCode.badRequest.message}: ${e.message}`);
    if (e instanceof GlobSyntaxError) throw apiBadRequest(`pattern: ${e.message}`);
    throw e;
  }
  // No prototype: a channel may be called "__proto__".
  const out: Obj = Object.create(null) as Obj;
  for (const [name, n] of await ctx.node.channels(pattern)) out[name] = { num_clients: n };
  return { channels: out };
};

const info: ApiMethod = async (ctx) => {
  return { nodes: ctx.node.nodes().map(nodeResult) };
};

const rpc: ApiMethod = async (_ctx, req) => {
  if (str(req, 'method') === '') throw apiBadRequest('method required');
  // No server-side RPC extensions are registered (as Centrifugo OSS).
  throw apiError(ApiErrorCode.notFound);
};

const batch: ApiMethod = async (ctx, req) => {
  // Absent or null `commands` is an empty batch, as Go decodes a missing repeated field.
  const commands = req.commands ?? [];
  if (!Array.isArray(commands)) throw new JsonFieldError('commands', 'commands must be an array');
  const run = async (c: unknown): Promise<Obj> => {
    try {
      // A null entry is malformed (107, spec §7.2); an object naming no known method is 104.
      if (c === null || c === undefined) throw apiBadRequest('null command');
      const o = asObject(c, 'command');
      // The first method present in Centrifugo's fixed order runs; other keys are ignored. A
      // command naming no method Rotor serves (nested batch included) is 104, as Centrifugo's.
      const name = BATCH_METHOD_ORDER.find((k) => !isNullish(o[k]));
      if (name === undefined) throw apiError(ApiErrorCode.notFound);
      const m = METHODS[name]!;
      const params = o[name];
      // The request parser keeps every `info` member raw (it is a payload elsewhere), so the
      // `info` command's parameters arrive as RawJson and are parsed here.
      const p = params instanceof RawJson ? parseApiJson(params.text) : params;
      return { [name]: await m(ctx, asObject(p, name)) };
    } catch (e) {
      return { error: errorObject(e) };
    }
  };
  const replies: Obj[] = [];
  const parallel = bool(req, 'parallel');
  if (parallel) replies.push(...(await Promise.all(commands.map(run))));
  else for (const c of commands) replies.push(await run(c));
  return batchResult(replies);
};

export function errorObject(e: unknown): { code: number; message: string } {
  if (e instanceof ReplyError) return { code: e.code, message: e.message };
  return { code: ApiErrorCode.internal.code, message: ApiErrorCode.internal.message };
}

/**
 * Every method by its name in the URL (`/api/<name>`) and in the legacy `{method}` field. Without
 * a prototype, so a name such as `toString` or `constructor` finds nothing rather than Object's.
 */
export const METHODS: Readonly<Record<string, ApiMethod>> = Object.assign(Object.create(null) as Record<string, ApiMethod>, {
  publish,
  broadcast,
  subscribe,
  unsubscribe,
  disconnect,
  refresh,
  presence,
  presence_stats: presenceStats,
  history,
  history_remove: historyRemove,
  channels,
  info,
  rpc,
  batch,
});

/**
 * Runs the method `name` (which must be in METHODS) for one API request, counted in
 * `ctx.metrics` when set. A batch counts as one `batch` command.
 */
export function callMethod(ctx: ApiContext, protocol: 'http' | 'grpc', name: string, req: Obj): Promise<Obj> {
  return counted(ctx, protocol, name, () => METHODS[name]!(ctx, req));
}

/** Runs `run` as API method `name`, counted as callMethod counts (for callers outside the table). */
export async function counted(ctx: ApiContext, protocol: 'http' | 'grpc', name: string, run: () => Promise<Obj>): Promise<Obj> {
  const m = ctx.metrics;
  if (m === undefined) return run();
  const started = performance.now();
  try {
    const result = await run();
    m.apiCommand(protocol, name, 0, performance.now() - started);
    return result;
  } catch (e) {
    m.apiCommand(protocol, name, errorObject(e).code, performance.now() - started);
    throw e;
  }
}

/**
 * Methods whose HTTP response is the result itself, not `{"result":…}`. Centrifugo encodes the
 * batch response (`{"replies":[…]}`) directly: a batch has no error of its own, its errors are in
 * its replies. A batch Rotor refuses as a whole (`commands` not an array) still answers `{"error":…}`.
 */
export const BARE_RESPONSE_METHODS: ReadonlySet<string> = new Set(['batch']);

/** The order in which Centrifugo's batch looks for a command's method (`processCmd`). */
const BATCH_METHOD_ORDER: readonly string[] = [
  'publish',
  'broadcast',
  'subscribe',
  'unsubscribe',
  'disconnect',
  'history',
  'history_remove',
  'presence',
  'presence_stats',
  'info',
  'rpc',
  'refresh',
  'channels',
];

/**
 * Absent, as Go's decoder leaves a field it reads as null. The request parser keeps `info` members
 * raw, so a null `info` arrives as `RawJson('null')`, not `null`.
 */
function isNullish(v: unknown): boolean {
  return v === undefined || v === null || (v instanceof RawJson && v.text === 'null');
}

/**
 * Legacy numeric method IDs (the `Command.MethodType` enum of the v3/v4 API). IDs missing here
 * (14 CONNECTIONS and the PRO methods) answer 104 not found.
 */
export const LEGACY_METHOD_IDS: Readonly<Record<number, string>> = {
  0: 'publish',
  1: 'broadcast',
  2: 'unsubscribe',
  3: 'disconnect',
  4: 'presence',
  5: 'presence_stats',
  6: 'history',
  7: 'history_remove',
  8: 'channels',
  9: 'info',
  10: 'rpc',
  11: 'subscribe',
  12: 'refresh',
};

/** Enum names of the legacy API that Rotor does not serve: the request decodes, the command gets 104. */
export const LEGACY_UNSERVED_METHOD_NAMES: ReadonlySet<string> = new Set([
  'connections',
  'update_user_status',
  'get_user_status',
  'delete_user_status',
  'block_user',
  'unblock_user',
  'revoke_token',
  'invalidate_user_tokens',
  'device_register',
  'device_update',
  'device_remove',
  'device_list',
  'device_topic_list',
  'device_topic_update',
  'user_topic_list',
  'user_topic_update',
  'send_push_notification',
  'update_push_status',
  'cancel_push',
]);
