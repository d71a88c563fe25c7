/**
 * Which RPC proxy a method goes to (spec §3.9): a method `ns:name` (boundary `rpc.namespace_boundary`,
 * `:` by default) uses namespace `ns` of `rpc.namespaces`, any other method `rpc.without_namespace`.
 * Each says whether it proxies (`proxy_enabled`) and which proxy (`proxy_name`: `default` is
 * `rpc.proxy`, else a `proxies[]` entry).
 */
import type { ProxyEntry } from './requests.js';

export interface RpcNamespaceRoute {
  proxyEnabled: boolean;
  proxyName: string;
}

/**
 * Where a method goes: to the named proxy; nowhere because its namespace does not proxy (the
 * client gets 108 not available); or nowhere because its namespace does not exist (104 method
 * not found), as Centrifugo answers.
 */
export type RpcRoute = { kind: 'proxy'; name: string } | { kind: 'not_proxied' } | { kind: 'unknown_namespace' };

export class RpcRouter {
  readonly anyProxy: boolean;

  constructor(
    private readonly boundary: string,
    private readonly withoutNamespace: RpcNamespaceRoute,
    private readonly namespaces: ReadonlyMap<string, RpcNamespaceRoute>,
    /** The proxy of a name: `default` or a `proxies[]` name. */
    readonly entry: (name: string) => ProxyEntry | undefined,
  ) {
    this.anyProxy = withoutNamespace.proxyEnabled || [...namespaces.values()].some((n) => n.proxyEnabled);
  }

  route(method: string): RpcRoute {
    // The text before the first boundary names the namespace; none, or an empty one, is without namespace.
    const i = this.boundary === '' ? -1 : method.indexOf(this.boundary);
    const route = i <= 0 ? this.withoutNamespace : this.namespaces.get(method.slice(0, i));
    if (route === undefined) return { kind: 'unknown_namespace' };
    return route.proxyEnabled ? { kind: 'proxy', name: route.proxyName } : { kind: 'not_proxied' };
  }
}
