/**
 * Shared by the unidirectional HTTP transports: decoding the bare ConnectRequest and the optional
 * `connect_code_to_http_response` mapping of a failed connect to an HTTP answer (spec §2.4).
 */
import type { ServerResponse } from 'node:http';
import type { ConnectRequest } from '../../protocol/types.js';
import type { ConnectRequestDecoder } from '../../protocol/codec.js';

export interface HttpResponseTransforms {
  readonly enabled: boolean;
  readonly transforms: readonly { readonly code: number; readonly to: { readonly status_code: number; readonly body: string } }[];
}

/** Parses a ConnectRequest; undefined when malformed (answered with 400). Empty input is `{}`. */
export function decodeConnect(decoder: ConnectRequestDecoder, body: Uint8Array): ConnectRequest | undefined {
  try {
    return decoder.decodeConnectRequest(body);
  } catch {
    return undefined;
  }
}

/**
 * Builds the session hook that answers a failed connect with an HTTP response when the mapping is
 * enabled: the matching transform's status, its body defaulting to the error message or
 * disconnect reason; 500 "Internal Server Error" for a code no transform lists (as Centrifugo,
 * which never falls back to a stream carrying the disconnect once the mapping is on).
 */
export function connectErrorResponder(res: ServerResponse, cfg: HttpResponseTransforms): ((code: number, message: string) => boolean) | undefined {
  if (!cfg.enabled) return undefined;
  return (code, message) => {
    if (res.headersSent) return false;
    const t = cfg.transforms.find((x) => x.code === code);
    const status = t === undefined ? 500 : t.to.status_code;
    const body = t === undefined ? 'Internal Server Error' : t.to.body !== '' ? t.to.body : message;
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
    return true;
  };
}
