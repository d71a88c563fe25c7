/**
 * Encode-once cache for a push that goes to many connections. A broadcast builds one
 * `PreparedPush`; each subscriber asks it for the bytes of its variant (codec × uni/bidi) and the
 * first asker pays for the encoding. At most four encodings per publication, whatever the number
 * of subscribers, and every subscriber of a variant gets the very same Uint8Array.
 */
import type { Codec } from '../protocol/codec.js';
import type { Push, Reply } from '../protocol/types.js';

/** Marker stored when a variant cannot be encoded (binary data for a JSON connection). */
const FAILED = new Uint8Array(0);

export class PreparedPush {
  private jsonBidi: Uint8Array | undefined;
  private jsonUni: Uint8Array | undefined;
  private protoBidi: Uint8Array | undefined;
  private protoUni: Uint8Array | undefined;
  private readonly reply: Reply;

  constructor(readonly push: Push) {
    this.reply = { id: 0, kind: 'push', push };
  }

  /**
   * Bytes for the variant, or `undefined` when the push cannot be encoded for it (the caller
   * disconnects that connection with 3506 inappropriate protocol).
   */
  bytesFor(codec: Codec, unidirectional: boolean): Uint8Array | undefined {
    let b: Uint8Array | undefined;
    if (codec.name === 'json') {
      if (unidirectional) b = this.jsonUni ??= this.encode(codec, true);
      else b = this.jsonBidi ??= this.encode(codec, false);
    } else if (unidirectional) b = this.protoUni ??= this.encode(codec, true);
    else b = this.protoBidi ??= this.encode(codec, false);
    return b === FAILED ? undefined : b;
  }

  private encode(codec: Codec, unidirectional: boolean): Uint8Array {
    try {
      return unidirectional ? codec.encodePush(this.push) : codec.encodeReply(this.reply);
    } catch {
      return FAILED;
    }
  }
}
