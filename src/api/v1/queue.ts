/**
 * The commands of Centrifugo v1's Redis API queue (engine/redis/api-queue.ts): each list item is
 * one v1 API command or an array of them, run as the v1 HTTP API runs them (v1/commands.ts), with
 * no answer to anyone. A command that fails for a temporary reason (the broker is unreachable:
 * "internal server error") is tried again; one that can never succeed (not JSON, an unknown method,
 * an unknown namespace) is logged with its first 200 characters and dropped, as v1 logged it.
 */
import { parseJsonWithRaw } from '../../protocol/json/raw-json.js';
import type { ApiContext } from '../methods.js';
import { decodeV1Command, runV1Command, type V1Command } from './commands.js';

export type QueueOutcome = 'done' | 'retry';

export function queueCommandHandler(ctx: ApiContext): (command: string, tag: string) => Promise<QueueOutcome> {
  return async (text, tag) => {
    let commands: V1Command[];
    try {
      const parsed = parseJsonWithRaw(text, (key) => key === 'data' || key === 'info');
      commands = (Array.isArray(parsed) ? parsed : [parsed]).map(decodeV1Command);
    } catch (err) {
      ctx.node.log.warn({ err, command: text.slice(0, 200) }, 'redis api queue: malformed command dropped');
      return 'done';
    }
    for (const [i, c] of commands.entries()) {
      const r = await runV1Command(ctx, c, commands.length === 1 ? `redis_api:${tag}` : `redis_api:${tag}:${i}`);
      if (r.error === 'internal server error') return 'retry';
      if (r.error !== null) ctx.node.log.warn({ method: c.method, error: r.error, command: text.slice(0, 200) }, 'redis api queue: command failed');
    }
    return 'done';
  };
}
