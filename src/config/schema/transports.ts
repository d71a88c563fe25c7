/**
 * Transport sections: bidirectional WebSocket / HTTP-streaming / SSE (+ emulation),
 * WebTransport and the unidirectional transports. Centrifugo reference §8.
 */
import { bool, dur, int, item, list, obj, str } from './define.js';
import { tls } from './proxy.js';

const MIB64K = 65_536;

function wsFields(what: string) {
  return {
    compression: bool(`Negotiates permessage-deflate for ${what}. Costs CPU and memory per connection.`),
    compression_min_size: int('Only messages larger than this many bytes are compressed. 0 compresses all.'),
    compression_level: int('Deflate level from 1 (fastest) to 9 (smallest).', 1, { min: -2, max: 9 }),
    read_buffer_size: int('Read buffer size in bytes. 0 uses the default.'),
    use_write_buffer_pool: bool('Shares write buffers between connections to save memory for mostly idle connections.'),
    write_buffer_size: int('Write buffer size in bytes. 0 uses the default.'),
    write_timeout: dur('Deadline for one write to the socket; a client that cannot take data this fast is disconnected.', '1000ms'),
    message_size_limit: int(
      'Largest message a client may send, in bytes, as read from the wire (compressed, when compression is on). A larger one closes the connection with 1009. 0 means 65536.',
      MIB64K,
    ),
    decompressed_message_size_limit: int(
      'Largest message after decompression, in bytes (only with compression; an uncompressed message counts as is). 0 means 10 times message_size_limit. A larger one closes the connection with 1009, inflated no further.',
    ),
  };
}

function httpResponseMapping() {
  return obj('Answers failed connects with an HTTP status and body instead of a disconnect push.', {
    enabled: bool('Applies the transforms below.'),
    transforms: list(
      'Mapping rules, first match wins.',
      item('Maps one connect error code to an HTTP response.', {
        code: int('Client error code returned by the connect logic.'),
        to: obj('HTTP response to send instead.', {
          status_code: int('HTTP status code.'),
          body: str('Response body. Empty uses the error message.'),
        }),
      }),
    ),
  });
}

export const transportSections = {
  websocket: obj('Bidirectional WebSocket transport (on by default).', {
    disabled: bool('Turns the WebSocket endpoint off.'),
    handler_prefix: str('URL path of the WebSocket endpoint.', '/connection/websocket'),
    ...wsFields('WebSocket connections'),
  }),
  sse: obj('Bidirectional emulation over Server-Sent Events (commands go to the emulation endpoint).', {
    enabled: bool('Enables the SSE endpoint.', false, { flag: true }),
    handler_prefix: str('URL path of the SSE endpoint.', '/connection/sse'),
    max_request_body_size: int('Largest connect request body in bytes.', MIB64K),
  }),
  http_stream: obj('Bidirectional emulation over HTTP streaming (commands go to the emulation endpoint).', {
    enabled: bool('Enables the HTTP-streaming endpoint.', false, { flag: true }),
    handler_prefix: str('URL path of the HTTP-streaming endpoint.', '/connection/http_stream'),
    max_request_body_size: int('Largest connect request body in bytes.', MIB64K),
  }),
  emulation: obj('Endpoint receiving client commands for SSE and HTTP-streaming sessions.', {
    handler_prefix: str('URL path of the emulation endpoint.', '/emulation'),
    max_request_body_size: int('Largest emulation request body in bytes.', MIB64K),
  }),
  sockjs: obj(
    'SockJS, for Centrifugo v1 browser clients (`centrifuge` 1.x with `sockjs-client`); v2 SDKs of Centrifugo v2–v5 that used SockJS work too. Centrifugo dropped SockJS in v6. Rotor extension (docs/v1-clients.md).',
    {
      enabled: bool('Serves SockJS under handler_prefix. Configs read from a v1 file turn it on.'),
      handler_prefix: str('URL path SockJS is served under (its info, iframe and session URLs live below it); `/connection` as in v1, whose clients connect to it by that name.', '/connection'),
      heartbeat_delay: dur('A SockJS heartbeat goes to an idle session this often, so proxies keep it open (v1\'s `sockjs_heartbeat_delay`).', '25s'),
      url: str('Where the SockJS iframe page loads sockjs-client from (iframe-based transports only).', 'https://cdn.jsdelivr.net/npm/sockjs-client@1/dist/sockjs.min.js'),
      message_size_limit: int('Largest message a client may send, in bytes; a larger one closes the session with 3501 (invalid message for v1 clients).', MIB64K),
    },
  ),
  webtransport: obj('WebTransport over HTTP/3 (experimental in Centrifugo; not implemented by Rotor).', {
    enabled: bool('Enables the WebTransport endpoint.'),
    handler_prefix: str('URL path of the WebTransport endpoint.', '/connection/webtransport'),
    message_size_limit: int('Largest message a client may send, in bytes.', MIB64K),
  }),
  uni_sse: obj('Unidirectional Server-Sent Events: server-to-client pushes only.', {
    enabled: bool('Enables the unidirectional SSE endpoint.', false, { flag: true }),
    handler_prefix: str('URL path of the unidirectional SSE endpoint.', '/connection/uni_sse'),
    max_request_body_size: int('Largest connect request body in bytes (POST).', MIB64K),
    connect_code_to_http_response: httpResponseMapping(),
  }),
  uni_http_stream: obj('Unidirectional HTTP streaming: server-to-client pushes only.', {
    enabled: bool('Enables the unidirectional HTTP-streaming endpoint.', false, { flag: true }),
    handler_prefix: str('URL path of the unidirectional HTTP-streaming endpoint.', '/connection/uni_http_stream'),
    max_request_body_size: int('Largest connect request body in bytes.', MIB64K),
    connect_code_to_http_response: httpResponseMapping(),
  }),
  uni_websocket: obj('Unidirectional WebSocket: server-to-client pushes only.', {
    enabled: bool('Enables the unidirectional WebSocket endpoint.', false, { flag: true }),
    handler_prefix: str('URL path of the unidirectional WebSocket endpoint.', '/connection/uni_websocket'),
    ...wsFields('unidirectional WebSocket connections'),
    disable_closing_handshake: bool('Closes the socket without sending a close frame (behaviour before Centrifugo 6.5.1).'),
    disable_disconnect_push: bool('Does not send a disconnect push before the close frame, which carries the same code and reason.'),
    join_push_messages: bool('Sends several pushes in one frame, separated by newlines, to save system calls.'),
  }),
  uni_grpc: obj(
    'Unidirectional gRPC transport: service `centrifugal.centrifugo.unistream.CentrifugoUniStream`, where one `Consume(ConnectRequest)` call is one connection receiving a stream of Push messages (protobuf). Outside connection_limit and connection_rate_limit. See docs/uni-grpc.md.',
    {
      enabled: bool('Starts the unidirectional gRPC server on its own port.', false, { flag: true }),
      address: str('Host to bind the unidirectional gRPC server to. Empty means all interfaces.'),
      port: int('Port of the unidirectional gRPC server.', 11000, { max: 65535, flag: true }),
      max_receive_message_size: int(
        'Largest ConnectRequest accepted, in bytes; a larger one ends the call with RESOURCE_EXHAUSTED. 0 uses the gRPC default of 4 MiB.',
      ),
      tls: tls(
        'TLS for the unidirectional gRPC server: cert_pem and key_pem, and client_ca_pem to require client certificates it signed (mutual TLS). The client-side fields (server_ca_pem, server_name, insecure_skip_verify) do not apply.',
      ),
    },
  ),
};
