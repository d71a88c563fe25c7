/**
 * Inbound message limits of the WebSocket transports (`websocket.*`, `uni_websocket.*`), as
 * Centrifugo v6.8.4 sets them: `message_size_limit` bounds a message as read from the wire, and
 * with permessage-deflate `decompressed_message_size_limit` bounds it after inflating (0: ten
 * times `message_size_limit`), so a message that compresses well may be larger than the wire
 * limit while a decompression bomb is still refused.
 *
 * ws has a single limit, `maxPayload`, applied both to the payload bytes of a message as they
 * arrive and to its size after inflating, where it stops the inflater as soon as the size passes
 * it: memory stays within the limit however far the message would inflate. With compression ws
 * is given the decompressed limit, and the wire limit is kept by `WireSizeGuard`.
 */
import type { Duplex } from 'node:stream';
import type { ServerOptions, WebSocket } from 'ws';

/** Centrifugo's `DefaultWebsocketDecompressedMessageSizeLimitMultiplier`. */
const DECOMPRESSED_LIMIT_MULTIPLIER = 10;
/** `message_size_limit` when set to 0, as Centrifugo's handler reads it (ws would take 0 as no limit at all). */
const DEFAULT_MESSAGE_SIZE_LIMIT = 65_536;

/** Close code for a message over a limit (RFC 6455 §7.4.1), the one ws sends for its own limit. */
const MESSAGE_TOO_BIG = 1009;

export interface InboundLimits {
  /** For ws's `maxPayload`: the largest message accepted, after inflating when compressed, bytes. */
  maxPayload: number;
  /** Payload bytes one message may carry on the wire when that is below `maxPayload`; else undefined (ws's own check suffices). */
  wireLimit: number | undefined;
}

/**
 * The limits for one transport section. A decompressed limit below `messageSizeLimit` bounds
 * uncompressed messages too: ws cannot tell the two apart, and the stricter bound is the safe one.
 */
export function inboundLimits(messageSizeLimit: number, compression: boolean, decompressedMessageSizeLimit: number): InboundLimits {
  const wire = messageSizeLimit > 0 ? messageSizeLimit : DEFAULT_MESSAGE_SIZE_LIMIT;
  if (!compression) return { maxPayload: wire, wireLimit: undefined };
  const maxPayload = decompressedMessageSizeLimit > 0 ? decompressedMessageSizeLimit : wire * DECOMPRESSED_LIMIT_MULTIPLIER;
  return { maxPayload, wireLimit: wire < maxPayload ? wire : undefined };
}

/** The options both WebSocket transports share. */
export interface WsServerSection {
  messageSizeLimit: number;
  decompressedMessageSizeLimit: number;
  compression: boolean;
  compressionLevel: number;
  compressionMinSize: number;
}

/**
 * A `noServer` ws server's options for a transport section (limits and permessage-deflate), and
 * the wire limit its {@link WireSizeGuard} keeps.
 */
export function wsServerOptions(section: WsServerSection): { options: ServerOptions; wireLimit: number | undefined } {
  const limits = inboundLimits(section.messageSizeLimit, section.compression, section.decompressedMessageSizeLimit);
  const options: ServerOptions = {
    noServer: true,
    maxPayload: limits.maxPayload,
    clientTracking: false,
    perMessageDeflate: section.compression ? { zlibDeflateOptions: { level: section.compressionLevel }, threshold: section.compressionMinSize } : false,
  };
  return { options, wireLimit: limits.wireLimit };
}

/**
 * Follows the frame headers (RFC 6455 §5.2) of a client's byte stream, passing over payloads, and
 * sums the payload lengths of the data frames of each message. The first message over `limit`
 * sets `exceeded` and closes the connection with 1009. It reads the socket ahead of ws (its
 * listener is prepended), so it has decided before ws can deliver the message, and the
 * transport drops what ws delivers once `exceeded` is set: a message ws completes from the same
 * chunk, and any sent during the closing handshake.
 */
export class WireSizeGuard {
  exceeded = false;
  /** Header bytes of the frame being read: 2, up to 8 of extended length, 4 of mask. */
  private readonly header = Buffer.alloc(14);
  private have = 0;
  /** Header length; 2 until the second byte tells the rest. */
  private need = 2;
  private lengthKnown = false;
  /** Payload bytes of the current frame still to pass over. */
  private skip = 0;
  /** Payload bytes of the current message's data frames so far. */
  private total = 0;

  private constructor(
    private readonly limit: number,
    private readonly ws: WebSocket,
  ) {}

  /** Starts guarding `ws`, upgraded on `socket`; call from the upgrade callback, before any data is read. */
  static attach(ws: WebSocket, socket: Duplex, limit: number): WireSizeGuard {
    const guard = new WireSizeGuard(limit, ws);
    const onData = (chunk: Buffer): void => {
      guard.feed(chunk);
      if (guard.exceeded) socket.off('data', onData);
    };
    socket.prependListener('data', onData);
    return guard;
  }

  private feed(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length && !this.exceeded) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      const n = Math.min(this.need - this.have, chunk.length - i);
      chunk.copy(this.header, this.have, i, i + n);
      this.have += n;
      i += n;
      if (this.have < this.need) return;
      if (!this.lengthKnown) {
        this.lengthKnown = true;
        const len7 = this.header[1]! & 0x7f;
        this.need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (this.header[1]! & 0x80 ? 4 : 0);
        if (this.have < this.need) continue;
      }
      this.frameRead();
    }
  }

  private frameRead(): void {
    const h = this.header;
    const len7 = h[1]! & 0x7f;
    // A 64-bit length past 2^53 loses precision, but is over any limit all the same.
    const length = len7 === 126 ? h.readUInt16BE(2) : len7 === 127 ? h.readUInt32BE(2) * 2 ** 32 + h.readUInt32BE(6) : len7;
    this.have = 0;
    this.need = 2;
    this.lengthKnown = false;
    this.skip = length;
    const opcode = h[0]! & 0x0f;
    // Control frames (close, ping, pong) may come between the fragments of a message and are not part of it.
    if (opcode >= 0x8) return;
    this.total += length;
    if (this.total > this.limit) {
      this.exceeded = true;
      this.ws.close(MESSAGE_TOO_BIG);
      return;
    }
    if (h[0]! & 0x80) this.total = 0;
  }
}
