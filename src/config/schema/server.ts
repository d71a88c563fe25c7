/**
 * Process-level sections: HTTP server, logging, server APIs, admin, observability endpoints,
 * node identity, shutdown, consumers and the few top-level scalars. Centrifugo reference §10.5, §11.
 */
import { bool, dur, int, item, json, list, obj, oneOf, portString, str, strList } from './define.js';
import { tls } from './proxy.js';

function endpoint(what: string, prefix: string, flag: boolean) {
  return {
    enabled: bool(`Enables ${what}.`, false, flag ? { flag: true } : {}),
    handler_prefix: str(`URL path of ${what}.`, prefix),
  };
}

const apiErrorMode = (api: string) =>
  oneOf(
    `How ${api} reports errors: empty (the default) answers OK with the error in the response body; \`transport\` answers with transport-level status codes instead.`,
    ['', 'transport', 'custom'],
    '',
  );

export const serverSections = {
  http_server: obj('HTTP listeners: the external port for clients and an optional internal port for APIs and metrics.', {
    address: str('Host to bind the HTTP server to. Empty means all interfaces.', '', { flag: 'a' }),
    port: int('Port of the main HTTP server.', 8000, { max: 65535, flag: 'p' }),
    internal_address: str('Host to bind the internal HTTP server to (API, admin, metrics, health). Empty means the main address.', '', {
      flag: true,
    }),
    internal_port: portString(
      'Port of a separate internal HTTP server for API, admin, metrics and health. Empty serves them on the main port.',
      { flag: true },
    ),
    tls: tls('TLS for the HTTP server.'),
    tls_autocert: obj('Automatic certificates from an ACME provider such as Let\'s Encrypt.', {
      enabled: bool('Obtains certificates automatically via ACME.'),
      host_whitelist: strList('Host names certificates may be issued for. Empty allows any host, which is unsafe in production.'),
      cache_dir: str('Directory keeping issued certificates across restarts.'),
      email: str('Contact email given to the ACME provider.'),
      server_name: str('Server name (SNI) to request the certificate for.'),
      http: bool('Answers ACME http-01 challenges over plain HTTP instead of tls-alpn-01.'),
      http_addr: str('Address of the plain HTTP server for http-01 challenges.', ':80'),
    }),
    tls_external: bool('Applies TLS only to the external endpoints, leaving internal endpoints in plain HTTP.'),
    internal_tls: tls('Separate TLS for internal endpoints. When disabled the main TLS settings are used for them too.'),
    http3: obj('HTTP/3 (QUIC), experimental in Centrifugo and not implemented by Rotor.', {
      enabled: bool('Enables HTTP/3.'),
    }),
    h2c_external: bool('Serves HTTP/2 without TLS (h2c) on external endpoints. Requires internal_port.'),
  }),
  log: obj('Logging: minimum level and destination.', {
    level: oneOf(
      'Minimum level of messages written to the log, matched case-insensitively; `none` turns logging off.',
      ['none', 'trace', 'debug', 'info', 'warn', 'error', 'fatal'],
      'info',
      { flag: true, caseInsensitive: true },
    ),
    file: str('File to write logs to. Empty writes to stdout.', '', { flag: true }),
  }),
  http_api: obj('Server HTTP API (publish, broadcast, presence, ...), on the internal port unless external. The `channels` method takes a `pattern` of at most 512 characters with at most 32 wildcards and alternatives (each `*` run, `?`, `[…]` class and `{…}` alternative counts one); a larger one is refused with error 107.', {
    disabled: bool('Turns the HTTP API off.'),
    handler_prefix: str('URL path prefix of the HTTP API.', '/api'),
    key: str('API key expected in the `X-API-Key` header (or `Authorization: apikey <key>`).'),
    error_mode: apiErrorMode('the HTTP API'),
    external: bool('Serves the HTTP API on the external port.', false, { flag: true }),
    insecure: bool('Accepts API requests without a key. Only behind a firewall.', false, { flag: true }),
    v1_format: bool(
      'Answers commands POSTed to the API root (`handler_prefix` itself) as Centrifugo v1 did: one command or an array, each answered with `{"method","error","body"}`, signed with `X-API-Sign` (hex HMAC-SHA256 of the body with `client.token.hmac_secret_key`) unless `insecure`. The v6 API stays at `handler_prefix/<method>`. Set for configs read from a v1 file. Rotor extension (docs/api-v1.md).',
    ),
  }),
  grpc_api: obj('Server API over gRPC: service `centrifugal.centrifugo.api.CentrifugoApi` with every HTTP API method, including `Batch` (see docs/grpc-api.md).', {
    enabled: bool('Enables the gRPC API server.', false, { flag: true }),
    error_mode: oneOf(
      'How the gRPC API reports API errors: empty or `custom` puts them in the response\'s `error` field with status OK; `transport` answers them as gRPC statuses (102/104 NOT_FOUND, 107/108 INVALID_ARGUMENT, 112 OUT_OF_RANGE, 113 ALREADY_EXISTS, others INTERNAL). A call can ask for `transport` with metadata `x-centrifugo-error-mode: transport`. Batch always answers errors per reply.',
      ['', 'transport', 'custom'],
      '',
    ),
    address: str('Host to bind the gRPC API server to. Empty means all interfaces.'),
    port: int('Port of the gRPC API server.', 10000, { max: 65535, flag: true }),
    key: str('API key: when set, every call must carry metadata `authorization: apikey <key>` (UNAUTHENTICATED otherwise). Empty: no authentication, so keep the port private.'),
    tls: tls('TLS for the gRPC API server; client_ca_pem requires client certificates it signed.'),
    reflection: bool('Serves gRPC server reflection (v1 and v1alpha), so tools like grpcurl can list and describe methods without the .proto. Reflection calls need no key.'),
    max_receive_message_size: int('Largest request message accepted, in bytes; larger ones get RESOURCE_EXHAUSTED. 0 uses the gRPC default, 4 MiB.'),
  }),
  consumers: list(
    'Asynchronous consumers feeding server API commands from queues (not implemented by Rotor; accepted for compatibility).',
    item('One consumer.', {
      name: str('Unique consumer name.'),
      enabled: bool('Runs this consumer.'),
      type: str('Consumer type: postgresql, kafka, nats_jetstream, redis_stream, google_pub_sub, aws_sqs, azure_service_bus.'),
      postgresql: json('PostgreSQL outbox consumer settings.'),
      kafka: json('Kafka consumer settings.'),
      nats_jetstream: json('NATS JetStream consumer settings.'),
      redis_stream: json('Redis Stream consumer settings.'),
      google_pub_sub: json('Google Pub/Sub consumer settings.'),
      aws_sqs: json('AWS SQS consumer settings.'),
      azure_service_bus: json('Azure Service Bus consumer settings.'),
    }),
    { itemKey: 'name' },
  ),
  admin: obj('Admin web UI and its API, on the internal port unless external.', {
    enabled: bool('Enables the admin UI.', false, { flag: true }),
    handler_prefix: str('URL path prefix of the admin UI. Empty serves it at the root.'),
    password: str('Password for logging into the admin UI. Required with enabled unless insecure.'),
    secret: str('Secret signing admin session tokens. Required with enabled unless insecure.'),
    insecure: bool('No login for the admin UI. Only behind a firewall.', false, { flag: true }),
    web_path: str('Directory with admin UI files to serve instead of the built-in ones.'),
    web_proxy_address: str('Address of an admin UI development server to proxy to.'),
    external: bool('Serves the admin UI on the external port.', false, { flag: true }),
    v1_socket: bool(
      'Also serves Centrifugo v1\'s admin websocket at `<handler_prefix>/socket` and its login at `<handler_prefix>/auth/`, for v1\'s web interface and tools: server API commands, node info, and the publications of channels whose namespace has `watch`. Configs read from a v1 file with admin on turn it on. Rotor extension (docs/admin.md).',
    ),
  }),
  prometheus: obj('Prometheus metrics endpoint, on the internal port.', {
    ...endpoint('the Prometheus metrics endpoint', '/metrics', true),
    instrument_http_handlers: bool('Counts HTTP responses by handler and status code (some overhead).'),
    recovered_publications_histogram: bool('Records how many publications each recovery returned.'),
    native_histograms: bool('Exposes native (sparse) histograms; needs protobuf scraping (Prometheus 2.40+).'),
  }),
  health: obj('Health check endpoint, on the internal port.', endpoint('the health check endpoint', '/health', true)),
  swagger: obj('Swagger UI for the HTTP API, on the internal port.', endpoint('the Swagger UI', '/swagger', true)),
  debug: obj('Profiling endpoints, on the internal port.', endpoint('the debug/profiling endpoints', '/debug/pprof', true)),
  init: obj('Connection init endpoint: answers `{}`, for warming HTTP/2 connections and load balancer checks.', endpoint(
    'the connection init endpoint',
    '/connection/init',
    true,
  )),
  opentelemetry: obj('OpenTelemetry tracing (not implemented by Rotor).', {
    enabled: bool('Enables OpenTelemetry export.'),
    api: bool('Traces server API requests.'),
    consuming: bool('Traces consumer processing.'),
    google_cloud_adc_auth: bool('Authenticates the exporter with Google Cloud application default credentials.'),
  }),
  graphite: obj('Periodic metrics export to Graphite (not implemented by Rotor).', {
    enabled: bool('Enables Graphite export.'),
    host: str('Graphite host.', 'localhost'),
    port: int('Graphite port.', 2003, { max: 65535 }),
    prefix: str('Prefix of exported metric names.', 'centrifugo'),
    interval: dur('Interval between exports.', '10s'),
    tags: bool('Uses Graphite tagged metric names.'),
  }),
  usage_stats: obj('Anonymous usage statistics (Rotor never sends any).', {
    disabled: bool('Disables usage statistics.'),
  }),
  node: obj('Identity and housekeeping of this node.', {
    name: str('Node name shown in the admin UI and info API; unique in a cluster. Empty uses hostname and port.'),
    info_metrics_aggregate_interval: dur('How often node metrics shown by the info API are aggregated.', '60s'),
  }),
  shared_poll: obj('Experimental shared poll subscriptions (not implemented by Rotor).', {
    hmac_secret_key: str('HMAC secret for shared poll tokens.'),
    hmac_previous_secret_key: str('Previous HMAC secret during key rotation.'),
    hmac_previous_secret_key_valid_until: int('Unix time (seconds) until which the previous key is accepted.'),
    concurrency_limit: int('Maximum concurrent shared poll requests. 0 means no limit.'),
  }),
  shutdown: obj('Graceful shutdown on SIGTERM or SIGINT.', {
    timeout: dur('Maximum time for a graceful shutdown before the process exits anyway.', '30s'),
  }),
  pid_file: str('File to write the process ID to at start (removed on exit). Empty writes none.', '', { flag: true }),
  enable_unreleased_features: bool('Enables unfinished features that may change without notice.'),
};
