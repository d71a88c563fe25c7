/**
 * Label values with bounded cardinality, as Centrifugo keeps them: a channel's namespace only when
 * the namespace is configured (else ''), an SDK's name only when it is one of the official SDKs'
 * (`unnamed` when empty, `unregistered` otherwise), and its version only for those and only in
 * `major.minor.patch` form. A client can then never grow the metric set by what it sends.
 */

/** Names the official SDKs send in `connect.name` by default. */
export const REGISTERED_CLIENT_NAMES: ReadonlySet<string> = new Set(['js', 'go', 'swift', 'java', 'dart', 'python', 'csharp', 'unity']);
const VERSION_RE = /^\d{1,4}\.\d{1,4}\.\d{1,4}$/;

export function clientNameLabel(name: string): string {
  if (name === '') return 'unnamed';
  return REGISTERED_CLIENT_NAMES.has(name) ? name : 'unregistered';
}

export function clientVersionLabel(name: string, version: string): string {
  if (version === '') return 'unversioned';
  return REGISTERED_CLIENT_NAMES.has(name) && VERSION_RE.test(version) ? version : 'unregistered';
}

/** Resolves a channel to its configured namespace's name, '' for none (or an unknown one). */
export class NamespaceLabels {
  readonly #names: ReadonlySet<string>;

  constructor(
    namespaces: readonly string[],
    /** `channel.namespace_boundary`; empty: no namespaces. */
    private readonly boundary: string,
    /** `channel.private_prefix`: skipped before the namespace, as the channel rules do. */
    private readonly privatePrefix: string,
  ) {
    this.#names = new Set(namespaces);
  }

  of(channel: string): string {
    if (this.#names.size === 0 || this.boundary === '') return '';
    const start = this.privatePrefix !== '' && channel.startsWith(this.privatePrefix) ? this.privatePrefix.length : 0;
    const i = channel.indexOf(this.boundary, start);
    if (i <= start) return '';
    const ns = channel.slice(start, i);
    return this.#names.has(ns) ? ns : '';
  }
}
