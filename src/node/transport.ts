/**
 * What the core needs from a transport. A transport file in `src/transport/` adapts a socket or an
 * HTTP response to this interface, decodes incoming frames with the codec and calls the session.
 * The core reads the capability fields as data and never branches on a transport's name.
 */
import type { Disconnect } from '../protocol/errors.js';
import type { ProtocolName } from '../protocol/types.js';

export interface TransportCapabilities {
  /** Transport name as reported to proxies and metrics: `websocket`, `http_stream`, `sse`, `uni_websocket`, ... */
  readonly name: string;
  readonly protocol: ProtocolName;
  /** Unidirectional transports get bare Push messages and cannot send commands after connect. */
  readonly unidirectional: boolean;
  /** Bidirectional emulation (http_stream, sse): commands arrive through `/emulation`. */
  readonly emulation: boolean;
  /**
   * `app`: the session sends `{}` pings every ping interval and (bidirectional only) expects pongs.
   * `native`: the transport pings by itself (WebSocket ping frames); the session sends none.
   */
  readonly pingStyle: 'app' | 'native';
  /** Disconnects are delivered by closing (WebSocket close frame) rather than with a disconnect push. */
  readonly closeFrameDisconnect: boolean;
}

export interface Transport extends TransportCapabilities {
  /**
   * Writes `messages[start..end)`, already encoded, in order, as one transport frame where the
   * transport can (JSON over WebSocket: joined by `\n`; Protobuf: concatenated) or one frame per
   * message where it cannot. The array is reused by the caller after the call returns.
   */
  write(messages: readonly Uint8Array[], start: number, end: number): void;
  /** Bytes accepted by `write` but not yet handed to the kernel. Used for the slow-client limit. */
  bufferedBytes(): number;
  /**
   * Ends the connection. For transports with `closeFrameDisconnect` the disconnect travels in
   * the close frame; otherwise the session has already written a disconnect push.
   */
  close(d: Disconnect): void;
  /**
   * Stops reading from the peer until `resumeInput`, so TCP pushes back on a client that sends
   * commands faster than they are handled. Absent where commands do not arrive on a connection of
   * their own (HTTP emulation, unidirectional transports).
   */
  pauseInput?(): void;
  resumeInput?(): void;
}
