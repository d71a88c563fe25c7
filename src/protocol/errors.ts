/**
 * Throwable forms of the code tables. Command handlers and hooks throw a `ReplyError` (answered as
 * `Reply.error`, the connection stays) or a `DisconnectError` (the connection is closed with that
 * code). The session turns either into the right frame; anything else becomes error 100.
 */
import { DisconnectCode, ErrorCode, type DisconnectCodeEntry, type ErrorCodeEntry } from './codes.js';
import type { ProtocolError } from './types.js';

export class ReplyError extends Error {
  override readonly name = 'ReplyError';
  constructor(
    readonly code: number,
    message: string,
    readonly temporary = false,
  ) {
    super(message);
  }

  static of(entry: ErrorCodeEntry): ReplyError {
    return new ReplyError(entry.code, entry.message, entry.temporary);
  }

  toProtocol(): ProtocolError {
    return this.temporary
      ? { code: this.code, message: this.message, temporary: true }
      : { code: this.code, message: this.message };
  }
}

/** A disconnect: code and reason. `reason` must fit a WebSocket close frame (< 123 bytes). */
export interface Disconnect {
  readonly code: number;
  readonly reason: string;
}

export class DisconnectError extends Error {
  override readonly name = 'DisconnectError';
  constructor(readonly disconnect: Disconnect) {
    super(`disconnect ${disconnect.code}: ${disconnect.reason}`);
  }

  static of(entry: DisconnectCodeEntry): DisconnectError {
    return new DisconnectError({ code: entry.code, reason: entry.reason });
  }
}

/** Shorthands used across the codebase; each is a fresh error so stacks point at the thrower. */
export const errors = {
  internal: () => ReplyError.of(ErrorCode.internal),
  unknownChannel: () => ReplyError.of(ErrorCode.unknownChannel),
  permissionDenied: () => ReplyError.of(ErrorCode.permissionDenied),
  methodNotFound: () => ReplyError.of(ErrorCode.methodNotFound),
  alreadySubscribed: () => ReplyError.of(ErrorCode.alreadySubscribed),
  limitExceeded: () => ReplyError.of(ErrorCode.limitExceeded),
  badRequest: () => ReplyError.of(ErrorCode.badRequest),
  notAvailable: () => ReplyError.of(ErrorCode.notAvailable),
  tokenExpired: () => ReplyError.of(ErrorCode.tokenExpired),
  expired: () => ReplyError.of(ErrorCode.expired),
  unrecoverablePosition: () => ReplyError.of(ErrorCode.unrecoverablePosition),
} as const;

export function disconnectOf(entry: DisconnectCodeEntry): Disconnect {
  return { code: entry.code, reason: entry.reason };
}

export const disconnects = {
  shutdown: disconnectOf(DisconnectCode.shutdown),
  internal: disconnectOf(DisconnectCode.internal),
  expired: disconnectOf(DisconnectCode.expired),
  subExpired: disconnectOf(DisconnectCode.subExpired),
  slow: disconnectOf(DisconnectCode.slow),
  writeError: disconnectOf(DisconnectCode.writeError),
  insufficientState: disconnectOf(DisconnectCode.insufficientState),
  forceReconnect: disconnectOf(DisconnectCode.forceReconnect),
  noPong: disconnectOf(DisconnectCode.noPong),
  tooManyRequests: disconnectOf(DisconnectCode.tooManyRequests),
  invalidToken: disconnectOf(DisconnectCode.invalidToken),
  badRequest: disconnectOf(DisconnectCode.badRequest),
  stale: disconnectOf(DisconnectCode.stale),
  forceNoReconnect: disconnectOf(DisconnectCode.forceNoReconnect),
  connectionLimit: disconnectOf(DisconnectCode.connectionLimit),
  channelLimit: disconnectOf(DisconnectCode.channelLimit),
  inappropriateProtocol: disconnectOf(DisconnectCode.inappropriateProtocol),
  permissionDenied: disconnectOf(DisconnectCode.permissionDenied),
  notAvailable: disconnectOf(DisconnectCode.notAvailable),
  connectionClosed: disconnectOf(DisconnectCode.connectionClosed),
} as const;
