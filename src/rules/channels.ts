/**
 * Channel names and namespaces (spec §4.1–§4.2): resolves a channel to its namespace options,
 * validates names for client-side operations, and answers the user-boundary question.
 * Option objects keep Centrifugo's snake_case keys so the loaded config can be passed as is.
 */
import { errors } from '../protocol/errors.js';
import { goRegExp, type GoRegExp } from '../util/go-regexp.js';
import { isAscii } from '../util/ascii.js';
import type { HistoryRetention } from '../node/events.js';
import type { SubscriptionOptions } from '../node/events.js';

/** One namespace's options (or `channel.without_namespace`). Durations are ms. */
export interface NamespaceOptions {
  readonly presence: boolean;
  readonly join_leave: boolean;
  readonly force_push_join_leave: boolean;
  readonly history_size: number;
  readonly history_ttl: number;
  /** 0 = inherit `channel.history_meta_ttl`. */
  readonly history_meta_ttl: number;
  readonly force_positioning: boolean;
  readonly allow_positioning: boolean;
  readonly force_recovery: boolean;
  readonly allow_recovery: boolean;
  /** `stream` (default, also for "") or `cache`. */
  readonly force_recovery_mode: string;
  readonly allowed_delta_types: readonly string[];
  readonly delta_publish: boolean;
  readonly watch: boolean;
  readonly allow_subscribe_for_client: boolean;
  readonly allow_subscribe_for_anonymous: boolean;
  readonly allow_publish_for_client: boolean;
  readonly allow_publish_for_subscriber: boolean;
  readonly allow_publish_for_anonymous: boolean;
  readonly allow_presence_for_client: boolean;
  readonly allow_presence_for_subscriber: boolean;
  readonly allow_presence_for_anonymous: boolean;
  readonly allow_history_for_client: boolean;
  readonly allow_history_for_subscriber: boolean;
  readonly allow_history_for_anonymous: boolean;
  readonly allow_user_limited_channels: boolean;
  /** Pattern the name part after `ns:` must match; replaces the ASCII check when set. */
  readonly channel_regex: string;
  /** "" (reject empty data), `json`, `json_object` or `binary`; "" here inherits the global one. */
  readonly publication_data_format: string;
  readonly subscribe_proxy_enabled: boolean;
  /** `default` (channel.proxy.subscribe) or a `proxies[]` name; the same for the other `*_proxy_name`. */
  readonly subscribe_proxy_name: string;
  readonly publish_proxy_enabled: boolean;
  readonly publish_proxy_name: string;
  readonly sub_refresh_proxy_enabled: boolean;
  readonly sub_refresh_proxy_name: string;
  readonly subscribe_stream_proxy_enabled: boolean;
  readonly subscribe_stream_proxy_name: string;
  readonly subscribe_stream_proxy_bidirectional: boolean;
  readonly allow_tags_filter: boolean;
}

export interface ChannelRulesOptions {
  readonly without_namespace: NamespaceOptions;
  readonly namespaces: readonly (NamespaceOptions & { readonly name: string })[];
  /** Default stream meta TTL, ms (720h). */
  readonly history_meta_ttl: number;
  readonly publication_data_format: string;
  readonly max_length: number;
  readonly private_prefix: string;
  readonly namespace_boundary: string;
  readonly user_boundary: string;
  readonly user_separator: string;
}

export interface ResolvedChannel {
  /** "" for channels without a namespace. */
  readonly namespace: string;
  readonly options: NamespaceOptions;
  /** Name after the namespace boundary (what `channel_regex` applies to). */
  readonly name: string;
}

interface CompiledNamespace {
  readonly options: NamespaceOptions;
  /** Linear-time (RE2) matcher: the channel name comes from the client. */
  readonly regex: GoRegExp | undefined;
}

export class ChannelRules {
  private readonly byName = new Map<string, CompiledNamespace>();
  /** Shared subscription options per namespace and request bits (see buildSubscriptionOptions). */
  private readonly shared = new Map<NamespaceOptions, SubscriptionOptions[]>();
  private readonly root: CompiledNamespace;

  constructor(readonly opts: ChannelRulesOptions) {
    this.root = compile(opts.without_namespace);
    for (const ns of opts.namespaces) this.byName.set(ns.name, compile(ns));
  }

  /** Resolves the namespace; throws 102 unknown channel when the namespace is not configured. */
  resolve(channel: string): ResolvedChannel {
    const o = this.opts;
    let rest = channel;
    if (o.private_prefix !== '' && rest.startsWith(o.private_prefix)) rest = rest.slice(o.private_prefix.length);
    const i = o.namespace_boundary === '' ? -1 : rest.indexOf(o.namespace_boundary);
    if (i < 0) return { namespace: '', options: this.root.options, name: rest };
    const namespace = rest.slice(0, i);
    // Nothing before the boundary (`:chat`) names no namespace: the channel is outside any, as in Centrifugo.
    if (namespace === '') return { namespace: '', options: this.root.options, name: rest.slice(i + o.namespace_boundary.length) };
    const ns = this.byName.get(namespace);
    if (ns === undefined) throw errors.unknownChannel();
    return { namespace, options: ns.options, name: rest.slice(i + o.namespace_boundary.length) };
  }

  /**
   * Name checks for client-side operations: ASCII (or the namespace regex when set) and, for
   * subscribe, `channel.max_length`. Throws 107 bad request.
   */
  validateName(r: ResolvedChannel, channel: string, checkLength: boolean): void {
    if (checkLength && this.opts.max_length > 0 && channel.length > this.opts.max_length) throw errors.badRequest();
    const compiled = r.namespace === '' ? this.root : this.byName.get(r.namespace);
    const re = compiled?.regex;
    if (re !== undefined) {
      if (!re.test(r.name)) throw errors.badRequest();
    } else if (!isAscii(channel)) throw errors.badRequest();
  }

  isPrivate(channel: string): boolean {
    return this.opts.private_prefix !== '' && channel.startsWith(this.opts.private_prefix);
  }

  /** True when the channel has a user boundary and the namespace enables user-limited channels. */
  isUserLimited(r: ResolvedChannel, channel: string): boolean {
    return r.options.allow_user_limited_channels && this.opts.user_boundary !== '' && channel.includes(this.opts.user_boundary);
  }

  /** Users allowed in a user-limited channel: text after the last `#`, split by `,`. */
  userAllowed(channel: string, user: string): boolean {
    if (user === '') return false;
    const i = channel.lastIndexOf(this.opts.user_boundary);
    if (i < 0) return false;
    return channel.slice(i + this.opts.user_boundary.length).split(this.opts.user_separator).includes(user);
  }

  /** History retention of the namespace, or undefined when history is off. */
  historyRetention(options: NamespaceOptions): HistoryRetention | undefined {
    if (options.history_size <= 0 || options.history_ttl <= 0) return undefined;
    return { size: options.history_size, ttlMs: options.history_ttl, metaTtlMs: this.metaTtlMs(options) };
  }

  metaTtlMs(options: NamespaceOptions): number {
    return options.history_meta_ttl > 0 ? options.history_meta_ttl : this.opts.history_meta_ttl;
  }

  /** Effective publication data format: the namespace's, else the global one. */
  dataFormat(options: NamespaceOptions): string {
    return options.publication_data_format !== '' ? options.publication_data_format : this.opts.publication_data_format;
  }

  /** The shared options object for `(ns, key)`, built once by `make`. */
  sharedSubscriptionOptions(ns: NamespaceOptions, key: number, make: () => SubscriptionOptions): SubscriptionOptions {
    let byKey = this.shared.get(ns);
    if (byKey === undefined) this.shared.set(ns, (byKey = []));
    return (byKey[key] ??= make());
  }

  /** Personal channel of a user: `#42` or `<namespace>:#42`. */
  personalChannel(user: string, namespace: string): string {
    const base = this.opts.user_boundary + user;
    return namespace === '' ? base : namespace + this.opts.namespace_boundary + base;
  }
}

/** `channel_regex` is written in Go's syntax (see `goRegExp`), as `checkconfig` compiles it. */
function compile(options: NamespaceOptions): CompiledNamespace {
  const source = options.channel_regex;
  return { options, regex: source !== '' ? goRegExp(source) : undefined };
}

/**
 * Checks publication data against `publication_data_format`. Throws 107 when it does not fit:
 * "" rejects empty data, `json` needs valid JSON, `json_object` a JSON object, `binary` anything.
 */
export function checkDataFormat(format: string, data: Uint8Array): void {
  if (format === 'binary') return;
  if (data.byteLength === 0) throw errors.badRequest();
  if (format !== 'json' && format !== 'json_object') return;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch {
    throw errors.badRequest();
  }
  if (format === 'json_object' && (typeof v !== 'object' || v === null || Array.isArray(v))) throw errors.badRequest();
}
