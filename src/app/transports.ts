/**
 * Mounts the client transports that the config enables on the external listener. Every transport
 * shares the node, the codecs, the origin policy and the connection admission.
 */
import type { Config } from '../config/schema.js';
import type { Node } from '../node/node.js';
import { jsonCodec } from '../protocol/json/codec.js';
import { protobufCodec } from '../protocol/protobuf/codec.js';
import type { HttpListener } from '../http/server.js';
import { MAX_ORIGIN_LENGTH, OriginChecker } from '../util/origin.js';
import { Admission } from '../transport/shared/admission.js';
import { WebSocketHandler } from '../transport/websocket.js';
import { HttpStreamHandler } from '../transport/http-stream.js';
import { SseHandler } from '../transport/sse.js';
import { EmulationHandler, NodeEmulationRouter } from '../transport/emulation.js';
import { UniHttpHandler } from '../transport/uni-http.js';
import { UniWebSocketHandler } from '../transport/uni-websocket.js';
import { SockJsHandler } from '../transport/sockjs.js';

const codecs = { json: jsonCodec, protobuf: protobufCodec };

/** Handlers holding resources that must be released at stop. */
export interface MountedTransports {
  close(): void;
}

export function mountTransports(config: Readonly<Config>, node: Node, external: HttpListener): MountedTransports {
  const c = config.client;
  // Refusals are logged at info for every transport, at most once per 10 s per origin or reason
  // (util/rate-log.ts): a page or a client retrying cannot flood the log.
  const origins = new OriginChecker(c.allowed_origins, (origin) => {
    const shown = origin.length > MAX_ORIGIN_LENGTH ? `${origin.slice(0, MAX_ORIGIN_LENGTH)}…` : origin;
    node.rateLog.write('info', `origin\u0000${shown}`, { origin: shown }, 'request Origin is not allowed');
  });
  const admission = new Admission(
    c.connection_limit,
    c.connection_rate_limit,
    () => node.hub.numConnections,
    () => node.metrics.connectionLimitReached(),
    (reason) => node.rateLog.write('info', `admission\u0000${reason}`, { reason }, 'connection refused'),
  );
  const pingIntervalMs = c.ping_interval > 0 ? c.ping_interval : 0;
  const closers: (() => void)[] = [];

  if (!config.websocket.disabled) {
    const w = config.websocket;
    const ws = new WebSocketHandler(node, codecs, origins, admission, {
      messageSizeLimit: w.message_size_limit,
      compression: w.compression,
      decompressedMessageSizeLimit: w.decompressed_message_size_limit,
      compressionLevel: w.compression_level,
      compressionMinSize: w.compression_min_size,
      pingIntervalMs: pingIntervalMs > 0 ? pingIntervalMs : 25_000,
      v1: c.v1.enabled,
    });
    external.upgrade(w.handler_prefix, (req, socket, head) => ws.handleUpgrade(req, socket, head));
    closers.push(() => ws.close());
  }
  if (config.http_stream.enabled) {
    const h = new HttpStreamHandler(node, codecs, origins, admission, { maxRequestBodySize: config.http_stream.max_request_body_size });
    external.route(config.http_stream.handler_prefix, (req, res) => h.handle(req, res));
  }
  if (config.sse.enabled) {
    const h = new SseHandler(node, jsonCodec, origins, admission, { maxRequestBodySize: config.sse.max_request_body_size });
    external.route(config.sse.handler_prefix, (req, res) => h.handle(req, res));
  }
  if (config.http_stream.enabled || config.sse.enabled) {
    const e = new EmulationHandler(new NodeEmulationRouter(node), origins, config.emulation.max_request_body_size);
    external.route(config.emulation.handler_prefix, (req, res) => e.handle(req, res));
  }
  for (const kind of ['uni_http_stream', 'uni_sse'] as const) {
    const t = config[kind];
    if (!t.enabled) continue;
    const h = new UniHttpHandler(node, jsonCodec, origins, admission, {
      kind,
      maxRequestBodySize: t.max_request_body_size,
      connectCodeToHttpResponse: t.connect_code_to_http_response,
    });
    external.route(t.handler_prefix, (req, res) => h.handle(req, res));
  }
  if (config.uni_websocket.enabled) {
    const u = config.uni_websocket;
    const h = new UniWebSocketHandler(node, jsonCodec, origins, admission, {
      messageSizeLimit: u.message_size_limit,
      compression: u.compression,
      compressionLevel: u.compression_level,
      compressionMinSize: u.compression_min_size,
      decompressedMessageSizeLimit: u.decompressed_message_size_limit,
      joinPushMessages: u.join_push_messages,
      disableDisconnectPush: u.disable_disconnect_push,
      disableClosingHandshake: u.disable_closing_handshake,
      pingIntervalMs,
      pongTimeoutMs: c.pong_timeout > 0 ? c.pong_timeout : 0,
    });
    external.upgrade(u.handler_prefix, (req, socket, head) => h.handleUpgrade(req, socket, head));
    closers.push(() => h.close());
  }
  if (config.sockjs.enabled) {
    const sj = config.sockjs;
    const h = new SockJsHandler(node, jsonCodec, origins, admission, {
      prefix: sj.handler_prefix.replace(/\/+$/, ''),
      heartbeatDelayMs: sj.heartbeat_delay,
      sockjsUrl: sj.url,
      messageSizeLimit: sj.message_size_limit,
      v1: c.v1.enabled,
    });
    // Last: the exact endpoints above (such as /connection/websocket) win over SockJS's prefix.
    external.route(sj.handler_prefix, (req, res) => h.handle(req, res), true);
    external.upgradeBelow(sj.handler_prefix, (req, socket, head) => h.handleUpgrade(req, socket, head));
  }
  if (origins.allowsAny) node.log.warn('client.allowed_origins contains "*": any web page may connect with your users\' credentials');
  return { close: () => closers.forEach((f) => f()) };
}
