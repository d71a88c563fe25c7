/**
 * Moving a Centrifugo v1 or v5 flat config to the v6 layout Rotor reads, with the table of
 * legacy-keys.ts: every flat key goes to its v6 place, values converted where the two disagree
 * (seconds as numbers ⇒ durations, "8000" ⇒ 8000, `host` + `port` ⇒ one address, a comma list ⇒
 * a list), namespaces' options renamed, and v5's proxy settings copied into each proxy. A v1 file
 * also gets the permissions v1 gave without asking (below). Keys with no v6 place are listed in
 * `dropped` with why; `rotor config migrate` prints them, and loading a v1 file logs them.
 *
 * v1 permissions made explicit (v6 refuses what a namespace does not allow):
 * - every connected client could subscribe to any channel: `allow_subscribe_for_client`;
 * - a subscriber could ask for presence and history where they were on:
 *   `allow_presence_for_subscriber`, `allow_history_for_subscriber`;
 * - `anonymous` let anonymous connections do all of that too;
 * - `secret` signed the server API as well: it becomes `http_api.key` (v6 API clients send it in
 *   `Authorization: apikey …`), and `http_api.v1_format` keeps v1's API at the API root.
 */
import { findOption, setPath, getPath } from './describe.js';
import { findLegacyKeys, type LegacyFinding } from './legacy-check.js';
import { CHANNEL_OPTIONS, LEGACY_KEYS, type LegacyKey, type LegacyVersion } from './legacy-keys.js';
import { isRecord } from './schema/define.js';

export interface Migration {
  /** Which flat layout the file used. */
  from: LegacyVersion;
  /** The v6 config, in file form. */
  config: Record<string, unknown>;
  /** What moved with a change worth knowing (a unit, an added permission). */
  notes: string[];
  /** Keys left out: v6 has no place for them. */
  dropped: { path: string; why: string }[];
}

/** Which flat layout a file uses: undefined for a v6 file, `mixed` when it has v1-only and v5-only keys. */
export function legacyLayoutOf(raw: Record<string, unknown>): LegacyVersion | 'mixed' | undefined {
  const found = findLegacyKeys(raw);
  if (found.length === 0) return undefined;
  const only = (v: LegacyVersion, topLevel: boolean) =>
    found.some((f) => f.entry.from.length === 1 && f.entry.from[0] === v && (!topLevel || (!f.path.includes('.') && !f.path.includes('['))));
  const v1 = only('v1', false);
  const v5 = only('v5', false);
  if (v1 && v5) return 'mixed';
  // A file is read as v1 only when it is one: a v1-only key at the top level and no v6 section
  // written as an object. A stray v1 name inside a v6 file is a mistake to report, not a reason
  // to read the whole file with v1's permissions.
  if (v1 && only('v1', true) && !hasV6Sections(raw)) return 'v1';
  return v1 ? 'mixed' : 'v5';
}

/** Whether the file has a v6 section given as an object (`"channel": {…}`, `"client": {…}`). */
function hasV6Sections(raw: Record<string, unknown>): boolean {
  return Object.entries(raw).some(([k, v]) => isRecord(v) && LEGACY_KEYS[k] === undefined && findOption(k)?.meta.kind === 'object');
}

const SECONDS_NOTE = /v1 takes a number of seconds/;

/** `value` converted to what the v6 option at `path` takes, or undefined when it cannot be. */
function convert(path: string, value: unknown, entry: LegacyKey | undefined): unknown {
  const meta = findOption(path)?.meta;
  if (meta === undefined) return value;
  switch (meta.kind) {
    case 'duration':
      if (typeof value === 'number') return entry !== undefined && entry.note !== undefined && SECONDS_NOTE.test(entry.note) ? `${value}s` : value;
      return value;
    case 'int':
      return typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
    case 'bool':
      return value === 'true' ? true : value === 'false' ? false : value;
    case 'string[]':
      return typeof value === 'string' ? splitV1List(value) : value;
    case 'string':
      return typeof value === 'number' ? String(value) : value;
    default:
      return value;
  }
}

/** Renames the options of one namespace (or `without_namespace`) object; returns the new object. */
function migrateChannelOptions(ns: Record<string, unknown>, where: string, m: Migration): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(ns)) {
    const entry = LEGACY_KEYS[key];
    const v6 = entry?.v6?.startsWith(CHANNEL_OPTIONS) === true ? entry.v6.slice(CHANNEL_OPTIONS.length) : undefined;
    if (entry?.channelOption === true && entry.v6 === null) {
      m.dropped.push({ path: `${where}.${key}`, why: entry.note ?? 'v6 has no such channel option' });
      continue;
    }
    if (v6 === undefined || key === 'name') {
      out[key] = value;
      continue;
    }
    out[v6] = convert(`${CHANNEL_OPTIONS}${v6}`, value, entry);
  }
  if (m.from === 'v1') {
    v1History(out, where, m);
    addV1Permissions(out, where, m);
  }
  return out;
}

/** v1 kept no history without both a size and a lifetime; v6 refuses one without the other. */
function v1History(o: Record<string, unknown>, where: string, m: Migration): void {
  const ttl = o['history_ttl'];
  const size = Number(o['history_size'] ?? 0);
  const noTtl = ttl === undefined || ttl === '0s' || ttl === 0;
  if (size > 0 && noTtl) {
    delete o['history_size'];
    delete o['history_ttl'];
    m.notes.push(`${where}: history_size without history_lifetime kept no history in v1; left out`);
  } else if (size === 0 && !noTtl) {
    delete o['history_ttl'];
  }
}

/** What v1 allowed without an option, made explicit on one namespace's options. */
function addV1Permissions(o: Record<string, unknown>, where: string, m: Migration): void {
  const added: string[] = [];
  const allow = (key: string) => {
    if (o[key] === undefined) {
      o[key] = true;
      added.push(key);
    }
  };
  allow('allow_subscribe_for_client');
  // v1 always kept `news#42` to user 42.
  allow('allow_user_limited_channels');
  const history = Number(o['history_size'] ?? 0) > 0 && o['history_ttl'] !== undefined;
  if (o['presence'] === true) allow('allow_presence_for_subscriber');
  if (history) allow('allow_history_for_subscriber');
  // v1 sent join and leave messages to every subscriber of a channel that had them.
  if (o['join_leave'] === true) allow('force_push_join_leave');
  if (o['allow_subscribe_for_anonymous'] === true) {
    if (o['presence'] === true) allow('allow_presence_for_anonymous');
    if (history) allow('allow_history_for_anonymous');
    if (o['allow_publish_for_subscriber'] === true) allow('allow_publish_for_anonymous');
  }
  if (added.length > 0) m.notes.push(`${where}: ${added.join(', ')} set, as v1 allowed it without an option`);
}

/** Every proxy object of a v6 config (for v5's shared proxy settings). */
function proxyObjects(config: Record<string, unknown>): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const path of ['client.proxy.connect', 'client.proxy.refresh', 'rpc.proxy']) {
    const p = getPath(config, path);
    if (isRecord(p)) out.push(p);
  }
  const channelProxies = getPath(config, 'channel.proxy');
  if (isRecord(channelProxies)) for (const p of Object.values(channelProxies)) if (isRecord(p)) out.push(p);
  const named = config['proxies'];
  if (Array.isArray(named)) for (const p of named) if (isRecord(p)) out.push(p);
  return out;
}

/** Extra switches a v5 key needs in v6 beyond its value (`also set …` in the table). */
const ALSO_SET: Readonly<Record<string, readonly [string, unknown]>> = Object.assign(Object.create(null) as Record<string, readonly [string, unknown]>, {
  proxy_connect_endpoint: ['client.proxy.connect.enabled', true],
  proxy_refresh_endpoint: ['client.proxy.refresh.enabled', true],
  proxy_rpc_endpoint: ['rpc.without_namespace.proxy_enabled', true],
  broker: ['broker.enabled', true],
  presence_manager: ['presence_manager.enabled', true],
});

/**
 * The v6 form of a v1 or v5 flat config. Keys already in the v6 layout are kept as they are.
 * Throws when the file mixes v1-only and v5-only keys (no one layout to read it by).
 */
export function migrateConfig(raw: Record<string, unknown>): Migration {
  const layout = legacyLayoutOf(raw);
  if (layout === 'mixed') throw new Error('the file is not in one layout (Centrifugo v1-only keys beside v5-only keys or v6 sections): move those keys by hand (docs/config.md)');
  const m: Migration = { from: layout ?? 'v5', config: {}, notes: [], dropped: [] };
  const findings = new Map<string, LegacyFinding>(findLegacyKeys(raw).filter((f) => !f.path.includes('.') && !f.path.includes('[')).map((f) => [f.path, f]));
  const shared: [string, unknown][] = [];
  let redisHost: string | undefined;
  let redisPort: string | undefined;
  for (const [key, value] of Object.entries(raw)) {
    const f = findings.get(key);
    if (f === undefined) {
      if (key === 'channel' && isRecord(value)) {
        const channel = { ...value };
        if (isRecord(channel['without_namespace'])) channel['without_namespace'] = migrateChannelOptions(channel['without_namespace'], 'channel.without_namespace', m);
        if (Array.isArray(channel['namespaces'])) channel['namespaces'] = channel['namespaces'].map((ns, i) => (isRecord(ns) ? migrateChannelOptions(ns, `channel.namespaces[${i}]`, m) : ns));
        mergeInto(m.config, 'channel', channel);
      } else mergeInto(m.config, key, value);
      continue;
    }
    const { entry } = f;
    if (entry.proxyField !== undefined) {
      shared.push([entry.proxyField, value]);
      continue;
    }
    if (entry.v6 === null) {
      m.dropped.push({ path: key, why: entry.note ?? 'v6 has no equivalent' });
      continue;
    }
    if (key === 'redis_host') redisHost = String(value);
    else if (key === 'redis_port') redisPort = String(value);
    else if (key === 'namespaces') {
      const list = Array.isArray(value) ? value.map((ns, i) => (isRecord(ns) ? migrateChannelOptions(ns, `channel.namespaces[${i}]`, m) : ns)) : value;
      setPath(m.config, 'channel.namespaces', list);
    } else {
      const converted = convert(entry.v6, value, entry);
      if (converted !== value && typeof value === 'number') m.notes.push(`${key}: ${value} seconds ⇒ ${entry.v6} "${String(converted)}"`);
      const before = getPath(m.config, entry.v6);
      if (before !== undefined && JSON.stringify(before) !== JSON.stringify(converted)) {
        m.notes.push(`${key}: ${entry.v6} was already ${JSON.stringify(before)} from another key; ${JSON.stringify(converted)} wins`);
      }
      setPath(m.config, entry.v6, converted);
      const also = ALSO_SET[key];
      if (also !== undefined) setPath(m.config, also[0], also[1]);
    }
  }
  if (redisHost !== undefined || redisPort !== undefined) {
    if (getPath(m.config, 'engine.redis.address') === undefined) setPath(m.config, 'engine.redis.address', v1RedisAddresses(redisHost, redisPort));
    else m.notes.push('redis_host/redis_port ignored: redis_url gives the address');
  }
  // v1's Sentinels all watch one master: one entry (comma-separated), not one shard each.
  const sentinels = getPath(m.config, 'engine.redis.sentinel_address');
  if (m.from === 'v1' && Array.isArray(sentinels)) setPath(m.config, 'engine.redis.sentinel_address', [sentinels.map((a) => v1HostPort(String(a))).join(',')]);
  if (m.from === 'v1') v1Endpoints(raw, m);
  if (getPath(m.config, 'log.level') === 'critical') setPath(m.config, 'log.level', 'fatal');
  const ping = getPath(m.config, 'client.ping_interval');
  if (m.from === 'v1' && (ping === '0s' || ping === 0)) {
    const client = getPath(m.config, 'client');
    if (isRecord(client)) delete client['ping_interval'];
    m.notes.push('ping_interval: 0 left out (the default applies)');
  }
  for (const [field, value] of shared) for (const p of proxyObjects(m.config)) if (getPath(p, field) === undefined) setPath(p, field, value);
  if (m.from === 'v1') {
    // The top-level channel options went to without_namespace above; v1's permissions apply there too.
    let without = getPath(m.config, 'channel.without_namespace');
    if (!isRecord(without)) setPath(m.config, 'channel.without_namespace', (without = {}));
    v1History(without as Record<string, unknown>, 'channel.without_namespace', m);
    addV1Permissions(without as Record<string, unknown>, 'channel.without_namespace', m);
    setPath(m.config, 'http_api.v1_format', true);
    // v1 served SockJS at /connection and had client-limited channels ("&") without asking.
    if (getPath(m.config, 'sockjs.enabled') === undefined) setPath(m.config, 'sockjs.enabled', true);
    setPath(m.config, 'client.v1.enabled', true);
    if (getPath(m.config, 'client.v1.client_channel_boundary') === undefined) setPath(m.config, 'client.v1.client_channel_boundary', '&');
    if (getPath(m.config, 'admin.enabled') === true && getPath(m.config, 'admin.v1_socket') === undefined) setPath(m.config, 'admin.v1_socket', true);
    const secret = getPath(m.config, 'client.token.hmac_secret_key');
    if (typeof secret === 'string' && secret !== '' && getPath(m.config, 'http_api.key') === undefined) {
      setPath(m.config, 'http_api.key', secret);
      m.notes.push('http_api.key set to the v1 secret: v1 signed API requests with it (X-API-Sign); v6 API clients send it as "Authorization: apikey <key>"');
    }
  }
  return m;
}

/**
 * v1's `redis_host` and `redis_port` as v6 addresses. Either may be a comma list (v1's sharding:
 * `--redis_port=6379,6380` is two shards on one host); lists of equal length pair up, a single
 * value goes with each of the other's. Throws for lists of different lengths.
 */
export function v1RedisAddresses(host: string | undefined, port: string | undefined): string[] {
  const hosts = (host ?? '127.0.0.1').split(',').map((h) => h.trim());
  const ports = (port ?? '6379').split(',').map((p) => p.trim());
  if (hosts.length > 1 && ports.length > 1 && hosts.length !== ports.length) {
    throw new Error(`redis_host lists ${hosts.length} hosts and redis_port ${ports.length} ports: give one of each per shard`);
  }
  const n = Math.max(hosts.length, ports.length);
  return Array.from({ length: n }, (_, i) => `${hosts[hosts.length > 1 ? i : 0] || '127.0.0.1'}:${ports[ports.length > 1 ? i : 0] || '6379'}`);
}

/**
 * A v1 comma list (shards, Sentinels) as its entries. A list of URLs splits only before the next
 * URL: a password may hold a comma.
 */
export function splitV1List(text: string): string[] {
  return (text.includes('://') ? text.split(/,(?=\s*[a-z+]+:\/\/)/) : text.split(',')).map((s) => s.trim()).filter((s) => s !== '');
}

/** Go's `:26379` (this host) as `127.0.0.1:26379`. */
export function v1HostPort(a: string): string {
  return a.startsWith(':') ? `127.0.0.1${a}` : a;
}

/**
 * v1's ports: `admin_port` moved only the admin endpoints, `api_port` only the API; v6 has one
 * internal port for both, so the one not moved stays on the main port (`external`). `web` and
 * `admin` both switch admin on (the last one written must not switch it off).
 */
function v1Endpoints(raw: Record<string, unknown>, m: Migration): void {
  const admin = raw['admin_port'];
  const api = raw['api_port'];
  if (admin !== undefined && api === undefined) setPath(m.config, 'http_api.external', true);
  if (api !== undefined && admin === undefined) setPath(m.config, 'admin.external', true);
  if (admin !== undefined && api !== undefined && String(admin) !== String(api)) {
    setPath(m.config, 'http_api.external', true);
    setPath(m.config, 'http_server.internal_port', String(admin));
    m.notes.push(`api_port ${String(api)} and admin_port ${String(admin)} differ; v6 has one internal port: admin on ${String(admin)}, the API stays on the main port`);
  }
  if (raw['web'] === true || raw['admin'] === true) setPath(m.config, 'admin.enabled', true);
}

/** Sets `key` of `target`, merging objects with what the flat keys already put there. */
function mergeInto(target: Record<string, unknown>, key: string, value: unknown): void {
  const cur = target[key];
  if (isRecord(cur) && isRecord(value)) {
    for (const [k, v] of Object.entries(value)) mergeInto(cur, k, v);
  } else target[key] = value;
}
