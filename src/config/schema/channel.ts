/**
 * Channel options (one namespace), the `channel` section and the `rpc` section.
 * Centrifugo reference §4.2 (options), §3.9 (proxies), §4.1 (name rules).
 */
import { bool, dur, int, item, json, list, obj, oneOf, str, strList } from './define.js';
import { proxy } from './proxy.js';
import { namespaceEventFields, stateProxy } from './notify.js';

/** Options of one channel namespace; the same keys configure `channel.without_namespace`. */
function channelOptionFields() {
  return {
    presence: bool('Keeps presence information (who is subscribed) for channels. Without it presence and presence_stats fail with error 108.'),
    join_leave: bool('Emits join/leave events when clients subscribe/unsubscribe. Delivered to subscribers that asked for them.'),
    force_push_join_leave: bool('Pushes join/leave events to every subscriber, without the client asking for them.'),
    history_size: int('Maximum number of publications kept in each channel history stream. Must be set together with history_ttl; 0 disables history.'),
    history_ttl: dur('How long publications stay in history (second precision). Must be set together with history_size; 0 disables history.'),
    history_meta_ttl: dur(
      'How long the stream meta (epoch and top offset) lives after the last publication. 0 inherits channel.history_meta_ttl. Must be >= history_ttl.',
    ),
    force_positioning: bool('Makes every subscription positioned: the server checks the client does not miss publications in the stream.'),
    allow_positioning: bool('Lets clients ask for positioning themselves (otherwise they need history permission for that).'),
    force_recovery: bool('Makes every subscription recoverable: on resubscribe missed publications are sent from history. Requires history.'),
    allow_recovery: bool('Lets clients ask for recovery themselves (otherwise they need history permission for that).'),
    force_recovery_mode: oneOf(
      'How recovery works: `stream` replays missed publications, `cache` sends only the latest publication.',
      ['stream', 'cache'],
      'stream',
    ),
    auto_cache_recover: bool(
      'Sends the latest publication on every (re)subscribe, also for server-side subscriptions. Requires force_recovery with force_recovery_mode `cache`.',
    ),
    allowed_delta_types: strList('Delta compression types clients may negotiate on subscribe. Only `fossil` exists.'),
    delta_publish: bool('Marks every publication in these channels as eligible for delta compression.'),
    watch: bool('Sends every publication in these channels to the Centrifugo v1 admin websocket connections that watch (`admin.v1_socket`), on every node. Rotor extension (v1\'s `watch`).'),
    allow_tags_filter: bool('Lets subscribers pass a tags filter so they receive only publications whose tags match.'),
    allow_subscribe_for_client: bool(
      'Any authenticated (non-anonymous) connection may subscribe without a subscription token. Never applies to private (`$`) or user-limited channels.',
    ),
    allow_subscribe_for_anonymous: bool('Extends allow_subscribe_for_client to anonymous connections.'),
    allow_publish_for_client: bool('Any authenticated connection may publish from the client side.'),
    allow_publish_for_subscriber: bool('Connections subscribed to the channel may publish into it.'),
    allow_publish_for_anonymous: bool('Extends the publish permissions above to anonymous connections.'),
    allow_presence_for_client: bool('Any authenticated connection may call presence and presence_stats.'),
    allow_presence_for_subscriber: bool('Subscribed connections may call presence and presence_stats.'),
    allow_presence_for_anonymous: bool('Extends the presence permissions above to anonymous connections.'),
    allow_history_for_client: bool('Any authenticated connection may call history (this also unlocks client-asked positioning/recovery).'),
    allow_history_for_subscriber: bool('Subscribed connections may call history.'),
    allow_history_for_anonymous: bool('Extends the history permissions above to anonymous connections.'),
    allow_user_limited_channels: bool('Enables user-limited channels: `name#42,43` may be subscribed only by users 42 and 43.'),
    channel_regex: str(
      'Regular expression the channel name (the part after `namespace:`) must match for client operations. Replaces the ASCII check when set. Go (RE2) syntax and semantics, matched in time linear in the name: backreferences and lookaround are invalid.',
    ),
    publication_data_format: oneOf(
      'Data accepted in publications: `json` (any JSON), `json_object` (JSON objects only), `binary` (anything, empty allowed). Empty inherits channel.publication_data_format.',
      ['', 'json', 'json_object', 'binary'],
      '',
    ),
    subscribe_proxy_enabled: bool('Asks the subscribe proxy whether a client may subscribe (when it has no subscription token).'),
    subscribe_proxy_name: str('Proxy used for subscribe: `default` is channel.proxy.subscribe, other names refer to proxies[].', 'default'),
    publish_proxy_enabled: bool('Asks the publish proxy about every client-side publication; it decides alone.'),
    publish_proxy_name: str('Proxy used for publish: `default` is channel.proxy.publish, other names refer to proxies[].', 'default'),
    sub_refresh_proxy_enabled: bool('Refreshes expiring subscriptions through the sub_refresh proxy instead of client-sent tokens.'),
    sub_refresh_proxy_name: str('Proxy used for sub_refresh: `default` is channel.proxy.sub_refresh, other names refer to proxies[].', 'default'),
    subscribe_stream_proxy_enabled: bool(
      'Subscriptions become streams served by a gRPC backend. Cannot be combined with the subscribe, publish or sub_refresh proxies.',
    ),
    subscribe_stream_proxy_name: str(
      'Proxy used for subscribe streams: `default` is channel.proxy.subscribe_stream, other names refer to proxies[].',
      'default',
    ),
    subscribe_stream_proxy_bidirectional: bool('Uses bidirectional subscribe streams, so client publications go into the stream.'),
    subscription_type: oneOf(
      'Subscription type clients must request: empty or `stream` for ordinary channels; `map`, `map_clients`, `map_users`, `shared_poll` are experimental Centrifugo features (not implemented by Rotor).',
      ['', 'stream', 'map', 'map_clients', 'map_users', 'shared_poll'],
      '',
    ),
    map: json('Settings of experimental map subscriptions. Accepted for compatibility; Rotor does not use them.'),
    shared_poll: json('Settings of experimental shared poll subscriptions. Accepted for compatibility; Rotor does not use them.'),
    map_clients_presence_channel_prefix: str('Prefix of map-based client presence channels (experimental; not used by Rotor).'),
    map_users_presence_channel_prefix: str('Prefix of map-based user presence channels (experimental; not used by Rotor).'),
    ...namespaceEventFields(),
  };
}

/** Schema of one `channel.namespaces[]` item. */
export const namespaceItem = item('One channel namespace: channels named `<name>:<rest>` use these options.', {
  name: str('Namespace name: at least 2 characters from `-a-zA-Z0-9_.`, unique among namespaces.'),
  ...channelOptionFields(),
});

/** Schema of `channel.without_namespace` (the same options, no name). */
export const withoutNamespace = obj(
  'Options for channels without a namespace prefix. Usually better left strict and used with explicit namespaces.',
  channelOptionFields(),
);

export const channelSection = obj('Channels: namespaces, name rules and channel proxies.', {
  proxy: obj('Default (`default`-named) proxies for channel events, used by namespaces that enable a proxy without naming one.', {
    subscribe: proxy('Proxy asked whether a client may subscribe.'),
    publish: proxy('Proxy asked about client-side publications.'),
    sub_refresh: proxy('Proxy that extends expiring subscriptions.'),
    subscribe_stream: proxy('gRPC proxy serving subscribe streams.'),
    map_publish: proxy('Proxy for experimental map publications (not used by Rotor).'),
    map_remove: proxy('Proxy for experimental map key removals (not used by Rotor).'),
    shared_poll_refresh: proxy('Proxy for experimental shared poll refreshes (not used by Rotor).'),
    state: stateProxy,
  }),
  without_namespace: withoutNamespace,
  namespaces: list('Channel namespaces, each with its own options, matched by the channel name prefix before `:`.', namespaceItem, {
    itemKey: 'name',
  }),
  history_meta_ttl: dur(
    'Default lifetime of history stream meta (epoch and offset) after the last publication; namespaces may override it. 720h = 30 days.',
    '720h',
  ),
  publication_data_format: oneOf(
    'Publication data format for all channels unless a namespace sets its own: empty (non-empty JSON required), `json`, `json_object`, `binary`.',
    ['', 'json', 'json_object', 'binary'],
    '',
  ),
  max_length: int('Maximum channel name length in characters, checked for client-side subscriptions.', 255),
  private_prefix: str('Channels starting with this prefix need a subscription token whatever the namespace allows.', '$'),
  namespace_boundary: str('Separator between namespace and the rest of the channel name.', ':'),
  user_boundary: str('Separator before the user list of a user-limited channel (the last occurrence counts).', '#'),
  user_separator: str('Separator between user IDs in a user-limited channel.', ','),
});

const rpcOptionFields = () => ({
  proxy_enabled: bool('Sends RPC calls of this namespace to the RPC proxy.'),
  proxy_name: str('Proxy used for RPC: `default` is rpc.proxy, other names refer to proxies[].', 'default'),
});

export const rpcSection = obj('Client RPC calls: namespaces, proxy and the built-in ping method.', {
  proxy: proxy('Default (`default`-named) RPC proxy.'),
  without_namespace: obj('RPC options for methods without a namespace prefix.', rpcOptionFields()),
  namespaces: list(
    'RPC namespaces: methods named `<name>:<method>` use these options.',
    item('One RPC namespace.', {
      name: str('RPC namespace name: at least 2 characters from `-a-zA-Z0-9_.`, unique.'),
      ...rpcOptionFields(),
    }),
    { itemKey: 'name' },
  ),
  ping: obj('Built-in RPC method answering with an empty result, handy for checking the connection.', {
    enabled: bool('Enables the built-in ping RPC method.'),
    method: str('Name of the built-in ping RPC method.', 'ping'),
  }),
  namespace_boundary: str('Separator between RPC namespace and method name.', ':'),
});
