/**
 * NodeHooks that hand every event to another implementation: the class to extend when policy is
 * wrapped (an embedder's hooks, a future proxy layer, a test's changes), overriding only the
 * events that change. The optional hooks (`rpc`, `refreshExpired`, `subRefreshExpired`) are not
 * delegated: whether they exist changes behaviour (RPC answers 108 without one), so a subclass
 * decides and defines them itself.
 */
import type {
  ChannelEvent,
  ConnectEvent,
  ConnectReply,
  HistoryReply,
  NodeHooks,
  PublishEvent,
  PublishReply,
  RefreshEvent,
  RefreshReply,
  SubRefreshEvent,
  SubRefreshReply,
  SubscribeEvent,
  SubscribeReply,
} from './events.js';

export class DelegatingHooks<Base extends NodeHooks = NodeHooks> implements NodeHooks {
  constructor(protected readonly base: Base) {}

  connecting(e: ConnectEvent): ConnectReply | Promise<ConnectReply> {
    return this.base.connecting(e);
  }
  subscribing(e: SubscribeEvent): Promise<SubscribeReply> {
    return this.base.subscribing(e);
  }
  publishing(e: PublishEvent): Promise<PublishReply> {
    return this.base.publishing(e);
  }
  history(e: ChannelEvent): Promise<HistoryReply> {
    return this.base.history(e);
  }
  presence(e: ChannelEvent): Promise<void> {
    return this.base.presence(e);
  }
  presenceStats(e: ChannelEvent): Promise<void> {
    return this.base.presenceStats(e);
  }
  refreshing(e: RefreshEvent): Promise<RefreshReply> {
    return this.base.refreshing(e);
  }
  subRefreshing(e: SubRefreshEvent): Promise<SubRefreshReply> {
    return this.base.subRefreshing(e);
  }
}
