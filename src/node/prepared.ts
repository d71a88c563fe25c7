/**
 * Encode-once cache for a push that goes to many connections. A broadcast builds one
 * `PreparedPush`; each subscriber asks it for the bytes of its variant (codec × uni/bidi) and the
 * first asker pays for the encoding. At most five encodings per publication (four v2 variants and v1's), whatever the number
 * of subscribers, and every subscriber of a variant gets the very same Uint8Array.
 *
 * Delta-negotiated subscriptions (spec §5.8) need two more forms: the full payload and a fossil
 * delta against the previous publication. On JSON connections both travel as a JSON *string* (the
 * SDK parses it after applying the delta). The delta itself is computed once per publication.
 */
import { createDelta } from 'fossil-delta';
import type { Codec } from '../protocol/codec.js';
import type { Publication, Push, Reply } from '../protocol/types.js';

/** Marker stored when a variant cannot be encoded (binary data for a JSON connection). */
const FAILED = new Uint8Array(0);

export class PreparedPush {
  private jsonBidi: Uint8Array | undefined;
  private jsonUni: Uint8Array | undefined;
  private protoBidi: Uint8Array | undefined;
  private protoUni: Uint8Array | undefined;
  /** Centrifugo v1 clients' form (bidirectional only). */
  private v1: Uint8Array | undefined;
  /** Delta-form encodings, keyed by `<codec>:<uni>:<full|delta>`; created on first use. */
  private deltaForms: Map<string, Uint8Array> | undefined;
  /** Fossil delta against `prev`, or null when it is not smaller than the payload. */
  private deltaData: Uint8Array | null | undefined;
  private readonly reply: Reply;

  /**
   * @param prev the previous publication of the stream, when the publish asked for deltas and
   *   the channel keeps history; `undefined` disables delta forms.
   */
  constructor(
    readonly push: Push,
    readonly prev?: Publication,
  ) {
    this.reply = { id: 0, kind: 'push', push };
  }

  /**
   * Bytes for the variant, or `undefined` when the push cannot be encoded for it (the caller
   * disconnects that connection with 3506 inappropriate protocol).
   */
  bytesFor(codec: Codec, unidirectional: boolean): Uint8Array | undefined {
    let b: Uint8Array | undefined;
    if (codec.name === 'json') {
      if (unidirectional) b = this.jsonUni ??= this.encode(codec, unidirectional, this.push);
      else b = this.jsonBidi ??= this.encode(codec, unidirectional, this.push);
    } else if (codec.name === 'v1') b = this.v1 ??= this.encode(codec, false, this.push);
    else if (unidirectional) b = this.protoUni ??= this.encode(codec, unidirectional, this.push);
    else b = this.protoBidi ??= this.encode(codec, unidirectional, this.push);
    return b === FAILED ? undefined : b;
  }

  /**
   * Bytes for a delta-negotiated subscriber. `hasPrev` says the subscriber already holds the
   * previous publication's data (so a delta can be applied); otherwise the full form is sent.
   */
  deltaBytesFor(codec: Codec, unidirectional: boolean, hasPrev: boolean): Uint8Array | undefined {
    if (this.push.kind !== 'pub') return this.bytesFor(codec, unidirectional);
    const useDelta = hasPrev && this.delta() !== null;
    // Protobuf full payloads are the plain encoding: nothing to change.
    if (!useDelta && codec.name === 'protobuf') return this.bytesFor(codec, unidirectional);
    const key = `${codec.name}:${unidirectional ? 1 : 0}:${useDelta ? 'd' : 'f'}`;
    this.deltaForms ??= new Map();
    let b = this.deltaForms.get(key);
    if (b === undefined) {
      const pub = this.push.pub;
      const data = useDelta ? this.delta()! : pub.data;
      const form: Publication = { ...pub, data: codec.name === 'json' ? jsonStringBytes(data) : data, delta: useDelta };
      b = this.encode(codec, unidirectional, { kind: 'pub', channel: this.push.channel, pub: form });
      this.deltaForms.set(key, b);
    }
    return b === FAILED ? undefined : b;
  }

  private delta(): Uint8Array | null {
    if (this.deltaData !== undefined) return this.deltaData;
    if (this.prev === undefined || this.push.kind !== 'pub') return (this.deltaData = null);
    const d = createDelta(this.prev.data, this.push.pub.data);
    return (this.deltaData = d.byteLength < this.push.pub.data.byteLength ? d : null);
  }

  private encode(codec: Codec, unidirectional: boolean, push: Push): Uint8Array {
    try {
      return unidirectional ? codec.encodePush(push) : codec.encodeReply(push === this.push ? this.reply : { id: 0, kind: 'push', push });
    } catch {
      return FAILED;
    }
  }
}

/** The bytes as a JSON string literal (UTF-8), the form delta subscriptions use on JSON. */
export function jsonStringBytes(data: Uint8Array): Uint8Array {
  return Buffer.from(JSON.stringify(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8')), 'utf8');
}

/** Recovered publications for a delta subscription on JSON: full payloads as JSON strings. */
export function toDeltaFullForm(pubs: Publication[]): Publication[] {
  return pubs.map((p) => ({ ...p, data: jsonStringBytes(p.data), delta: false }));
}
