/** Lifecycle events to the backend (disconnect, unsubscribe, channel occupied/vacated). */
import type { Config } from '../config/schema.js';
import type { Node, NodeOptions } from '../node/node.js';
import type { Logger } from '../util/logger.js';
import type { EngineParts } from './engine.js';

export class LifecycleWiring {
  /** Spread into the node's options. */
  readonly nodeOptions: Partial<NodeOptions> = {};

  static create(_config: Readonly<Config>, _log: Logger, _engine: EngineParts): LifecycleWiring {
    return new LifecycleWiring();
  }

  async start(_node: Node): Promise<void> {}

  async stop(): Promise<void> {}
}
