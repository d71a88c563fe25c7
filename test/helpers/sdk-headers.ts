/**
 * Transports for the SDK that send extra HTTP headers with its opening request, as a browser
 * behind a proxy or a native client would: the headers proxies forward (`http_headers`).
 */
import WebSocket from 'ws';

/** A `ws` WebSocket class that sends `headers` with the upgrade request. */
export function wsWithHeaders(headers: Record<string, string>): typeof WebSocket {
  return class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers });
    }
  } as typeof WebSocket;
}

/** A `fetch` that adds `headers` to every request (the http_stream connect request among them). */
export function fetchWithHeaders(headers: Record<string, string>): typeof fetch {
  return (input, init) => globalThis.fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string> | undefined), ...headers } });
}
