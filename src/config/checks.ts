/**
 * Checks that span several options, run after the schema has parsed and defaulted everything.
 * Each problem names the key path it is about, as the schema errors do.
 */
import { formatDuration } from './duration.js';
import type { ConfigIssue } from './errors.js';
import type { ChannelOptions, Config } from './schema.js';
import { unimplementedIssues } from './unimplemented.js';
import { lifecycleProblems, proxyObjectProblems, proxyObjects } from './checks-backend.js';
import { compileGlob } from '../util/glob.js';
import { goRegExp } from '../util/go-regexp.js';
import { checkTemplateSafety } from '../util/jwks-template.js';
import { isAscii } from '../util/ascii.js';
import { messageOf } from '../util/message-of.js';

export interface CheckResult {
  readonly errors: ConfigIssue[];
  readonly warnings: string[];
}

const NAME_RE = /^[-a-zA-Z0-9_.]{2,}$/;
const USER_ID_CLAIM_RE = /^[a-zA-Z_]+$/;

function globError(pattern: string): string | undefined {
  try {
    compileGlob(pattern);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Compiles a regex written in Go's syntax (see `goRegExp`): the error text, or undefined when valid. */
export function regexError(pattern: string): string | undefined {
  try {
    goRegExp(pattern);
    return undefined;
  } catch (err) {
    return messageOf(err);
  }
}

class Collector implements CheckResult {
  readonly errors: ConfigIssue[] = [];
  readonly warnings: string[] = [];
  error(path: string, message: string): void {
    this.errors.push({ path, message });
  }
}

/**
 * Problems of connect-code mapping rules (Centrifugo's validate.go rejects the same). A rule
 * without a status would make Node throw RangeError on the first matching connect; one without
 * a disconnect code would close the connection with code 0.
 */
const TRANSFORM_MESSAGES = {
  code: 'required: the connect error code this rule matches (non-zero)',
  statusCode: 'must be an HTTP status code from 100 to 999',
  disconnectCode: 'required: the disconnect code to send (non-zero)',
  asciiReason: 'must be ASCII (it travels in a WebSocket close frame)',
} as const;

const MIN_HTTP_STATUS = 100;
const MAX_HTTP_STATUS = 999;

/** `uni_sse` / `uni_http_stream` `connect_code_to_http_response.transforms`. */
function checkHttpResponseTransforms(c: Collector, config: Config): void {
  for (const section of ['uni_sse', 'uni_http_stream'] as const) {
    const p = `${section}.connect_code_to_http_response.transforms`;
    config[section].connect_code_to_http_response.transforms.forEach((t, i) => {
      if (t.code === 0) c.error(`${p}[${i}].code`, TRANSFORM_MESSAGES.code);
      const status = t.to.status_code;
      if (status < MIN_HTTP_STATUS || status > MAX_HTTP_STATUS) c.error(`${p}[${i}].to.status_code`, `${TRANSFORM_MESSAGES.statusCode}, got ${status}`);
    });
  }
}

/** `client.connect_code_to_unidirectional_disconnect.transforms`. */
function checkUniDisconnectTransforms(c: Collector, config: Config): void {
  const p = 'client.connect_code_to_unidirectional_disconnect.transforms';
  config.client.connect_code_to_unidirectional_disconnect.transforms.forEach((t, i) => {
    if (t.code === 0) c.error(`${p}[${i}].code`, TRANSFORM_MESSAGES.code);
    if (t.to.code === 0) c.error(`${p}[${i}].to.code`, TRANSFORM_MESSAGES.disconnectCode);
    if (!isAscii(t.to.reason)) c.error(`${p}[${i}].to.reason`, TRANSFORM_MESSAGES.asciiReason);
  });
}

type ProxyKind = 'subscribe' | 'publish' | 'sub_refresh' | 'subscribe_stream';

function checkProxyRef(c: Collector, config: Config, path: string, kind: string, name: string, defaultEndpoint: string): void {
  if (name === 'default') {
    if (defaultEndpoint === '') c.warnings.push(`${path}: ${kind} proxy enabled but the default proxy has no endpoint configured`);
    return;
  }
  if (!config.proxies.some((p) => p.name === name)) c.error(path, `proxy "${name}" is not defined in proxies`);
}

function checkChannelOptions(c: Collector, config: Config, opts: ChannelOptions, p: string): void {
  const historyOn = opts.history_size > 0 && opts.history_ttl > 0;
  if ((opts.history_size > 0) !== (opts.history_ttl > 0)) {
    c.error(`${p}.history_size`, 'history_size and history_ttl must be both set or both zero');
  }
  const metaTtl = opts.history_meta_ttl > 0 ? opts.history_meta_ttl : config.channel.history_meta_ttl;
  if (opts.history_ttl > metaTtl) {
    const where = opts.history_meta_ttl > 0 ? `${p}.history_meta_ttl` : 'channel.history_meta_ttl';
    c.error(
      `${p}.history_meta_ttl`,
      `must be >= history_ttl (${where} is ${formatDuration(metaTtl)}, history_ttl is ${formatDuration(opts.history_ttl)})`,
    );
  }
  if (opts.force_recovery && !historyOn) c.error(`${p}.force_recovery`, 'requires history (history_size and history_ttl)');
  // Accepted, as by Centrifugo, but they do nothing without a stream to position in.
  for (const key of ['force_positioning', 'allow_positioning', 'allow_recovery'] as const) {
    if (opts[key] && !historyOn && (opts.history_size > 0) === (opts.history_ttl > 0)) c.warnings.push(`${p}.${key}: has no effect without history (history_size and history_ttl)`);
  }
  if (historyOn && config.broker.enabled && config.broker.type === 'nats') {
    const which = 'name' in opts && typeof opts.name === 'string' ? `namespace "${opts.name}" keeps` : 'channels without a namespace keep';
    c.error(
      `${p}.history_size`,
      `${which} history (history_size, history_ttl), but broker.type "nats" keeps none: history, recovery and positioning need the memory or redis broker; turn history off here or change the broker`,
    );
  }
  if (opts.auto_cache_recover && !(opts.force_recovery && opts.force_recovery_mode === 'cache')) {
    c.error(`${p}.auto_cache_recover`, 'requires force_recovery with force_recovery_mode "cache"');
  }
  if (opts.channel_regex !== '') {
    const err = regexError(opts.channel_regex);
    if (err !== undefined) c.error(`${p}.channel_regex`, `invalid regular expression: ${err}`);
  }
  for (const t of opts.allowed_delta_types) {
    if (t !== 'fossil') c.error(`${p}.allowed_delta_types`, `unknown delta type "${t}" (only "fossil" is supported)`);
  }
  if (opts.subscribe_stream_proxy_enabled && (opts.subscribe_proxy_enabled || opts.publish_proxy_enabled || opts.sub_refresh_proxy_enabled)) {
    c.error(
      `${p}.subscribe_stream_proxy_enabled`,
      'cannot be combined with subscribe_proxy_enabled, publish_proxy_enabled or sub_refresh_proxy_enabled',
    );
  }
  const kinds: ProxyKind[] = ['subscribe', 'publish', 'sub_refresh', 'subscribe_stream'];
  for (const kind of kinds) {
    if (opts[`${kind}_proxy_enabled`]) {
      const name = opts[`${kind}_proxy_name`];
      checkProxyRef(c, config, `${p}.${kind}_proxy_name`, kind, name, config.channel.proxy[kind].endpoint);
    }
  }
  if (opts.subscribe_stream_proxy_enabled) {
    // Streams are gRPC streaming calls: an HTTP endpoint cannot serve them.
    const name = opts.subscribe_stream_proxy_name;
    const named = name === 'default' ? undefined : config.proxies.findIndex((x) => x.name === name);
    const at = named === undefined ? 'channel.proxy.subscribe_stream.endpoint' : `proxies[${named}].endpoint`;
    const endpoint = named === undefined ? config.channel.proxy.subscribe_stream.endpoint : (config.proxies[named]?.endpoint ?? '');
    if (endpoint !== '' && !endpoint.startsWith('grpc://')) {
      c.error(`${p}.subscribe_stream_proxy_name`, `subscribe streams need a grpc:// proxy, but ${at} is ${JSON.stringify(endpoint)}`);
    }
  }
}

function checkNames(c: Collector, items: readonly { name: string }[], listPath: string, what: string, re = NAME_RE): void {
  const seen = new Set<string>();
  items.forEach((it, i) => {
    if (!re.test(it.name)) c.error(`${listPath}[${i}].name`, `${what} name ${JSON.stringify(it.name)} must match ${String(re)}`);
    else if (seen.has(it.name)) c.error(`${listPath}[${i}].name`, `duplicate ${what} name "${it.name}"`);
    seen.add(it.name);
  });
}

function checkToken(c: Collector, t: Config['client']['token'], p: string): void {
  if (t.audience !== '' && t.audience_regex !== '') c.error(`${p}.audience_regex`, `cannot be used together with ${p}.audience`);
  if (t.issuer !== '' && t.issuer_regex !== '') c.error(`${p}.issuer_regex`, `cannot be used together with ${p}.issuer`);
  for (const key of ['audience_regex', 'issuer_regex'] as const) {
    const err = t[key] === '' ? undefined : regexError(t[key]);
    if (err !== undefined) c.error(`${p}.${key}`, `invalid regular expression: ${err}`);
  }
  if (t.user_id_claim !== '' && !USER_ID_CLAIM_RE.test(t.user_id_claim)) {
    c.error(`${p}.user_id_claim`, `must match ${String(USER_ID_CLAIM_RE)}`);
  }
  if (t.jwks_public_endpoint !== '' && !t.insecure_skip_jwks_endpoint_safety_check) {
    try {
      checkTemplateSafety(t.jwks_public_endpoint, [
        { option: `${p}.issuer_regex`, source: t.issuer_regex },
        { option: `${p}.audience_regex`, source: t.audience_regex },
      ]);
    } catch (err) {
      c.error(`${p}.jwks_public_endpoint`, (err as Error).message);
    }
  }
}

function checkClient(c: Collector, config: Config): void {
  const { ping_interval: ping, pong_timeout: pong } = config.client;
  if (ping === 0) c.error('client.ping_interval', 'must be positive (use -1 to disable pings)');
  if (pong === 0) c.error('client.pong_timeout', 'must be positive (use -1 to disable the pong check)');
  if (ping > 0 && pong > 0 && ping <= pong) {
    c.error(
      'client.ping_interval',
      `must be greater than client.pong_timeout (${formatDuration(ping)} <= ${formatDuration(pong)})`,
    );
  }
  checkToken(c, config.client.token, 'client.token');
  checkToken(c, config.client.subscription_token, 'client.subscription_token');
  config.client.allowed_origins.forEach((pattern, i) => {
    const err = pattern === '*' ? undefined : globError(pattern);
    if (err !== undefined) c.error(`client.allowed_origins[${i}]`, `not a valid pattern: ${err}`);
    // A file's string is a list of one (as in Centrifugo); only the environment variable splits on spaces.
    else if (/\s/.test(pattern)) {
      c.warnings.push(`client.allowed_origins[${i}]: ${JSON.stringify(pattern)} contains whitespace and can never match an Origin; write several origins as a list`);
    }
  });
  for (const kind of ['connect', 'refresh'] as const) {
    const proxy = config.client.proxy[kind];
    if (proxy.enabled && proxy.endpoint === '') {
      c.error(`client.proxy.${kind}.endpoint`, `required when client.proxy.${kind}.enabled is true`);
    }
  }
  const personal = config.client.subscribe_to_user_personal_channel;
  if (personal.enabled) {
    let opts: ChannelOptions | undefined = config.channel.without_namespace;
    if (personal.personal_channel_namespace !== '') {
      opts = config.channel.namespaces.find((ns) => ns.name === personal.personal_channel_namespace);
      if (opts === undefined) {
        c.error(
          'client.subscribe_to_user_personal_channel.personal_channel_namespace',
          `namespace "${personal.personal_channel_namespace}" is not defined in channel.namespaces`,
        );
      }
    }
    if (opts !== undefined && personal.single_connection && !opts.presence) {
      c.error('client.subscribe_to_user_personal_channel.single_connection', 'requires presence in the personal channel namespace');
    }
  }
}

/** Named proxies, every proxy object, and lifecycle events (checks-backend.ts). */
function checkProxies(c: Collector, config: Config): void {
  checkNames(c, config.proxies, 'proxies', 'proxy');
  config.proxies.forEach((p, i) => {
    if (p.name === 'default') c.error(`proxies[${i}].name`, 'the name "default" is reserved for channel.proxy.* and rpc.proxy');
    if (p.endpoint === '') c.error(`proxies[${i}].endpoint`, 'required');
  });
  for (const { path, p } of proxyObjects(config)) c.errors.push(...proxyObjectProblems(path, p));
  c.errors.push(...lifecycleProblems(config));
}

/**
 * Whether `http_server.internal_port` asks for a listener of its own. Port 0 means "any free
 * port", so `internal_port: 0` with `port: 0` is a second listener too.
 */
export function hasSeparateInternalPort(hs: Config['http_server']): boolean {
  return hs.internal_port !== '' && (hs.internal_port !== String(hs.port) || hs.port === 0);
}

/** TLS keys that only apply to a separate internal listener. */
function checkListeners(c: Collector, config: Config): void {
  const hs = config.http_server;
  if (hasSeparateInternalPort(hs)) return;
  const note = 'has no effect: internal endpoints share the external listener unless http_server.internal_port is set';
  if (hs.internal_tls.enabled) c.warnings.push(`http_server.internal_tls.enabled: ${note}`);
  if (hs.tls_external) c.warnings.push(`http_server.tls_external: ${note}`);
}

/** All cross-field checks; `errors` make the config invalid, `warnings` are only logged. */
export function crossChecks(config: Config): CheckResult {
  const c = new Collector();
  checkListeners(c, config);
  checkClient(c, config);
  checkHttpResponseTransforms(c, config);
  checkUniDisconnectTransforms(c, config);
  checkProxies(c, config);
  checkChannelOptions(c, config, config.channel.without_namespace, 'channel.without_namespace');
  checkNames(c, config.channel.namespaces, 'channel.namespaces', 'namespace');
  config.channel.namespaces.forEach((ns, i) => checkChannelOptions(c, config, ns, `channel.namespaces[${i}]`));
  checkNames(c, config.rpc.namespaces, 'rpc.namespaces', 'rpc namespace');
  const rpcRefs = [
    { opts: config.rpc.without_namespace, path: 'rpc.without_namespace' },
    ...config.rpc.namespaces.map((ns, i) => ({ opts: ns, path: `rpc.namespaces[${i}]` })),
  ];
  for (const { opts, path } of rpcRefs) {
    if (opts.proxy_enabled) checkProxyRef(c, config, `${path}.proxy_name`, 'rpc', opts.proxy_name, config.rpc.proxy.endpoint);
  }
  if (config.admin.enabled && !config.admin.insecure) {
    if (config.admin.password === '') c.error('admin.password', 'required when admin.enabled is true (or set admin.insecure)');
    if (config.admin.secret === '') c.error('admin.secret', 'required when admin.enabled is true (or set admin.insecure)');
  }
  if (config.redis_api_queue.enabled) {
    const broker = config.broker.enabled ? config.broker.type : config.engine.type;
    if (config.engine.type !== 'redis') c.error('redis_api_queue.enabled', 'needs the Redis engine (engine.type: redis), whose Redis holds the queue');
    // A command run again after a node died must not publish twice: only the Redis broker keeps
    // idempotency keys for every node.
    else if (broker !== 'redis') c.error('redis_api_queue.enabled', `needs a Redis broker (broker.type is ${broker}): commands run again after a node dies rely on its idempotency keys`);
    else if (config.engine.redis.cluster_address.length > 0) c.error('redis_api_queue.enabled', 'does not work on a Redis Cluster (engine.redis.cluster_address): its scripts touch several keys');
  }
  const missing = unimplementedIssues(config);
  c.errors.push(...missing.errors);
  c.warnings.push(...missing.warnings);
  return c;
}
