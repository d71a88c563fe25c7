/**
 * JSON client protocol codec (spec §1.5, §1.6). Wire names are the proto snake_case names; `bytes`
 * fields are raw JSON embedded as-is, so decoding keeps their exact source text and encoding
 * splices the stored bytes back in (validated, with raw `\n` bytes stripped so newline framing
 * stays intact).
 *
 * Encoding is the broadcast hot path: every message is built by string concatenation, with
 * `JSON.stringify` only for strings, and turned into bytes once.
 */
import type { Codec, ConnectRequestDecoder } from '../codec.js';
import { decodeCommands, decodeConnectRequest } from './decode.js';
import { pushJson, replyJson } from './encode.js';

/**
 * The JSON codec. Decoding throws `ProtocolDecodeError`; encoding throws `ProtocolEncodeError`
 * when a bytes field is not valid UTF-8 JSON. Encoded output is a `Buffer` (a `Uint8Array`).
 */
export const jsonCodec: Codec & ConnectRequestDecoder = {
  name: 'json',
  decodeCommands,
  decodeConnectRequest,
  encodeReply: (reply) => Buffer.from(replyJson(reply)),
  encodePush: (push) => Buffer.from(pushJson(push)),
};
