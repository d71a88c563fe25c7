/**
 * Builds a subscription's mechanics (`SubscriptionOptions`) from namespace options, token or API
 * overrides, and what the client asked for (spec §4.3 "Then:" and §5.4).
 */
import type { SubscriptionOptions } from '../node/events.js';
import type { ChannelRules, NamespaceOptions } from './channels.js';

/** BoolValue overrides from a token's `subs`/`override` or the server API `override`. */
export interface OptionOverride {
  presence?: boolean;
  joinLeave?: boolean;
  forcePushJoinLeave?: boolean;
  forceRecovery?: boolean;
  forcePositioning?: boolean;
}

export interface ClientAsks {
  positioned: boolean;
  recoverable: boolean;
  joinLeave: boolean;
  /** The connection may read history (unlocks client-requested positioning/recovery). */
  historyAllowed: boolean;
  /** The connection may read presence (unlocks client-requested join/leave pushes). */
  presenceAllowed: boolean;
}

export const NOTHING_ASKED: ClientAsks = { positioned: false, recoverable: false, joinLeave: false, historyAllowed: false, presenceAllowed: false };

export interface Extras {
  chanInfo?: Uint8Array;
  data?: Uint8Array;
  /** Unix seconds; 0 = never. */
  expireAt?: number;
  override?: OptionOverride;
}

/**
 * Subscriptions without anything of their own (no channel info, data, expiry or override) share
 * one frozen options object per namespace and client request: thousands of subscribers of a
 * namespace then hold one object instead of one each.
 */
export function buildSubscriptionOptions(rules: ChannelRules, ns: NamespaceOptions, asks: ClientAsks, extras: Extras = {}): SubscriptionOptions {
  if (extras.chanInfo === undefined && extras.data === undefined && !extras.expireAt && extras.override === undefined) {
    const key = (asks.positioned ? 1 : 0) | (asks.recoverable ? 2 : 0) | (asks.joinLeave ? 4 : 0) | (asks.historyAllowed ? 8 : 0) | (asks.presenceAllowed ? 16 : 0);
    return rules.sharedSubscriptionOptions(ns, key, () => Object.freeze(build(rules, ns, asks, extras)));
  }
  return build(rules, ns, asks, extras);
}

function build(rules: ChannelRules, ns: NamespaceOptions, asks: ClientAsks, extras: Extras): SubscriptionOptions {
  const ov = extras.override ?? {};
  const hasHistory = rules.historyRetention(ns) !== undefined;
  const emitPresence = ov.presence ?? ns.presence;
  const emitJoinLeave = ov.joinLeave ?? ns.join_leave;
  const pushJoinLeave = (ov.forcePushJoinLeave ?? ns.force_push_join_leave) || (asks.joinLeave && emitJoinLeave && asks.presenceAllowed);
  const enableRecovery = hasHistory && ((ov.forceRecovery ?? ns.force_recovery) || (asks.recoverable && (ns.allow_recovery || asks.historyAllowed)));
  const enablePositioning = hasHistory && (enableRecovery || (ov.forcePositioning ?? ns.force_positioning) || (asks.positioned && (ns.allow_positioning || asks.historyAllowed)));
  const out: SubscriptionOptions = {
    emitPresence,
    emitJoinLeave,
    pushJoinLeave,
    enablePositioning,
    enableRecovery,
    recoveryMode: ns.force_recovery_mode === 'cache' ? 'cache' : 'stream',
    expireAt: extras.expireAt ?? 0,
    allowedDeltaTypes: ns.allowed_delta_types,
    historyMetaTtlMs: rules.metaTtlMs(ns),
    allowTagsFilter: ns.allow_tags_filter,
  };
  if (extras.chanInfo !== undefined) out.chanInfo = extras.chanInfo;
  if (extras.data !== undefined) out.data = extras.data;
  return out;
}
