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
 * Builds the session hook that answers a failed connect with an HTTP status when a transform
 * matches its code. The body defaults to the error message or disconnect reason.
 */
export function connectErrorResponder(res: ServerResponse, cfg: HttpResponseTransforms): ((code: number, message: string) => boolean) | undefined {
  if (!cfg.enabled || cfg.transforms.length === 0) return undefined;
  return (code, message) => {
    const t = cfg.transforms.find((x) => x.code === code);
    if (t === undefined || res.headersSent) return false;
    const body = t.to.body !== '' ? t.to.body : message;
    res.writeHead(t.to.status_code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
    return true;
  };
}
