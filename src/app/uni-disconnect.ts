/**
 * Which disconnect a unidirectional client gets when its connect fails with an error code
 * (spec §2.4): 109/110 → 3005, 111 → 3013, 103 → 3507, anything else → 3004, unless
 * `client.connect_code_to_unidirectional_disconnect` maps the code.
 */
import { DisconnectCode, ErrorCode } from '../protocol/codes.js';
import { disconnectOf, type Disconnect } from '../protocol/errors.js';

export interface UniDisconnectConfig {
  readonly enabled: boolean;
  readonly transforms: readonly { readonly code: number; readonly to: { readonly code: number; readonly reason: string } }[];
}

const DEFAULTS = new Map<number, Disconnect>([
  [ErrorCode.tokenExpired.code, disconnectOf(DisconnectCode.expired)],
  [ErrorCode.expired.code, disconnectOf(DisconnectCode.expired)],
  [ErrorCode.tooManyRequests.code, disconnectOf(DisconnectCode.tooManyRequests)],
  [ErrorCode.permissionDenied.code, disconnectOf(DisconnectCode.permissionDenied)],
]);

export function uniDisconnectMapper(cfg: UniDisconnectConfig): (code: number) => Disconnect {
  const custom = new Map<number, Disconnect>();
  if (cfg.enabled) for (const t of cfg.transforms) if (!custom.has(t.code)) custom.set(t.code, { code: t.to.code, reason: t.to.reason });
  return (code) => custom.get(code) ?? DEFAULTS.get(code) ?? disconnectOf(DisconnectCode.internal);
}
