import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, validateConfig } from '../../../src/config/index.js';
import { configProblems } from '../../helpers/config.js';
import { tempDir } from '../../helpers/server-process.js';

const ns = (opts: Record<string, unknown>) => ({ channel: { namespaces: [{ name: 'ns', ...opts }] } });

test('checks - ping_interval must exceed pong_timeout; -1 disables either', () => {
  assert.deepEqual(configProblems({ client: { ping_interval: '5s', pong_timeout: '5s' } }), [
    'client.ping_interval: must be greater than client.pong_timeout (5s <= 5s)',
  ]);
  assert.deepEqual(configProblems({ client: { ping_interval: -1, pong_timeout: '30s' } }), []);
  assert.deepEqual(configProblems({ client: { ping_interval: '10s', pong_timeout: -1 } }), []);
  assert.deepEqual(configProblems({ client: { ping_interval: 0 } }), ['client.ping_interval: must be positive (use -1 to disable pings)']);
});

test('checks - history_size and history_ttl are both set or both zero', () => {
  assert.deepEqual(configProblems(ns({ history_size: 10 })), [
    'channel.namespaces[0].history_size: history_size and history_ttl must be both set or both zero',
  ]);
  assert.deepEqual(configProblems({ channel: { without_namespace: { history_ttl: '10s' } } }), [
    'channel.without_namespace.history_size: history_size and history_ttl must be both set or both zero',
  ]);
  assert.deepEqual(configProblems(ns({ history_size: 10, history_ttl: '10s' })), []);
});

test('checks - history_meta_ttl must be >= history_ttl (own or global)', () => {
  assert.deepEqual(configProblems(ns({ history_size: 1, history_ttl: '2h', history_meta_ttl: '1h' })), [
    'channel.namespaces[0].history_meta_ttl: must be >= history_ttl (channel.namespaces[0].history_meta_ttl is 1h, history_ttl is 2h)',
  ]);
  assert.deepEqual(configProblems({ channel: { history_meta_ttl: '1h', namespaces: [{ name: 'ns', history_size: 1, history_ttl: '2h' }] } }), [
    'channel.namespaces[0].history_meta_ttl: must be >= history_ttl (channel.history_meta_ttl is 1h, history_ttl is 2h)',
  ]);
});

test('checks - recovery options need history', () => {
  assert.deepEqual(configProblems(ns({ force_recovery: true })), ['channel.namespaces[0].force_recovery: requires history (history_size and history_ttl)']);
  assert.deepEqual(configProblems(ns({ history_size: 1, history_ttl: '1s', force_recovery: true, auto_cache_recover: true })), [
    'channel.namespaces[0].auto_cache_recover: requires force_recovery with force_recovery_mode "cache"',
  ]);
  assert.deepEqual(
    configProblems(ns({ history_size: 1, history_ttl: '1s', force_recovery: true, force_recovery_mode: 'cache', auto_cache_recover: true })),
    [],
  );
});

test('checks - namespace names: pattern and uniqueness', () => {
  assert.deepEqual(configProblems({ channel: { namespaces: [{ name: 'a' }, { name: 'ok.name-1_x' }, { name: 'ok.name-1_x' }, { name: 'bad name' }] } }), [
    'channel.namespaces[0].name: namespace name "a" must match /^[-a-zA-Z0-9_.]{2,}$/',
    'channel.namespaces[2].name: duplicate namespace name "ok.name-1_x"',
    'channel.namespaces[3].name: namespace name "bad name" must match /^[-a-zA-Z0-9_.]{2,}$/',
  ]);
  assert.deepEqual(configProblems({ channel: { namespaces: [{ presence: true }] } }), [
    'channel.namespaces[0].name: namespace name "" must match /^[-a-zA-Z0-9_.]{2,}$/',
  ]);
  assert.deepEqual(configProblems({ rpc: { namespaces: [{ name: 'rp' }, { name: 'rp' }] } }), ['rpc.namespaces[1].name: duplicate rpc namespace name "rp"']);
});

test('checks - channel_regex must compile (Go named groups accepted)', () => {
  assert.match(configProblems(ns({ channel_regex: '^[a-z' }))[0] ?? '', /^channel\.namespaces\[0\]\.channel_regex: invalid regular expression/);
  assert.deepEqual(configProblems(ns({ channel_regex: '^(?P<id>[0-9]+)$' })), []);
});

test('checks - audience/issuer and their regex variants are exclusive', () => {
  assert.deepEqual(configProblems({ client: { token: { audience: 'a', audience_regex: 'a.*', issuer: 'i', issuer_regex: 'i.*' } } }), [
    'client.token.audience_regex: cannot be used together with client.token.audience',
    'client.token.issuer_regex: cannot be used together with client.token.issuer',
  ]);
  assert.deepEqual(configProblems({ client: { subscription_token: { enabled: true, audience: 'a', audience_regex: 'b' } } }), [
    'client.subscription_token.audience_regex: cannot be used together with client.subscription_token.audience',
  ]);
  assert.deepEqual(configProblems({ client: { token: { user_id_claim: 'user-id' } } }), ['client.token.user_id_claim: must match /^[a-zA-Z_]+$/']);
});

test('checks - proxies: names, endpoints and references', () => {
  assert.deepEqual(configProblems({ proxies: [{ name: 'default', endpoint: 'http://x' }, { name: 'p2', endpoint: 'ftp://x' }, { name: 'p3' }] }), [
    'proxies[0].name: the name "default" is reserved for channel.proxy.* and rpc.proxy',
    'proxies[2].endpoint: required',
    'proxies[1].endpoint: must start with http://, https:// or grpc://, got "ftp://x"',
  ]);
  assert.deepEqual(configProblems(ns({ subscribe_proxy_enabled: true, subscribe_proxy_name: 'nope' })), [
    'channel.namespaces[0].subscribe_proxy_name: proxy "nope" is not defined in proxies',
  ]);
  const ok = validateConfig({ ...ns({ publish_proxy_enabled: true }) });
  assert.deepEqual(ok.warnings, [
    'channel.namespaces[0].publish_proxy_name: publish proxy enabled but the default proxy has no endpoint configured',
  ]);
  assert.deepEqual(configProblems(ns({ subscribe_stream_proxy_enabled: true, publish_proxy_enabled: true })).slice(0, 1), [
    'channel.namespaces[0].subscribe_stream_proxy_enabled: cannot be combined with subscribe_proxy_enabled, publish_proxy_enabled or sub_refresh_proxy_enabled',
  ]);
  // Subscribe streams are gRPC streaming calls: an http(s) proxy cannot serve them.
  assert.deepEqual(
    configProblems({ channel: { proxy: { subscribe_stream: { endpoint: 'http://backend/stream' } }, namespaces: [{ name: 'ns', subscribe_stream_proxy_enabled: true }] } }),
    ['channel.namespaces[0].subscribe_stream_proxy_name: subscribe streams need a grpc:// proxy, but channel.proxy.subscribe_stream.endpoint is "http://backend/stream"'],
  );
  assert.deepEqual(
    configProblems({
      proxies: [{ name: 'backend', endpoint: 'https://backend' }],
      channel: { namespaces: [{ name: 'ns', subscribe_stream_proxy_enabled: true, subscribe_stream_proxy_name: 'backend' }] },
    }),
    ['channel.namespaces[0].subscribe_stream_proxy_name: subscribe streams need a grpc:// proxy, but proxies[0].endpoint is "https://backend"'],
  );
  assert.deepEqual(
    configProblems({ channel: { proxy: { subscribe_stream: { endpoint: 'grpc://127.0.0.1:1' } }, namespaces: [{ name: 'ns', subscribe_stream_proxy_enabled: true }] } }),
    [],
  );
  // Each proxy object: its endpoint's form, a timeout that can pass, status rules that map to something.
  assert.deepEqual(
    configProblems({
      rpc: { proxy: { endpoint: 'http://', timeout: '0s' } },
      channel: { proxy: { subscribe: { endpoint: 'grpc://backend' }, publish: { endpoint: 'ftp://x' } } },
      proxies: [{ name: 'rules', endpoint: 'http://backend/x', http: { status_to_code_transforms: [{ status_code: 403 }, { status_code: 42, to_error: { code: 4000 } }] } }],
    }),
    [
      'channel.proxy.subscribe.endpoint: a grpc:// endpoint needs host:port, got "grpc://backend"',
      'channel.proxy.publish.endpoint: must start with http://, https:// or grpc://, got "ftp://x"',
      'rpc.proxy.endpoint: "http://" is not a URL (http://, https:// or grpc://)',
      'rpc.proxy.timeout: must be > 0',
      'proxies[0].http.status_to_code_transforms[0]: needs to_error.code or to_disconnect.code',
      'proxies[0].http.status_to_code_transforms[1].status_code: must be an HTTP status code from 100 to 999, got 42',
    ],
  );
  assert.deepEqual(configProblems({ client: { proxy: { connect: { enabled: true } } } }), [
    'client.proxy.connect.endpoint: required when client.proxy.connect.enabled is true',
  ]);
});

test('checks - personal channel namespace and admin credentials', () => {
  assert.deepEqual(configProblems({ client: { subscribe_to_user_personal_channel: { enabled: true, personal_channel_namespace: 'personal' } } }), [
    'client.subscribe_to_user_personal_channel.personal_channel_namespace: namespace "personal" is not defined in channel.namespaces',
  ]);
  assert.deepEqual(
    configProblems({
      client: { subscribe_to_user_personal_channel: { enabled: true, personal_channel_namespace: 'personal', single_connection: true } },
      channel: { namespaces: [{ name: 'personal' }] },
    }),
    ['client.subscribe_to_user_personal_channel.single_connection: requires presence in the personal channel namespace'],
  );
  assert.deepEqual(configProblems({ admin: { enabled: true } }), [
    'admin.password: required when admin.enabled is true (or set admin.insecure)',
    'admin.secret: required when admin.enabled is true (or set admin.insecure)',
  ]);
  assert.deepEqual(configProblems({ admin: { enabled: true, insecure: true } }), []);
});

test('checks - a broker without history refuses namespaces that keep history, naming the namespace', () => {
  assert.deepEqual(
    configProblems({ broker: { enabled: true, type: 'nats' }, channel: { namespaces: [{ name: 'chat', history_size: 10, history_ttl: '60s' }] } }),
    [
      'channel.namespaces[0].history_size: namespace "chat" keeps history (history_size, history_ttl), but broker.type "nats" keeps none: history, recovery and positioning need the memory or redis broker; turn history off here or change the broker',
    ],
  );
  assert.deepEqual(configProblems({ broker: { enabled: true, type: 'nats' }, channel: { namespaces: [{ name: 'chat' }] } }), []);
});

test('checks - delta types', () => {
  assert.deepEqual(configProblems(ns({ allowed_delta_types: ['fossil', 'xdelta'] })), [
    'channel.namespaces[0].allowed_delta_types: unknown delta type "xdelta" (only "fossil" is supported)',
  ]);
});

test('checks - options that are read but not implemented: errors where ignoring them would change the deployment', () => {
  assert.deepEqual(configProblems({ http_server: { tls_autocert: { enabled: true } } }), [
    'http_server.tls_autocert.enabled: ACME certificates are not implemented yet: give http_server.tls.cert_pem and key_pem, or terminate TLS in front of Rotor',
  ]);
  assert.deepEqual(configProblems({ engine: { type: 'redis', redis: { history_use_lists: true } } }), [
    'engine.redis.history_use_lists: history in Redis lists (the legacy layout) is not implemented: Rotor keeps history in Redis Streams, as Centrifugo does by default',
  ]);
  assert.deepEqual(configProblems({ broker: { enabled: true, type: 'nats' } }), []);
  assert.deepEqual(configProblems({ presence_manager: { enabled: true, type: 'redis' } }), []);
  assert.deepEqual(configProblems({ engine: { type: 'redis' } }), []);
  assert.deepEqual(configProblems({ broker: { enabled: true, type: 'memory' } }), []);
  // Centrifugo's other brokers load (a config naming one in a disabled section is fine) but are refused when chosen.
  for (const type of ['postgres', 'redisnats']) {
    assert.deepEqual(configProblems({ broker: { enabled: true, type } }), ['broker.type: the PostgreSQL and Redis+NATS brokers are not implemented: use "redis" or "nats"']);
    assert.deepEqual(configProblems({ broker: { enabled: false, type } }), []);
  }
});

test('checks - options that are read but not implemented: warnings naming each key that is set', () => {
  const { warnings } = validateConfig({
    client: { concurrency: 4, proxy: { connect: { enabled: true, endpoint: 'http://backend/connect' } } },
    prometheus: { enabled: true },
    admin: { enabled: true, insecure: true },
  } as Record<string, unknown>);
  const unimplemented = warnings.filter((w) => /not implemented/.test(w)).map((w) => w.slice(0, w.indexOf(':')));
  assert.deepEqual(unimplemented.sort(), ['client.concurrency']);
  assert.deepEqual(validateConfig({}).warnings, [], 'the defaults set nothing unimplemented');
});

test('checks - internal_tls and tls_external without a separate internal port are reported as having no effect', () => {
  const note = 'has no effect: internal endpoints share the external listener unless http_server.internal_port is set';
  assert.deepEqual(validateConfig({ http_server: { internal_tls: { enabled: true }, tls_external: true } }).warnings, [
    `http_server.internal_tls.enabled: ${note}`,
    `http_server.tls_external: ${note}`,
  ]);
  assert.deepEqual(validateConfig({ http_server: { tls_external: true, internal_port: '9001' } }).warnings, []);
});

test('checks - allowed_origins patterns must compile', () => {
  assert.deepEqual(configProblems({ client: { allowed_origins: ['*', 'https://*.example.com', 'https://{a,b}.example.com'] } }), []);
  assert.deepEqual(configProblems({ client: { allowed_origins: ['https://ok.example.com', 'https://[a.example.com'] } }), [
    'client.allowed_origins[1]: not a valid pattern: unclosed "[" at position 8',
  ]);
});

test('checks - positioning and recovery options without history are warned about (accepted, as by Centrifugo, but inert)', () => {
  const { warnings } = validateConfig({ channel: { namespaces: [{ name: 'feed', force_positioning: true, allow_positioning: true, allow_recovery: true }] } });
  assert.deepEqual(warnings, [
    'channel.namespaces[0].force_positioning: has no effect without history (history_size and history_ttl)',
    'channel.namespaces[0].allow_positioning: has no effect without history (history_size and history_ttl)',
    'channel.namespaces[0].allow_recovery: has no effect without history (history_size and history_ttl)',
  ]);
  assert.deepEqual(validateConfig({ channel: { without_namespace: { force_positioning: true, history_size: 10, history_ttl: '60s' } } }).warnings, []);
});

test('checks - an allowed_origins pattern with whitespace (several origins written as one string) is warned about', () => {
  const { warnings } = validateConfig({ client: { allowed_origins: 'https://a.example.com https://b.example.com' } });
  assert.deepEqual(warnings, [
    'client.allowed_origins[0]: "https://a.example.com https://b.example.com" contains whitespace and can never match an Origin; write several origins as a list',
  ]);
  assert.deepEqual(validateConfig({ client: { allowed_origins: ['https://a.example.com', 'https://b.example.com'] } }).warnings, []);
});

test('checks - connect_code_to_http_response transforms need a code and an HTTP status', () => {
  const uni = (section: string, transforms: unknown[]) => ({ [section]: { connect_code_to_http_response: { enabled: true, transforms } } });
  assert.deepEqual(configProblems(uni('uni_http_stream', [{ code: 109, to: { body: 'nope' } }])), [
    'uni_http_stream.connect_code_to_http_response.transforms[0].to.status_code: must be an HTTP status code from 100 to 999, got 0',
  ]);
  assert.deepEqual(configProblems(uni('uni_sse', [{ code: 109, to: { status_code: 401 } }, { to: { status_code: 42 } }])), [
    'uni_sse.connect_code_to_http_response.transforms[1].code: required: the connect error code this rule matches (non-zero)',
    'uni_sse.connect_code_to_http_response.transforms[1].to.status_code: must be an HTTP status code from 100 to 999, got 42',
  ]);
  assert.deepEqual(configProblems(uni('uni_http_stream', [{ code: 109, to: { status_code: 401, body: 'expired' } }])), []);
});

test('checks - connect_code_to_unidirectional_disconnect transforms need a code and a disconnect code', () => {
  const client = (transforms: unknown[]) => ({ client: { connect_code_to_unidirectional_disconnect: { enabled: true, transforms } } });
  const p = 'client.connect_code_to_unidirectional_disconnect.transforms';
  assert.deepEqual(configProblems(client([{ code: 109, to: { reason: 'x' } }])), [`${p}[0].to.code: required: the disconnect code to send (non-zero)`]);
  assert.deepEqual(configProblems(client([{ to: { code: 4001, reason: 'café' } }])), [
    `${p}[0].code: required: the connect error code this rule matches (non-zero)`,
    `${p}[0].to.reason: must be ASCII (it travels in a WebSocket close frame)`,
  ]);
  assert.deepEqual(configProblems(client([{ code: 109, to: { code: 4001, reason: 'expired' } }])), []);
});

test('checks - unimplemented: map subscription types refuse to start', () => {
  assert.deepEqual(configProblems(ns({ subscription_type: 'map' })), [
    'channel.namespaces[0].subscription_type: map and shared_poll subscriptions are not implemented yet: clients would get ordinary stream subscriptions instead; use "" or "stream"',
  ]);
  assert.deepEqual(configProblems({ channel: { without_namespace: { subscription_type: 'shared_poll' } } }).map((p) => p.slice(0, p.indexOf(':'))), [
    'channel.without_namespace.subscription_type',
  ]);
  assert.deepEqual(configProblems(ns({ subscription_type: 'stream' })), []);
});

test('checks - templated JWKS URLs: the issuer/audience regex groups they use must be fixed lists (v6.7 safety check)', () => {
  const jwks = 'https://{{tenant}}.auth.example.com/.well-known/jwks.json';
  const token = (t: Record<string, unknown>) => ({ client: { token: { jwks_public_endpoint: jwks, ...t } } });
  assert.deepEqual(configProblems(token({ issuer_regex: '^https://(?P<tenant>foo|bar)\\.auth\\.example\\.com$' })), []);
  const open = configProblems(token({ issuer_regex: '^(?P<tenant>[a-z]+)$' }));
  assert.equal(open.length, 1);
  assert.match(open[0]!, /^client\.token\.jwks_public_endpoint: client\.token\.issuer_regex contains a character class/);
  assert.deepEqual(configProblems(token({ issuer_regex: '^(?P<tenant>[a-z]+)$', insecure_skip_jwks_endpoint_safety_check: true })), []);
  assert.deepEqual(configProblems({ client: { token: { jwks_public_endpoint: 'https://auth.example.com/jwks.json', issuer_regex: '^[a-z]+$' } } }), []);
});

test('checks - unimplemented: WebSocket options that have no effect are warnings', () => {
  const { warnings } = validateConfig({
    websocket: { write_timeout: '5s', decompressed_message_size_limit: 1_000_000 },
    uni_websocket: { enabled: true, compression: true, write_timeout: '2s', decompressed_message_size_limit: 10 },
  });
  // Compression and the decompressed limits act (test/integration/ws-compression-limits.test.ts).
  assert.deepEqual(warnings.map((w) => w.slice(0, w.indexOf(':'))).sort(), ['uni_websocket.write_timeout', 'websocket.write_timeout']);
  assert.ok(warnings.every((w) => w.includes('not implemented yet')), warnings.join('\n'));
  assert.deepEqual(validateConfig({ websocket: { write_timeout: '1000ms' }, uni_websocket: { compression: false } }).warnings, []);
});

test('checks - lifecycle events: endpoints, retry bounds, and opt-ins with nowhere to send', () => {
  assert.deepEqual(
    configProblems({
      client: { disconnect_events_enabled: true },
      channel: { without_namespace: { state_proxy_enabled: true }, namespaces: [{ name: 'n1', unsubscribe_events_enabled: true }] },
      lifecycle_events: { retry_min_backoff: '2s', retry_max_backoff: '1s', timeout: '0s' },
    }),
    [
      'lifecycle_events.retry_max_backoff: must be >= retry_min_backoff',
      'lifecycle_events.timeout: must be > 0',
      'channel.without_namespace.state_proxy_enabled: needs channel.proxy.state.endpoint or lifecycle_events.endpoint (channels without a namespace)',
      'channel.namespaces[0].unsubscribe_events_enabled: needs lifecycle_events.endpoint (namespace "n1")',
      'client.disconnect_events_enabled: needs lifecycle_events.endpoint',
    ],
  );
  assert.deepEqual(configProblems({ lifecycle_events: { endpoint: 'grpc://backend' }, channel: { proxy: { state: { endpoint: 'mailto:x' } } } }), [
    'lifecycle_events.endpoint: a grpc:// endpoint needs host:port, got "grpc://backend"',
    'channel.proxy.state.endpoint: must start with http://, https:// or grpc://, got "mailto:x"',
  ]);
  assert.deepEqual(configProblems({ client: { disconnect_events_enabled: true }, lifecycle_events: { endpoint: 'grpc://127.0.0.1:9' } }), []);
});

test('checks - keys and variables named like Object members are unknown, not found on the prototype', async () => {
  const tmp = tempDir();
  let warnings: string[];
  try {
    const file = tmp.file('config.json', { toString: 1, client: { constructor: 2 } });
    ({ warnings } = loadConfig({ file, env: { CENTRIFUGO_CONSTRUCTOR: '1', CENTRIFUGO_TOSTRING: '2' } }));
  } finally {
    tmp.cleanup();
  }
  assert.deepEqual([...warnings].sort(), [
    'unknown config key "client.constructor"',
    'unknown config key "toString"',
    'unknown env var "CENTRIFUGO_CONSTRUCTOR"',
    'unknown env var "CENTRIFUGO_TOSTRING"',
  ]);
});

test('checks - a config file with a __proto__ key anywhere is refused, naming where (it would reach Object.prototype when migrated)', async () => {
  const tmp = tempDir();
  try {
    const v1 = tmp.file('v1.json', '{"secret":"s","api_port":"9001","__proto__":{"polluted":"yes"}}');
    assert.throws(() => loadConfig({ file: v1 }), { message: `invalid config file "${v1}": key "__proto__" is not allowed` });
    const yaml = tmp.file('c.yaml', 'channel:\n  namespaces:\n    - name: a\n      __proto__:\n        x: 1\n');
    assert.throws(() => loadConfig({ file: yaml }), { message: `invalid config file "${yaml}": key "channel.namespaces[0].__proto__" is not allowed` });
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  } finally {
    tmp.cleanup();
  }
});
