/** The proxy layer over Rotor's policy: built from the config's proxy sections. */
import type { Config } from '../config/schema.js';
import type { NodeHooks } from '../node/events.js';
import type { CentrifugoPolicy } from '../rules/hooks.js';
import type { Logger } from '../util/logger.js';

export interface ProxyLayer {
  hooks: NodeHooks;
  /** Closes the backends' connection pools. */
  close(): Promise<void>;
}

export function buildProxyLayer(_config: Readonly<Config>, policy: CentrifugoPolicy, _log: Logger): ProxyLayer {
  return { hooks: policy, close: async () => {} };
}
