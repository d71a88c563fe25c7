/**
 * Which fields the JSON encoders write when they are zero or empty. Centrifugo writes a field
 * whose Go struct tag has no omitempty even when it is zero; every other field is left out then.
 * Without omitempty, in both the client protocol (centrifugal/protocol) and the server API:
 * ClientInfo `user`, `client`; PresenceResult `presence`; PresenceStatsResult `num_clients`,
 * `num_users`; HistoryResult `publications`, `epoch`, `offset`; and in the server API also
 * NodeResult `uid`, `name`, `version`, `num_clients`, `num_users`, `num_channels`, `num_subs`.
 *
 * Each case encodes a zero-valued instance of one type (in a client-protocol reply or push, or a
 * server API result) and checks: the always-written fields are there with their zero value, the
 * omitempty ones are absent, and nothing else is written. Protobuf is not covered: proto3 leaves
 * zero values out of the wire by design.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { jsonCodec } from '../../../src/protocol/json/codec.js';
import type { ClientInfo, Push, Reply } from '../../../src/protocol/types.js';
import { toJsonText } from '../../../src/protocol/json/json-text.js';
import {
  batchResult,
  clientInfoResult,
  historyResult,
  nodeResult,
  presenceResult,
  presenceStatsResult,
  publicationResult,
  publishResult,
} from '../../../src/api/results.js';

/**
 * Decoded JSON, typed for navigation by key (`.history.publications[0].info`); the leaves it
 * reaches (strings, numbers) are only compared with deepEqual, never used as objects.
 */
interface Json {
  readonly [key: string]: Json;
}

interface Case {
  /** The type, and where its JSON was taken from. */
  name: string;
  /** Encodes a zero-valued instance and returns that type's JSON object. */
  encode(): Json;
  /** Fields written even when zero, with the zero value expected. */
  always: Readonly<Record<string, unknown>>;
  /** Fields left out when zero. */
  omitempty: readonly string[];
}

const EMPTY = new Uint8Array(0);
const ZERO_INFO: ClientInfo = { user: '', client: '' };
const CLIENT_INFO = { always: { user: '', client: '' }, omitempty: ['conn_info', 'chan_info'] } as const;

const reply = (r: Reply): Json => JSON.parse(Buffer.from(jsonCodec.encodeReply(r)).toString('utf8'));
const push = (p: Push): Json => JSON.parse(Buffer.from(jsonCodec.encodePush(p)).toString('utf8'));
const api = (v: unknown): Json => JSON.parse(toJsonText(v));

const CLIENT_PROTOCOL: Case[] = [
  {
    name: 'ConnectResult',
    encode: () => reply({ id: 1, kind: 'connect', result: { client: '', version: '' } }).connect,
    always: {},
    omitempty: ['client', 'version', 'expires', 'ttl', 'data', 'subs', 'ping', 'pong', 'session', 'node', 'time'],
  },
  {
    name: 'SubscribeResult',
    encode: () => reply({ id: 1, kind: 'subscribe', result: { publications: [] } }).subscribe,
    always: {},
    omitempty: ['expires', 'ttl', 'recoverable', 'epoch', 'publications', 'recovered', 'offset', 'positioned', 'data', 'was_recovering', 'delta'],
  },
  { name: 'UnsubscribeResult', encode: () => reply({ id: 1, kind: 'unsubscribe' }).unsubscribe, always: {}, omitempty: [] },
  { name: 'PublishResult', encode: () => reply({ id: 1, kind: 'publish' }).publish, always: {}, omitempty: [] },
  { name: 'PresenceResult', encode: () => reply({ id: 1, kind: 'presence', result: { presence: {} } }).presence, always: { presence: {} }, omitempty: [] },
  {
    name: 'PresenceStatsResult',
    encode: () => reply({ id: 1, kind: 'presence_stats', result: { numClients: 0, numUsers: 0 } }).presence_stats,
    always: { num_clients: 0, num_users: 0 },
    omitempty: [],
  },
  {
    name: 'HistoryResult',
    encode: () => reply({ id: 1, kind: 'history', result: { publications: [], epoch: '', offset: 0 } }).history,
    always: { publications: [], epoch: '', offset: 0 },
    omitempty: [],
  },
  { name: 'RPCResult', encode: () => reply({ id: 1, kind: 'rpc', result: { data: EMPTY } }).rpc, always: {}, omitempty: ['data'] },
  { name: 'RefreshResult', encode: () => reply({ id: 1, kind: 'refresh', result: {} }).refresh, always: {}, omitempty: ['client', 'version', 'expires', 'ttl'] },
  { name: 'SubRefreshResult', encode: () => reply({ id: 1, kind: 'sub_refresh', result: {} }).sub_refresh, always: {}, omitempty: ['expires', 'ttl'] },
  { name: 'Error', encode: () => reply({ id: 1, kind: 'error', error: { code: 0, message: '' } }).error, always: {}, omitempty: ['code', 'message', 'temporary'] },
  {
    name: 'Publication (pub push)',
    encode: () => push({ kind: 'pub', channel: 'c', pub: { data: EMPTY } }).pub,
    always: {},
    omitempty: ['data', 'info', 'offset', 'tags', 'delta', 'time', 'channel'],
  },
  { name: 'ClientInfo (join push)', encode: () => push({ kind: 'join', channel: 'c', info: ZERO_INFO }).join.info, ...CLIENT_INFO },
  { name: 'ClientInfo (leave push)', encode: () => push({ kind: 'leave', channel: 'c', info: ZERO_INFO }).leave.info, ...CLIENT_INFO },
  { name: 'ClientInfo (publication info)', encode: () => push({ kind: 'pub', channel: 'c', pub: { data: EMPTY, info: ZERO_INFO } }).pub.info, ...CLIENT_INFO },
  { name: 'ClientInfo (presence entry)', encode: () => reply({ id: 1, kind: 'presence', result: { presence: { x: ZERO_INFO } } }).presence.presence.x, ...CLIENT_INFO },
  {
    name: 'ClientInfo (history publication info)',
    encode: () => reply({ id: 1, kind: 'history', result: { publications: [{ data: EMPTY, info: ZERO_INFO }], epoch: '', offset: 0 } }).history.publications[0].info,
    ...CLIENT_INFO,
  },
  { name: 'Unsubscribe push', encode: () => push({ kind: 'unsubscribe', channel: 'c', code: 0, reason: '' }).unsubscribe, always: {}, omitempty: ['code', 'reason'] },
  { name: 'Subscribe push', encode: () => push({ kind: 'subscribe', channel: 'c', sub: {} }).subscribe, always: {}, omitempty: ['recoverable', 'epoch', 'offset', 'positioned', 'data'] },
  { name: 'Message push', encode: () => push({ kind: 'message', data: EMPTY }).message, always: {}, omitempty: ['data'] },
  { name: 'Disconnect push', encode: () => push({ kind: 'disconnect', code: 0, reason: '' }).disconnect, always: {}, omitempty: ['code', 'reason'] },
  { name: 'Refresh push', encode: () => push({ kind: 'refresh', expires: false, ttl: 0 }).refresh, always: {}, omitempty: ['expires', 'ttl'] },
];

const SERVER_API: Case[] = [
  { name: 'ClientInfo', encode: () => api(clientInfoResult(ZERO_INFO)), ...CLIENT_INFO },
  { name: 'ClientInfo (presence entry)', encode: () => api(presenceResult({ x: ZERO_INFO })).presence.x, ...CLIENT_INFO },
  { name: 'ClientInfo (history publication info)', encode: () => api(historyResult([{ data: EMPTY, info: ZERO_INFO }], { offset: 0, epoch: '' })).publications[0].info, ...CLIENT_INFO },
  { name: 'Publication', encode: () => api(publicationResult({ data: EMPTY })), always: {}, omitempty: ['data', 'info', 'offset', 'tags'] },
  { name: 'PublishResult', encode: () => api(publishResult(undefined)), always: {}, omitempty: ['offset', 'epoch'] },
  { name: 'PresenceResult', encode: () => api(presenceResult({})), always: { presence: {} }, omitempty: [] },
  { name: 'PresenceStatsResult', encode: () => api(presenceStatsResult({ numClients: 0, numUsers: 0 })), always: { num_clients: 0, num_users: 0 }, omitempty: [] },
  {
    name: 'HistoryResult',
    encode: () => api(historyResult([], { offset: 0, epoch: '' })),
    always: { publications: [], epoch: '', offset: 0 },
    omitempty: [],
  },
  {
    name: 'NodeResult',
    encode: () => api(nodeResult({ uid: '', name: '', version: '', numClients: 0, numUsers: 0, numSubs: 0, numChannels: 0, uptime: 0 })),
    always: { uid: '', name: '', version: '', num_clients: 0, num_users: 0, num_channels: 0, num_subs: 0 },
    omitempty: ['uptime', 'metrics', 'process'],
  },
  { name: 'BatchResponse', encode: () => api(batchResult([])), always: {}, omitempty: ['replies'] },
];

function holds(c: Case): void {
  const o = c.encode();
  assert.ok(o !== null && typeof o === 'object', `${c.name}: encoded to ${JSON.stringify(o)}`);
  for (const [k, zero] of Object.entries(c.always)) {
    assert.ok(k in o, `${c.name}: "${k}" is always written, got ${JSON.stringify(o)}`);
    assert.deepEqual(o[k], zero, `${c.name}: "${k}" holds its zero value`);
  }
  for (const k of c.omitempty) assert.ok(!(k in o), `${c.name}: "${k}" is omitempty, got ${JSON.stringify(o)}`);
  assert.deepEqual(Object.keys(o).sort(), Object.keys(c.always).sort(), `${c.name}: only the always-written fields`);
}

describe('JSON zero values: client protocol', () => {
  for (const c of CLIENT_PROTOCOL) it(c.name, () => holds(c));
});

describe('JSON zero values: server API results', () => {
  for (const c of SERVER_API) it(c.name, () => holds(c));
});
