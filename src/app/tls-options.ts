/**
 * TLS of the HTTP listeners, from `http_server.tls`, `http_server.internal_tls` and
 * `http_server.tls_external`:
 *
 * - the external listener uses `tls` when it is enabled;
 * - a separate internal listener (`internal_port`) uses `internal_tls` when that is enabled,
 *   otherwise `tls` unless `tls_external` limits TLS to the external listener.
 *
 * PEM values are raw PEM text, base64-encoded PEM, or a file path, tried in that order. A value
 * that is none of these, or a certificate Node cannot load, stops startup with an error naming
 * the key. `client_ca_pem` turns on mutual TLS: clients must present a certificate it signed.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext, type ConnectionOptions } from 'node:tls';
import type { ListenerTls } from '../http/server.js';
import type { Config } from '../config/schema.js';

type TlsSection = Config['http_server']['tls'];
/** A client-side `tls` object (Redis, NATS, proxies): the same shape as a listener's. */
type ClientTlsSection = Config['broker']['redis']['tls'];

/** The PEM text of a config value; throws an Error naming `key` when there is none. */
export function pemText(key: string, value: string): string {
  const v = value.trim();
  if (v.startsWith('-----BEGIN')) return v;
  if (/^[A-Za-z0-9+/=\s]+$/.test(v)) {
    const decoded = Buffer.from(v, 'base64').toString('utf8').trim();
    if (decoded.startsWith('-----BEGIN')) return decoded;
  }
  try {
    return readFileSync(v, 'utf8');
  } catch (err) {
    throw new Error(`${key}: neither PEM text, base64-encoded PEM nor a readable file (${(err as Error).message})`);
  }
}

/**
 * A server's TLS from its `tls` object at `path` (the HTTP listeners, the gRPC API, uni_grpc):
 * certificate and key required, the pair loaded once now so that a wrong or mismatched key fails
 * at startup naming the key, not per handshake.
 */
export function serverTls(t: TlsSection, path: string): ListenerTls {
  if (t.cert_pem === '') throw new Error(`${path}.cert_pem: required when ${path}.enabled is true`);
  if (t.key_pem === '') throw new Error(`${path}.key_pem: required when ${path}.enabled is true`);
  const out: ListenerTls = { cert: pemText(`${path}.cert_pem`, t.cert_pem), key: pemText(`${path}.key_pem`, t.key_pem) };
  if (t.client_ca_pem !== '') out.clientCa = pemText(`${path}.client_ca_pem`, t.client_ca_pem);
  try {
    createSecureContext({ cert: out.cert, key: out.key, ...(out.clientCa !== undefined ? { ca: out.clientCa } : {}) });
  } catch (err) {
    throw new Error(`${path}: cannot use cert_pem/key_pem: ${(err as Error).message}`);
  }
  return out;
}

/** TLS for each listener; `undefined` means plain HTTP. */
export function listenerTls(config: Readonly<Config>): { external: ListenerTls | undefined; internal: ListenerTls | undefined } {
  const hs = config.http_server;
  const external = hs.tls.enabled ? serverTls(hs.tls, 'http_server.tls') : undefined;
  let internal: ListenerTls | undefined;
  if (hs.internal_tls.enabled) internal = serverTls(hs.internal_tls, 'http_server.internal_tls');
  else if (!hs.tls_external) internal = external;
  return { external, internal };
}

/**
 * Client-side TLS (to Redis, NATS, a backend) of a `tls` object, or undefined when it is off:
 * `server_ca_pem` verifies the server, `cert_pem`/`key_pem` present a client certificate.
 */
export function clientTls(t: ClientTlsSection, path: string): ConnectionOptions | undefined {
  if (!t.enabled) return undefined;
  const o: ConnectionOptions = {};
  if (t.server_ca_pem !== '') o.ca = pemText(`${path}.server_ca_pem`, t.server_ca_pem);
  if (t.cert_pem !== '') o.cert = pemText(`${path}.cert_pem`, t.cert_pem);
  if (t.key_pem !== '') o.key = pemText(`${path}.key_pem`, t.key_pem);
  if (t.server_name !== '') o.servername = t.server_name;
  if (t.insecure_skip_verify) o.rejectUnauthorized = false;
  return o;
}
