/**
 * Standard base64 with padding and nothing else, as Go's `base64.StdEncoding` decodes it (the
 * `b64data`/`b64info` fields of Centrifugo's API, claims and proxy answers). Node's own decoder
 * skips characters it does not know, accepts the URL-safe alphabet and missing padding, so bytes
 * that Centrifugo refuses would otherwise be published silently changed.
 */
const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function isStdBase64(s: string): boolean {
  return s.length % 4 === 0 && STD_BASE64.test(s);
}

/** The decoded bytes (copied out of Buffer's shared pool), or undefined when `s` is not standard base64. */
export function decodeStdBase64(s: string): Uint8Array | undefined {
  return isStdBase64(s) ? new Uint8Array(Buffer.from(s, 'base64')) : undefined;
}
