/** The uni_grpc transport (`uni_grpc.*`): built from the config, or undefined when off. */
import type { Config } from '../config/schema.js';
import type { Node } from '../node/node.js';
import type { Logger } from '../util/logger.js';
import type { SideServer } from './side-server.js';

export function createUniGrpc(config: Readonly<Config>, _node: Node, _log: Logger): SideServer | undefined {
  if (!config.uni_grpc.enabled) return undefined;
  return undefined;
}
