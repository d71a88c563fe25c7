/**
 * Every UTF-16 unit in 0x00–0x7F. Client-side channel names must be (as in Centrifugo), and so
 * must a configured disconnect reason, which travels in a WebSocket close frame.
 */
const ASCII = /^[\x00-\x7f]*$/;

export function isAscii(text: string): boolean {
  return ASCII.test(text);
}
