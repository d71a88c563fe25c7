/**
 * Checks of the options that reach the application backend: each proxy object (endpoint form,
 * timeout, status transforms) and lifecycle events (endpoints, retry bounds, and opt-ins that
 * have nowhere to send). `rotor checkconfig` reports them with the rest; app/ runs the same
 * functions when it builds the callers, so a config that skipped validation (an embedder's
 * hand-made object) fails at start with the same words.
 */
import type { ConfigIssue } from './errors.js';
import type { Config } from './schema.js';

type ProxySection = Config['rpc']['proxy'];

const MIN_HTTP_STATUS = 100;
const MAX_HTTP_STATUS = 999;

/**
 * Problems of one endpoint URL: `http(s)://` must parse as a URL, `grpc://` needs host:port, and
 * no other scheme is served. Empty (not configured) is none.
 */
export function endpointProblems(path: string, endpoint: string): ConfigIssue[] {
  if (endpoint === '') return [];
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return [{ path, message: `"${endpoint}" is not a URL (http://, https:// or grpc://)` }];
  }
  if (url.protocol === 'grpc:') {
    return url.hostname === '' || url.port === '' ? [{ path, message: `a grpc:// endpoint needs host:port, got ${JSON.stringify(endpoint)}` }] : [];
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return [{ path, message: `must start with http://, https:// or grpc://, got ${JSON.stringify(endpoint)}` }];
  return [];
}

/** Problems of one proxy object at `path` (`client.proxy.connect`, `proxies[2]`, ...). */
export function proxyObjectProblems(path: string, p: ProxySection): ConfigIssue[] {
  const out = endpointProblems(`${path}.endpoint`, p.endpoint);
  if (p.endpoint !== '' && p.timeout <= 0) out.push({ path: `${path}.timeout`, message: 'must be > 0' });
  p.http.status_to_code_transforms.forEach((t, i) => {
    const at = `${path}.http.status_to_code_transforms[${i}]`;
    if (t.status_code < MIN_HTTP_STATUS || t.status_code > MAX_HTTP_STATUS) {
      out.push({ path: `${at}.status_code`, message: `must be an HTTP status code from 100 to 999, got ${t.status_code}` });
    }
    if (t.to_error.code === 0 && t.to_disconnect.code === 0) out.push({ path: at, message: 'needs to_error.code or to_disconnect.code' });
  });
  return out;
}

/** Every proxy object of the config with its path. */
export function proxyObjects(config: Config): Array<{ path: string; p: ProxySection }> {
  const cp = config.client.proxy;
  const ch = config.channel.proxy;
  return [
    { path: 'client.proxy.connect', p: cp.connect },
    { path: 'client.proxy.refresh', p: cp.refresh },
    { path: 'channel.proxy.subscribe', p: ch.subscribe },
    { path: 'channel.proxy.publish', p: ch.publish },
    { path: 'channel.proxy.sub_refresh', p: ch.sub_refresh },
    { path: 'channel.proxy.subscribe_stream', p: ch.subscribe_stream },
    { path: 'rpc.proxy', p: config.rpc.proxy },
    ...config.proxies.map((p, i) => ({ path: `proxies[${i}]`, p })),
  ];
}

/** Lifecycle events: endpoints, retry bounds, and each opt-in that has no endpoint to send to. */
export function lifecycleProblems(config: Config): ConfigIssue[] {
  const s = config.lifecycle_events;
  const state = config.channel.proxy.state;
  const out = [...endpointProblems('lifecycle_events.endpoint', s.endpoint), ...endpointProblems('channel.proxy.state.endpoint', state.endpoint)];
  if (s.retry_min_backoff <= 0) out.push({ path: 'lifecycle_events.retry_min_backoff', message: 'must be > 0' });
  if (s.retry_max_backoff < s.retry_min_backoff) out.push({ path: 'lifecycle_events.retry_max_backoff', message: 'must be >= retry_min_backoff' });
  if (s.timeout <= 0) out.push({ path: 'lifecycle_events.timeout', message: 'must be > 0' });
  if (s.node_ttl <= 0) out.push({ path: 'lifecycle_events.node_ttl', message: 'must be > 0' });
  if (state.endpoint !== '' && state.timeout <= 0) out.push({ path: 'channel.proxy.state.timeout', message: 'must be > 0' });
  const main = s.endpoint !== '';
  const anyState = main || state.endpoint !== '';
  const ch = config.channel;
  const scopes: Array<[string, string, { unsubscribe_events_enabled: boolean; state_proxy_enabled: boolean }]> = [
    ['channel.without_namespace', 'channels without a namespace', ch.without_namespace],
    ...ch.namespaces.map((ns, i): [string, string, typeof ns] => [`channel.namespaces[${i}]`, `namespace "${ns.name}"`, ns]),
  ];
  for (const [path, which, o] of scopes) {
    if (o.unsubscribe_events_enabled && !main) out.push({ path: `${path}.unsubscribe_events_enabled`, message: `needs lifecycle_events.endpoint (${which})` });
    if (o.state_proxy_enabled && !anyState) {
      out.push({ path: `${path}.state_proxy_enabled`, message: `needs channel.proxy.state.endpoint or lifecycle_events.endpoint (${which})` });
    }
  }
  if (config.client.disconnect_events_enabled && !main) out.push({ path: 'client.disconnect_events_enabled', message: 'needs lifecycle_events.endpoint' });
  return out;
}
