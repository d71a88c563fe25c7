/**
 * The `client` section: connection authentication (JWT), limits, timers, connect/refresh
 * proxies and unidirectional disconnect mapping. Centrifugo reference §3.2–§3.6, §2.4.
 */
import { bool, dur, int, item, list, obj, str, strList } from './define.js';
import { switchableProxy } from './proxy.js';
import { clientEventFields } from './notify.js';

/** Key material and claim checks for verifying JWTs (connection or subscription tokens). */
function tokenFields() {
  return {
    hmac_secret_key: str('Shared secret for HS256/HS384/HS512 tokens.'),
    hmac_previous_secret_key: str(
      'Previous HMAC secret during key rotation: tried when the current key does not verify a token.',
    ),
    hmac_previous_secret_key_valid_until: int(
      'Unix time (seconds) after which hmac_previous_secret_key is no longer accepted. 0 means no limit.',
    ),
    rsa_public_key: str('RSA public key (PEM) for RS256/RS384/RS512 tokens.'),
    ecdsa_public_key: str('ECDSA public key (PEM) for ES256/ES384/ES512 tokens.'),
    jwks_public_endpoint: str(
      'JWKS URL to fetch verification keys from (looked up by `kid`). When set, the static keys above are not used. May contain `{{name}}` placeholders filled from named groups of issuer_regex/audience_regex.',
    ),
    audience: str('Required exact `aud` claim. Cannot be combined with audience_regex.'),
    audience_regex: str('Regular expression the `aud` claim must match (Go/RE2 syntax, linear-time; no backreferences or lookaround). Cannot be combined with audience.'),
    issuer: str('Required exact `iss` claim. Cannot be combined with issuer_regex.'),
    issuer_regex: str('Regular expression the `iss` claim must match (Go/RE2 syntax, linear-time; no backreferences or lookaround). Cannot be combined with issuer.'),
    user_id_claim: str('Claim holding the user ID instead of `sub` (letters and `_` only).'),
    insecure_skip_jwks_endpoint_safety_check: bool(
      'Allows JWKS URL placeholders filled from regex groups that are not a fixed list of alternatives. Only in trusted setups.',
    ),
  };
}

const uniDisconnectTransform = item('Maps one connect error code to the disconnect sent over unidirectional transports.', {
  code: int('Client error code returned by the connect logic (for example 109 token expired).'),
  to: obj('Disconnect to send instead.', {
    code: int('Disconnect code.'),
    reason: str('Disconnect reason.'),
  }),
});

export const clientSection = obj('Client connections: authentication, limits, timers and proxies.', {
  proxy: obj('Connection-level proxies.', {
    connect: switchableProxy(
      'Connect proxy: the backend authenticates connections that come without a JWT.',
      'Enables the connect proxy for connections without a token.',
    ),
    refresh: switchableProxy(
      'Refresh proxy: the backend extends expiring connections instead of clients sending new tokens.',
      'Enables server-side connection refresh through the proxy.',
    ),
  }),
  allowed_origins: strList(
    'Origins allowed to open browser connections, matched case-insensitively as glob patterns (`*`, `?`, `[a-z]`, `{a,b}`; for example `https://*.example.com`); `*` alone allows all. Empty rejects every request that has an Origin header. An Origin over 1024 characters matches no pattern.',
  ),
  token: obj('How connection tokens (and subscription tokens, unless subscription_token is enabled) are verified.', tokenFields()),
  subscription_token: obj('Separate verification settings for subscription tokens.', {
    enabled: bool('Verifies subscription tokens with these settings instead of client.token.'),
    ...tokenFields(),
  }),
  allow_anonymous_connect_without_token: bool('Accepts connections without a token as anonymous (empty user ID).'),
  disallow_anonymous_connection_tokens: bool('Rejects connection tokens whose user ID is empty.'),
  ping_interval: dur('How often the server pings each client. -1 disables pings.', '25s', { disableable: true }),
  pong_timeout: dur(
    'How long a bidirectional client has to answer a ping before it is disconnected. Must be less than ping_interval. -1 disables the check.',
    '8s',
    { disableable: true },
  ),
  expired_close_delay: dur('Grace period after connection expiry before an unrefreshed connection is closed.', '25s'),
  expired_sub_close_delay: dur('Grace period after subscription expiry before an unrefreshed subscription is closed.', '25s'),
  stale_close_delay: dur('How long a connection may stay open without sending connect before it is closed.', '10s'),
  channel_limit: int('Maximum number of channels one connection may be subscribed to. 0 means the default, as in Centrifugo.', 128),
  queue_max_size: int(
    'Maximum bytes queued for sending to one connection; a client this far behind is disconnected as slow. 0 means the default, as in Centrifugo.',
    1_048_576,
  ),
  write_delay: dur(
    'How long messages for one connection are collected before they are written, to send fewer and larger frames at high message rates. Adds up to this much latency; 0 writes at the end of each event-loop turn.',
  ),
  max_messages_in_frame: int('Most messages joined into one transport frame. -1 means no limit, 0 means the default.', 16, { min: -1 }),
  reply_without_queue: bool(
    'Writes command replies at once instead of through the write queue (so write_delay does not delay them). Pushes still wait.',
  ),
  presence_update_interval: dur('How often presence entries of connected clients are refreshed (also when subscription expiry is checked).', '27s'),
  concurrency: int('How many commands of one connection may run in parallel. 0 processes them one at a time.'),
  channel_position_check_delay: dur('How often positioned subscriptions check their stream position.', '40s'),
  channel_position_max_time_lag: dur(
    'Maximum PUB/SUB lag tolerated for positioned subscriptions before the subscriber is told its state is insufficient. 0 disables the check.',
  ),
  connection_limit: int('Maximum client connections on this node; more are refused with HTTP 503. 0 means no limit.'),
  user_connection_limit: int('Maximum connections per user ID on this node. 0 means no limit.'),
  connection_rate_limit: int('Maximum new connections per second on this node; more are refused with HTTP 503. 0 means no limit.'),
  connect_include_server_time: bool('Adds the server Unix time to connect replies.'),
  v1: obj(
    'Centrifugo v1 clients (the `centrifuge` 1.x SDKs), recognised by their first message on the WebSocket endpoint or over SockJS (`sockjs`). They authenticate with v1 tokens signed with `client.token.hmac_secret_key`. Rotor extension (docs/v1-clients.md).',
    {
      enabled: bool(
        'Serves Centrifugo v1 clients. Off by default: v1 tokens are HMACs over concatenated fields, which a client holding another HMAC of the same secret (a JWT, a v1 token) can sometimes re-split into credentials of its choosing, so only deployments that issue v1 tokens should accept them. Configs read from a v1 file turn it on.',
      ),
      connection_lifetime: dur(
        'A v1 connection lasts this long after the timestamp its token signs; the client refreshes it with new credentials before then (v1\'s `connection_lifetime`). 0 means it never expires.',
      ),
      client_channel_boundary: str(
        'Marks client-limited channels: in `news&<client ID>,<client ID>` only the connections named after the boundary may subscribe, v1 clients or not (v1\'s `client_channel_boundary`, "&" there). Empty: no such channels. Configs read from a v1 file set "&".',
      ),
    },
  ),
  history_max_publication_limit: int('Upper bound on the number of publications one client history call returns.', 300),
  recovery_max_publication_limit: int(
    'Upper bound on the number of publications recovered at once; more missed means the client is told recovery failed.',
    300,
  ),
  insecure_skip_token_signature_verify: bool('Trusts tokens without checking signatures. Only for development.'),
  user_id_http_header: str('HTTP header to take the user ID from (when an authenticating proxy sits in front). Empty disables.'),
  insecure: bool('Development mode: no authentication, every client operation allowed. Never use in production.', false, {
    flag: true,
  }),
  subscribe_to_user_personal_channel: obj('Server-side subscription of each authenticated user to its personal channel.', {
    enabled: bool('Subscribes every non-anonymous connection to `#<user>` (or `<namespace>:#<user>`).'),
    personal_channel_namespace: str('Namespace of personal channels; it must exist. Empty uses channels without namespace.'),
    single_connection: bool(
      'Keeps one connection per user: a new one disconnects the others. Needs presence in the personal channel namespace.',
    ),
  }),
  connect_code_to_unidirectional_disconnect: obj(
    'Custom mapping of connect errors to disconnect codes for unidirectional transports.',
    {
      enabled: bool('Applies the transforms below.'),
      transforms: list('Mapping rules, first match wins.', uniDisconnectTransform),
    },
  ),
  ...clientEventFields(),
});
