/**
 * What the node is configured with (`app/` builds it from the config, tests and embedders by
 * hand). Times in ms, sizes in bytes, unless a field says otherwise.
 */
import type { Disconnect } from '../protocol/errors.js';
import type { V1ChannelSign, V1Credentials } from '../protocol/types.js';
import type { NodeMetrics } from './metrics.js';
import type { NodeLifecycle } from './lifecycle.js';
import type { ControlPlaneOptions } from './control/plane.js';

export interface NodeOptions {
  nodeId: string;
  /** Human-readable node name for `info`. */
  name: string;
  /** Sent as ConnectResult.version. */
  version: string;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  staleCloseDelayMs: number;
  expiredCloseDelayMs: number;
  expiredSubCloseDelayMs: number;
  presenceUpdateIntervalMs: number;
  channelPositionCheckDelayMs: number;
  channelLimit: number;
  userConnectionLimit: number;
  queueMaxSize: number;
  /** Messages per transport frame at most; Infinity for no limit. */
  maxMessagesInFrame: number;
  /** `client.write_delay`, ms; 0 flushes at the end of each event-loop turn. */
  writeDelayMs: number;
  /** `client.reply_without_queue`: replies skip the write queue (and the write delay). */
  replyWithoutQueue: boolean;
  /** Largest single command accepted by codecs, bytes. */
  maxCommandSize: number;
  historyMaxPublicationLimit: number;
  recoveryMaxPublicationLimit: number;
  connectIncludeServerTime: boolean;
  /** Maps a connect error code to the disconnect a unidirectional client gets (spec §2.4). */
  uniConnectErrorToDisconnect(code: number): Disconnect;
  /** Centrifugo v1 clients (client/v1.ts); absent: v1 tokens verify nothing. */
  v1?: V1Options;
  /** What the node counts (see metrics.ts); counts nothing when absent. */
  metrics?: NodeMetrics;
  /** Told where connections and subscriptions end (see lifecycle.ts); nothing when absent. */
  lifecycle?: NodeLifecycle;
  /** Heartbeat and survey timing of the control plane; Centrifugo's defaults when absent. */
  control?: ControlPlaneOptions;
}

/** Checks v1 signatures (auth/v1-sign.ts with `client.token.hmac_secret_key`, injected by app). */
export interface V1Verifier {
  token(c: V1Credentials): boolean;
  channelSign(channel: string, s: V1ChannelSign): boolean;
}

export interface V1Options {
  verify: V1Verifier;
  /** A v1 connection lasts this long after the timestamp its token signs, s; 0 = for ever (`client.v1.connection_lifetime`). */
  connectionLifetimeSec: number;
  /** `client.insecure`: v1 credentials are taken unchecked and never expire. */
  insecure: boolean;
  /** Marks client-limited channels ("" = none; v1 used "&"): `client.v1.client_channel_boundary`. */
  clientChannelBoundary: string;
}
