/**
 * What a Centrifugo v1 connection needs beyond the shared session: its credentials (a token over
 * user, timestamp and info instead of a JWT), `connection_lifetime` with the client's `refresh`,
 * private channel signs, and v1's client-limited channels (`news&<client ID>`).
 */
import { DisconnectError, disconnects, errors } from '../../protocol/errors.js';
import type { V1ChannelSign, V1Credentials } from '../../protocol/types.js';
import { isValidJson } from '../../protocol/json/raw-json.js';
import type { ConnectReply } from '../events.js';
import type { V1Options, V1Verifier } from '../options.js';
import type { Session } from './session.js';
import { dict } from '../../util/dict.js';

const NOTHING_VERIFIES: V1Verifier = { token: () => false, channelSign: () => false };
const NO_V1: V1Options = { verify: NOTHING_VERIFIES, connectionLifetimeSec: 0, insecure: false, clientChannelBoundary: '' };
const encoder = new TextEncoder();

export function v1Options(s: Session): V1Options {
  return s.node.options.v1 ?? NO_V1;
}

interface V1Identity {
  user: string;
  info: Uint8Array | undefined;
  /** Unix seconds; 0 = never. */
  expireAt: number;
}

/** Checks v1 credentials: a wrong token is disconnect 3500 (v1 closed with "invalid token"). */
function identify(o: V1Options, c: V1Credentials): V1Identity {
  if (!o.insecure && !o.verify.token(c)) throw new DisconnectError(disconnects.invalidToken);
  let expireAt = 0;
  if (!o.insecure && o.connectionLifetimeSec > 0) {
    const ts = Number(c.timestamp);
    // An unreadable timestamp counts as the epoch: the connection is expired at once.
    expireAt = (Number.isSafeInteger(ts) && ts > 0 ? ts : 0) + o.connectionLifetimeSec;
  }
  return { user: c.user, info: infoBytes(c.info), expireAt };
}

/**
 * Signed info as the bytes other clients get: "" is none. It must be JSON, since v1 and v2 JSON
 * clients embed it as it is; anything else is a bad request (3501, v1's `invalid message`).
 */
function infoBytes(info: string): Uint8Array | undefined {
  if (info === '') return undefined;
  if (!isValidJson(info)) throw new DisconnectError(disconnects.badRequest);
  return encoder.encode(info);
}

/**
 * The connect reply for v1 credentials. Expired credentials pass here; the connect then fails
 * with 110, which the v1 reply shows as `expired: true` (see `expiredV1Connect`).
 */
export function v1ConnectReply(s: Session, c: V1Credentials): ConnectReply {
  const id = identify(v1Options(s), c);
  const reply: ConnectReply = { user: id.user, expireAt: id.expireAt, subscriptions: dict(), clientSideRefresh: true };
  if (id.info !== undefined) reply.info = id.info;
  return reply;
}

/** v1's answer to expired credentials at connect: a connect body with `expired: true`, no client ID. */
export function expiredV1Connect(s: Session, id: number): void {
  const ttl = v1Options(s).connectionLifetimeSec;
  s.sendReply({ id, kind: 'connect', result: { client: '', version: s.node.options.version, expires: true, expired: true, ttl } });
}

/** The v1 `refresh` command: new credentials for the same user extend the connection. */
export function handleV1Refresh(s: Session, id: number, c: V1Credentials): void {
  const o = v1Options(s);
  const fresh = identify(o, c);
  if (fresh.user !== s.user) throw new DisconnectError(disconnects.invalidToken);
  const nowSec = Math.floor(Date.now() / 1000);
  if (fresh.expireAt > 0 && fresh.expireAt <= nowSec) {
    s.sendReply({ id, kind: 'refresh', result: { expires: true, expired: true, ttl: o.connectionLifetimeSec } });
    return;
  }
  s.applyRefresh(fresh.expireAt, fresh.info, undefined);
  s.sendReply({ id, kind: 'refresh', result: fresh.expireAt > 0 ? { expires: true, ttl: fresh.expireAt - nowSec } : {} });
}

/**
 * A v1 private channel sign, checked for this connection: the channel info it signed, or 103
 * when the sign is not the backend's for this client ID and channel.
 */
export function checkV1Sign(s: Session, channel: string, sign: V1ChannelSign): { info: Uint8Array | undefined } {
  const o = v1Options(s);
  if (!o.insecure && (sign.client !== s.clientId || !o.verify.channelSign(channel, sign))) throw errors.permissionDenied();
  return { info: infoBytes(sign.info) };
}

/**
 * v1's client-limited channels: after the boundary come the client IDs allowed to subscribe,
 * comma-separated. Applies to every connection, v1 or not, once the boundary is configured.
 */
export function checkClientLimited(s: Session, channel: string): void {
  const b = v1Options(s).clientChannelBoundary;
  if (b === '') return;
  const at = channel.lastIndexOf(b);
  if (at === -1) return;
  if (!channel.slice(at + b.length).split(',').includes(s.clientId)) throw errors.permissionDenied();
}
