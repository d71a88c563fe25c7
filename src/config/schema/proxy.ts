/**
 * Shared sub-object shapes: the TLS object and the proxy object (Centrifugo §3.9), plus the
 * top-level `proxies[]` list of named proxies.
 */
import { bool, dur, int, item, list, obj, str, strList, strMap } from './define.js';

/** TLS settings; PEM fields take raw PEM, base64-encoded PEM or a file path (tried in that order). */
export function tls(doc: string) {
  return obj(doc, {
    enabled: bool('Turns TLS on for this listener or client.'),
    cert_pem: str('Certificate in PEM form: raw PEM text, base64-encoded PEM, or a path to a PEM file.'),
    key_pem: str('Private key for cert_pem, in the same forms (raw PEM, base64 PEM or file path).'),
    server_ca_pem: str(
      'CA bundle used by a client to verify the server it connects to (raw PEM, base64 PEM or file path). Empty means system roots.',
    ),
    client_ca_pem: str(
      'CA bundle used by a server to verify client certificates (mutual TLS). Empty means client certificates are not requested.',
    ),
    insecure_skip_verify: bool('Client side: accept any server certificate. Only for tests; it defeats the point of TLS.'),
    server_name: str('Client side: server name used for SNI and certificate verification, when it differs from the host.'),
  });
}

const statusTransform = item('Maps one HTTP status returned by the proxy backend to a client error or disconnect.', {
  status_code: int('HTTP status code (from a non-200 proxy response) this rule matches.'),
  to_error: obj('Client error to answer with when the status matches (used when code is non-zero).', {
    code: int('Client error code, 400-1999 for application errors.'),
    message: str('Error message sent to the client.'),
    temporary: bool('Marks the error temporary, so SDKs may retry.'),
  }),
  to_disconnect: obj('Disconnect to apply when the status matches (used when code is non-zero).', {
    code: int('Disconnect code, 4000-4999 for application disconnects.'),
    reason: str('Disconnect reason sent to the client.'),
  }),
});

/** Fields every proxy object has, whatever it proxies. */
export function proxyFields() {
  return {
    endpoint: str(
      'Where to send proxy requests: `http://` or `https://` URL for HTTP JSON POST, `grpc://host:port` for gRPC. Empty means the proxy is not configured.',
    ),
    timeout: dur('How long to wait for the backend answer before treating the call as failed.', '1s'),
    http_headers: strList(
      'Names of headers from the client HTTP request (the one that opened the connection) to forward to the backend.',
    ),
    emulated_headers: strList(
      'Names of headers the client sent inside its connect command (`ConnectRequest.headers`) to forward to the backend.',
    ),
    grpc_metadata: strList('Keys of incoming gRPC metadata (uni_grpc connections) to forward to the backend.'),
    include_connection_meta: bool(
      'Adds the connection `meta` (from the connect token or connect proxy) to proxy requests. Has no effect for connect.',
    ),
    binary_encoding: bool(
      'Sends payloads base64-encoded in `b64data`/`b64info` instead of raw JSON, for binary data; requests carry `encoding: "binary"`.',
    ),
    http: obj('Options used when the endpoint is HTTP.', {
      static_headers: strMap(
        'Extra headers added to every HTTP proxy request; they have the lowest priority. Values may reference `${CENTRIFUGO_VAR_NAME}` env vars.',
      ),
      status_to_code_transforms: list(
        'Turns non-200 HTTP statuses from the backend into specific client errors or disconnects instead of the generic internal error.',
        statusTransform,
      ),
      tls: tls('TLS for `https://` endpoints: a CA to verify the backend, a client certificate to present. Off: the system roots.'),
    }),
    grpc: obj('Options used when the endpoint is gRPC.', {
      tls: tls('TLS for the gRPC connection to the backend.'),
      credentials_key: str('Metadata key of a per-call credential sent with every gRPC proxy request.'),
      credentials_value: str('Value for credentials_key.'),
      compression: bool('Enables gzip compression of gRPC proxy requests.'),
      static_metadata: strMap('Extra gRPC metadata added to every proxy request.'),
    }),
  };
}

/** A proxy object (one backend endpoint and how to talk to it). */
export function proxy(doc: string) {
  return obj(doc, proxyFields());
}

/** A proxy object with its own on/off switch (client.proxy.connect / refresh). */
export function switchableProxy(doc: string, enabledDoc: string) {
  return obj(doc, { enabled: bool(enabledDoc), ...proxyFields() });
}

export const proxiesList = list(
  'Named proxies. Namespaces pick one with `*_proxy_name`; the name `default` is reserved for the `channel.proxy.*` / `rpc.proxy` objects.',
  item('One named proxy.', {
    name: str('Unique proxy name, matching `^[-a-zA-Z0-9_.]{2,}$`. Namespaces refer to it in `*_proxy_name` options.'),
    ...proxyFields(),
  }),
  { itemKey: 'name' },
);
