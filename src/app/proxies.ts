/**
 * The proxy layer from the config: one caller per configured proxy object (`client.proxy.connect`,
 * `client.proxy.refresh`, `channel.proxy.*`, `rpc.proxy`, each `proxies[]` entry), HTTP for
 * `http(s)://` endpoints and gRPC for `grpc://`, and `ProxyHooks` over Rotor's policy. With no
 * proxy enabled anywhere the policy is used as it is, so a JWT-only deployment pays nothing.
 */
import type { Config } from '../config/schema.js';
import type { NodeHooks } from '../node/events.js';
import type { CentrifugoPolicy } from '../rules/hooks.js';
import type { Logger } from '../util/logger.js';
import { HttpProxyCaller, type StatusTransform } from '../proxy/http-caller.js';
import { HttpPools } from '../proxy/http-pools.js';
import { GrpcProxyCaller } from '../proxy/grpc/caller.js';
import { ProxyHooks, type ChannelProxyKind } from '../proxy/hooks.js';
import { headerNeeds, type ProxyEntry } from '../proxy/requests.js';
import { RpcRouter, type RpcNamespaceRoute } from '../proxy/rpc-router.js';
import type { ProxyCaller } from '../proxy/types.js';
import { clientTls } from './tls-options.js';
import { MeteredCaller } from './metered-proxy.js';
import type { PrometheusMetrics } from '../metrics/prometheus.js';
import { proxyObjectProblems } from '../config/checks-backend.js';

export interface ProxyLayer {
  hooks: NodeHooks;
  /** Closes the backends' connection pools. */
  close(): Promise<void>;
}

type ProxySection = Config['rpc']['proxy'];

/** `metrics`: with Prometheus on, every caller is counted (metered-proxy.ts). */
export function buildProxyLayer(config: Readonly<Config>, policy: CentrifugoPolicy, log: Logger, metrics?: PrometheusMetrics): ProxyLayer {
  const callers: ProxyCaller[] = [];
  // One pool per backend for this app's proxies: another app in the process keeps its own.
  const pools = new HttpPools();
  const entries = new Map<string, ProxyEntry>();
  /** The entry of a proxy object, made once per path; undefined when it has no endpoint. */
  const entry = (path: string, p: ProxySection): ProxyEntry | undefined => {
    if (p.endpoint === '') return undefined;
    let e = entries.get(path);
    if (e === undefined) {
      const made = makeCaller(path, p, pools);
      const caller = metrics === undefined ? made : new MeteredCaller(made, p.endpoint.startsWith('grpc://') ? 'grpc' : 'http', proxyName(p) ?? 'default', metrics);
      callers.push(caller);
      e = {
        caller,
        httpHeaders: p.http_headers.map((h) => h.toLowerCase()),
        emulatedHeaders: p.emulated_headers.map((h) => h.toLowerCase()),
        grpcMetadata: p.grpc_metadata.map((h) => h.toLowerCase()),
        includeConnectionMeta: p.include_connection_meta,
        binaryEncoding: p.binary_encoding,
      };
      entries.set(path, e);
    }
    return e;
  };
  const named = (name: string, fallbackPath: string, fallback: ProxySection): ProxyEntry | undefined => {
    if (name === 'default' || name === '') return entry(fallbackPath, fallback);
    const i = config.proxies.findIndex((p) => p.name === name);
    return i < 0 ? undefined : entry(`proxies[${i}]`, config.proxies[i]!);
  };

  const cp = config.client.proxy;
  const connect = cp.connect.enabled ? entry('client.proxy.connect', cp.connect) : undefined;
  const refresh = cp.refresh.enabled ? entry('client.proxy.refresh', cp.refresh) : undefined;
  const channel = (kind: ChannelProxyKind, name: string) => named(name, `channel.proxy.${kind}`, config.channel.proxy[kind]);
  const r = config.rpc;
  const route = (o: { proxy_enabled: boolean; proxy_name: string }): RpcNamespaceRoute => ({ proxyEnabled: o.proxy_enabled, proxyName: o.proxy_name });
  const rpc = new RpcRouter(
    r.namespace_boundary,
    route(r.without_namespace),
    new Map(r.namespaces.map((n) => [n.name, route(n)])),
    (name) => named(name, 'rpc.proxy', r.proxy),
  );

  // Make every proxy a namespace or RPC route uses now, so each keeps the headers it forwards
  // and a bad endpoint fails at startup rather than at the first call.
  const namespaces = [config.channel.without_namespace, ...config.channel.namespaces];
  for (const ns of namespaces) {
    if (ns.subscribe_proxy_enabled) channel('subscribe', ns.subscribe_proxy_name);
    if (ns.publish_proxy_enabled) channel('publish', ns.publish_proxy_name);
    if (ns.sub_refresh_proxy_enabled) channel('sub_refresh', ns.sub_refresh_proxy_name);
    if (ns.subscribe_stream_proxy_enabled) channel('subscribe_stream', ns.subscribe_stream_proxy_name);
  }
  for (const n of [r.without_namespace, ...r.namespaces]) if (n.proxy_enabled) rpc.entry(n.proxy_name);
  if (entries.size === 0) return { hooks: policy, close: async () => {} };

  const hooks = new ProxyHooks(
    policy,
    { connect, refresh, channel, rpc, headerNeeds: headerNeeds([...entries.values()]), ping: { enabled: r.ping.enabled, method: r.ping.method } },
    log,
  );
  return {
    hooks,
    close: async () => {
      await Promise.allSettled(callers.map((c) => c.close()));
    },
  };
}

/** A `proxies[]` entry's name; undefined for the `client.proxy.*`, `channel.proxy.*` and `rpc.proxy` objects. */
function proxyName(p: ProxySection): string | undefined {
  return 'name' in p && typeof p.name === 'string' && p.name !== '' ? p.name : undefined;
}

function makeCaller(path: string, p: ProxySection, pools: HttpPools): ProxyCaller {
  // In logs: the config path, and a named proxy's name beside its index.
  const named = proxyName(p);
  const name = named !== undefined ? `${path} ("${named}")` : path;
  // Validated configs never fail here; one built by hand gets checkconfig's words.
  const problem = proxyObjectProblems(path, p)[0];
  if (problem !== undefined) throw new Error(`${problem.path}: ${problem.message}`);
  if (p.endpoint.startsWith('grpc://')) {
    return new GrpcProxyCaller({
      name,
      endpoint: p.endpoint,
      timeoutMs: p.timeout,
      tls: clientTls(p.grpc.tls, `${path}.grpc.tls`),
      credentials: p.grpc.credentials_key !== '' ? { key: p.grpc.credentials_key, value: p.grpc.credentials_value } : undefined,
      compression: p.grpc.compression,
      staticMetadata: lowerKeys(p.grpc.static_metadata),
    });
  }
  return new HttpProxyCaller({
    name,
    endpoint: p.endpoint,
    timeoutMs: p.timeout,
    staticHeaders: lowerKeys(p.http.static_headers),
    transforms: p.http.status_to_code_transforms.map(statusTransform),
    pools,
    ...(p.http.tls.enabled ? { tls: clientTls(p.http.tls, `${path}.http.tls`) ?? {} } : {}),
  });
}

/** A rule with neither code never gets here (`proxyObjectProblems`). */
function statusTransform(t: ProxySection['http']['status_to_code_transforms'][number]): StatusTransform {
  if (t.to_disconnect.code !== 0) return { status: t.status_code, kind: 'disconnect', code: t.to_disconnect.code, reason: t.to_disconnect.reason };
  return { status: t.status_code, kind: 'error', code: t.to_error.code, message: t.to_error.message, temporary: t.to_error.temporary };
}

function lowerKeys(m: Readonly<Record<string, string>>): ReadonlyMap<string, string> {
  return new Map(Object.entries(m).map(([k, v]) => [k.toLowerCase(), v]));
}
