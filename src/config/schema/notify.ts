/**
 * Lifecycle events to the application backend (a Rotor extension; docs/lifecycle-events.md):
 * the `lifecycle_events` section, and the opt-ins that hook into `client` and channel namespaces.
 * Channel state events reuse Centrifugo PRO's keys: the `channel.proxy.state` endpoint and the
 * namespace option `state_proxy_enabled`.
 */
import { bool, dur, int, obj, str, strMap } from './define.js';
import { proxy, proxyFields, tls } from './proxy.js';

// The gRPC options are the proxies' (TLS, per-call credential, compression, static metadata).
const { grpc } = proxyFields();

export const lifecycleEventsSection = obj(
  'Rotor extension: disconnect, unsubscribe and channel state (occupied/vacated) events sent to the application backend in batches, at least once, through a bounded queue (docs/lifecycle-events.md). Nothing is sent unless an endpoint is set and an event kind is enabled (client.disconnect_events_enabled, a namespace\'s unsubscribe_events_enabled or state_proxy_enabled).',
  {
    endpoint: str(
      'Where events go: an `http://` or `https://` URL (POST of `{"events":[...]}`) or `grpc://host:port` (rotor.notify.LifecycleNotifier/Notify, src/notify/notify.proto). Empty: no disconnect or unsubscribe events, and channel state events only to channel.proxy.state.',
    ),
    timeout: dur('How long a batch may wait for the backend\'s answer; a batch not answered in time is sent again.', '5s'),
    http: obj('Options used when the endpoint is HTTP.', {
      static_headers: strMap('Headers added to every request. Values may reference `${CENTRIFUGO_VAR_NAME}` env vars.'),
      tls: tls('TLS for an `https://` endpoint: a private CA, a client certificate. The system roots when off.'),
    }),
    grpc,
    queue_size: int('Events held while waiting for the backend, per endpoint. When full, new events are dropped and counted (a warning at most every 10 s with the count).', 100_000, { min: 1 }),
    batch_size: int('Events per request at most.', 100, { min: 1 }),
    batch_max_delay: dur('Longest an event waits for its batch to fill before the batch is sent anyway. While a batch is in flight, the next one fills meanwhile.', '100ms'),
    retry_min_backoff: dur('Delay before the first retry of a batch the backend did not take; it doubles per attempt, with jitter, up to retry_max_backoff.', '200ms'),
    retry_max_backoff: dur('Longest delay between two attempts to send one batch. Batches are retried until delivered, refused for good (a 4xx other than 408/429) or the node stops.', '10s'),
    vacated_delay: dur('How long a channel must stay without subscribers on every node before `vacated` is sent. A channel subscribed again within it sends nothing (reconnects are absorbed).', '5s'),
    node_ttl: dur('Redis engine: a node whose heartbeat for channel state is older than this is taken for dead, and the channels only it had are vacated (vacated_delay later). Heartbeats go every node_ttl/4.', '20s'),
    flush_timeout: dur('At shutdown, how long Rotor keeps sending what is queued (the disconnects of the shutdown included) before giving up on the rest (logged with the count).', '5s'),
  },
);

/** `channel.proxy.state`: Centrifugo PRO's endpoint for channel state events. */
export const stateProxy = proxy(
  'Centrifugo PRO\'s channel state endpoint: where occupied/vacated events of namespaces with state_proxy_enabled go, in PRO\'s shape (gRPC: CentrifugoProxy/NotifyChannelState). Empty: they go to lifecycle_events.endpoint. Queue, batching and retries as lifecycle_events says; only endpoint, timeout, http.static_headers, http.tls and grpc are used.',
);

/** Namespace opt-ins (channel.without_namespace and every channel.namespaces[] item). */
export function namespaceEventFields() {
  return {
    state_proxy_enabled: bool(
      'Sends occupied/vacated events for these channels (Centrifugo PRO\'s option name; presence is not required in Rotor). Needs channel.proxy.state.endpoint or lifecycle_events.endpoint.',
    ),
    unsubscribe_events_enabled: bool(
      'Rotor extension: sends an `unsubscribe` event to lifecycle_events.endpoint whenever a subscription to these channels ends (client unsubscribe, server unsubscribe, disconnect, expiry, insufficient state).',
    ),
  };
}

/** `client` opt-in. */
export function clientEventFields() {
  return {
    disconnect_events_enabled: bool(
      'Rotor extension: sends a `disconnect` event (client, user, code, reason, connection duration) to lifecycle_events.endpoint whenever a connection that had connected ends.',
    ),
  };
}
