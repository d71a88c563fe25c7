/**
 * Centrifugo v1's server API commands (seed `server/api.md`), decoded once into a union and run
 * through the v6 method table (`methods.ts`), their results reshaped into v1's bodies:
 *
 * - `publish` {channel, data, client?}, `broadcast` {channels, data, client?}: body null;
 * - `unsubscribe` {channel, user}, `disconnect` {user}: body null;
 * - `presence` {channel}: {channel, data: {<client>: {user, client, default_info, channel_info}}};
 * - `history` {channel}: {channel, data: [{uid, info?, channel, data, client}]}, newest first;
 * - `channels`: {data: [names]};
 * - `node`: {data: {uid, name, version, started_at, metrics}}; `stats`: {data: {nodes, metrics_interval}}.
 *
 * A command's failure is its reply's `error`, with v1's words ("namespace not found", "not
 * available", "internal server error"); a command that is malformed fails the whole request (400),
 * as v1 did, and is found before anything runs.
 */
import { callMethod, counted, publishOne, type ApiContext } from '../methods.js';
import { ApiErrorCode } from '../../protocol/codes.js';
import { ReplyError } from '../../protocol/errors.js';
import type { RawJson } from '../../protocol/json/raw-json.js';
import type { Obj } from '../../protocol/json/fields.js';
import type { NodeInfo } from '../../node/node.js';
import { dict } from '../../util/dict.js';

export type V1Command =
  | { method: 'publish'; channel: string; data: RawJson; client: string }
  | { method: 'broadcast'; channels: string[]; data: RawJson; client: string }
  | { method: 'unsubscribe'; channel: string; user: string }
  | { method: 'disconnect'; user: string }
  | { method: 'presence' | 'history'; channel: string }
  | { method: 'channels' | 'stats' | 'node' };

export interface V1Reply {
  method: string;
  error: string | null;
  advice?: string;
  body: unknown;
}

/** Why a request is refused whole (400). */
export class V1BadRequest extends Error {}

function need(o: Obj, key: string, nonEmpty: boolean): string {
  const v = o[key];
  if (typeof v !== 'string' || (nonEmpty && v === '')) throw new V1BadRequest(`${key} required`);
  return v;
}

function optionalString(o: Obj, key: string): string {
  const v = o[key];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new V1BadRequest(`${key} must be a string`);
  return v;
}

function data(o: Obj): RawJson {
  const v = o['data'];
  if (v === undefined) throw new V1BadRequest('data required');
  return v as RawJson;
}

/** One decoded command; throws V1BadRequest. */
export function decodeV1Command(c: unknown): V1Command {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new V1BadRequest('a command must be an object');
  const cmd = c as Obj;
  const params = cmd['params'] ?? {};
  if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new V1BadRequest('params must be an object');
  const p = params as Obj;
  switch (cmd['method']) {
    case 'publish':
      return { method: 'publish', channel: need(p, 'channel', true), data: data(p), client: optionalString(p, 'client') };
    case 'broadcast': {
      const channels = p['channels'];
      if (!Array.isArray(channels) || channels.length === 0 || !channels.every((ch) => typeof ch === 'string' && ch !== '')) throw new V1BadRequest('channels required');
      return { method: 'broadcast', channels: channels as string[], data: data(p), client: optionalString(p, 'client') };
    }
    case 'unsubscribe':
      return { method: 'unsubscribe', channel: need(p, 'channel', true), user: need(p, 'user', false) };
    case 'disconnect':
      return { method: 'disconnect', user: need(p, 'user', false) };
    case 'presence':
    case 'history':
      return { method: cmd['method'], channel: need(p, 'channel', true) };
    case 'channels':
    case 'stats':
    case 'node':
      return { method: cmd['method'] };
    default:
      throw new V1BadRequest('method not found');
  }
}

/** v1's words for an API error. */
function v1Error(e: unknown): string {
  if (e instanceof ReplyError) {
    if (e.code === ApiErrorCode.unknownChannel.code) return 'namespace not found';
    if (e.code === ApiErrorCode.notAvailable.code) return 'not available';
    if (e.code === ApiErrorCode.badRequest.code) return 'invalid message';
    if (e.code !== ApiErrorCode.internal.code) return e.message;
  }
  return 'internal server error';
}

/** `conn_info`/`chan_info` of a v6 client info as v1's `default_info`/`channel_info` (null when absent). */
function clientInfo(i: unknown): Obj | null {
  if (typeof i !== 'object' || i === null) return null;
  const o = i as Obj;
  return { user: o['user'], client: o['client'], default_info: o['conn_info'] ?? null, channel_info: o['chan_info'] ?? null };
}

/** The body v1 gave for a failed presence or history: the channel, and no data. */
const failedBody = (c: V1Command): unknown => ('channel' in c && (c.method === 'presence' || c.method === 'history') ? { channel: c.channel, data: null } : null);

/**
 * Runs one command. `idempotencyKey` (the Redis API queue's tag of the command) goes with every
 * publication it makes, so running it again after a crash publishes nothing twice.
 */
export async function runV1Command(ctx: ApiContext, c: V1Command, idempotencyKey = ''): Promise<V1Reply> {
  try {
    return { method: c.method, error: null, body: await body(ctx, c, idempotencyKey) };
  } catch (e) {
    const error = v1Error(e);
    if (error === 'internal server error') ctx.node.rateLog.error({ err: e, method: c.method }, 'v1 api command failed');
    // v1's broadcast answered its errors with advice: to fix the request, or to retry it.
    if (c.method === 'broadcast') return { method: c.method, error, advice: error === 'internal server error' ? 'retry' : 'fix', body: null };
    return { method: c.method, error, body: failedBody(c) };
  }
}

async function body(ctx: ApiContext, c: V1Command, idempotencyKey: string): Promise<unknown> {
  const key = idempotencyKey === '' ? {} : { idempotency_key: idempotencyKey };
  switch (c.method) {
    case 'publish':
      await publish(ctx, c.channel, c.data, c.client, key);
      return null;
    case 'broadcast':
      // v1 published channel by channel and stopped at the first failure, answering with it.
      for (const channel of c.channels) await publish(ctx, channel, c.data, c.client, key);
      return null;
    case 'unsubscribe':
      await callMethod(ctx, 'http', 'unsubscribe', { channel: c.channel, user: c.user });
      return null;
    case 'disconnect':
      await callMethod(ctx, 'http', 'disconnect', { user: c.user });
      return null;
    case 'presence': {
      const r = (await callMethod(ctx, 'http', 'presence', { channel: c.channel })) as { presence: Record<string, unknown> };
      const out = dict<unknown>();
      for (const [id, info] of Object.entries(r.presence)) out[id] = clientInfo(info);
      return { channel: c.channel, data: out };
    }
    case 'history': {
      const r = (await callMethod(ctx, 'http', 'history', { channel: c.channel, limit: -1, reverse: true })) as { publications: Obj[]; epoch: string };
      // As v1.8 wrote them: no timestamp; `info` for a client's publication, `client` when one
      // was named (an API publish's `client` is an info without user or infos).
      const data = r.publications.map((p) => {
        const info = clientInfo(p['info']);
        const onlyClient = info !== null && info['user'] === '' && info['default_info'] === null && info['channel_info'] === null;
        return { uid: `${String(p['offset'] ?? 0)}:${r.epoch}`, info: onlyClient ? undefined : (info ?? undefined), channel: c.channel, data: p['data'] ?? null, client: info?.['client'] ?? undefined };
      });
      return { channel: c.channel, data };
    }
    case 'channels': {
      const r = (await callMethod(ctx, 'http', 'channels', {})) as { channels: Record<string, unknown> };
      return { data: Object.keys(r.channels).sort() };
    }
    case 'node':
      return { data: v1Node(ctx.node.info()) };
    case 'stats':
      return { data: { nodes: ctx.node.nodes().map(v1Node), metrics_interval: metricsInterval(ctx.node.info()) } };
  }
}

/**
 * v1's `client` (the connection a publication came from, so it can skip its own) travels as the
 * publication's info with an empty user: v6 subscribers see it as `info.client`.
 */
async function publish(ctx: ApiContext, channel: string, data: RawJson, client: string, key: Obj): Promise<void> {
  if (client === '') await callMethod(ctx, 'http', 'publish', { channel, data, ...key });
  else await counted(ctx, 'http', 'publish', () => publishOne(ctx, channel, { data, ...key }, { user: '', client }));
}

function metricsInterval(i: NodeInfo): number {
  return i.metrics?.interval ?? 60;
}

/**
 * One node as v1's `node`/`stats` gave it. The metrics are those Rotor has under v1's names:
 * counts from the node itself, and totals from its metrics snapshot when Prometheus is on.
 */
function v1Node(i: NodeInfo): Obj {
  const metrics: Record<string, number> = {
    node_num_clients: i.numClients,
    node_num_unique_clients: i.numUsers,
    node_num_channels: i.numChannels,
    node_uptime_seconds: i.uptime,
    node_memory_sys: i.process?.rss ?? 0,
    node_cpu_usage: Math.round(i.process?.cpu ?? 0),
  };
  const items = i.metrics?.items;
  if (items !== undefined) {
    const sum = (prefix: string, also = '') => Object.entries(items).reduce((s, [k, v]) => (k.startsWith(prefix) && k.includes(also) ? s + v : s), 0);
    metrics['client_num_msg_sent'] = sum('centrifugo_transport_messages_sent{');
    metrics['client_bytes_out'] = sum('centrifugo_transport_messages_sent_size{');
    metrics['client_bytes_in'] = sum('centrifugo_transport_messages_received_size{');
    metrics['client_num_connect'] = sum('centrifugo_client_connections_accepted');
    metrics['http_api_num_requests'] = sum('centrifugo_api_command_duration_seconds_count');
    metrics['node_num_client_msg_published'] = sum('centrifugo_node_messages_sent_count', 'type="publication"');
  }
  return { uid: i.uid, name: i.name, version: i.version, started_at: Math.floor(Date.now() / 1000) - i.uptime, metrics };
}
