/**
 * The codec seam. A codec turns transport frames into `Command`s and `Reply`/`Push` objects into
 * encoded messages. Framing of several messages into one transport frame is the transport's job
 * (WebSocket joins JSON messages with `\n`; HTTP streams terminate each with `\n`; SSE wraps each
 * in `data:`), except that Protobuf messages are always varint-length-prefixed by the codec.
 */
import type { CodecName, Command, ConnectRequest, Push, Reply } from './types.js';

/** Thrown by decoders for any malformed input; the session answers with disconnect 3501. */
export class ProtocolDecodeError extends Error {
  override readonly name = 'ProtocolDecodeError';
}

/** Thrown by JSON encoders when a bytes payload is not valid JSON (disconnect 3506). */
export class ProtocolEncodeError extends Error {
  override readonly name = 'ProtocolEncodeError';
}

export interface Codec {
  readonly name: CodecName;
  /**
   * Decodes one transport frame holding one or more commands (JSON: newline-separated, a trailing
   * newline tolerated; Protobuf: varint-length-delimited). Throws `ProtocolDecodeError` on
   * malformed input, an empty frame, an unknown command or one larger than `maxCommandSize` bytes.
   */
  decodeCommands(frame: Uint8Array, maxCommandSize: number): Command[];
  /**
   * Encodes one Reply. JSON: the UTF-8 JSON text without a trailing newline. Protobuf: the
   * varint length prefix followed by the message. Throws `ProtocolEncodeError` when a payload
   * cannot be represented (non-JSON bytes on a JSON connection).
   */
  encodeReply(reply: Reply): Uint8Array;
  /** Encodes a bare Push, as unidirectional transports send it. Same framing rules as above. */
  encodePush(push: Push): Uint8Array;
}

/** Unidirectional transports receive a bare ConnectRequest (JSON only). */
export interface ConnectRequestDecoder {
  /** `null` or empty input decodes to an empty request. Throws `ProtocolDecodeError`. */
  decodeConnectRequest(body: Uint8Array): ConnectRequest;
}
