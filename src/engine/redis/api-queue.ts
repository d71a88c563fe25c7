/**
 * Centrifugo v1's Redis API queue (seed `server/engines.md`), consumed reliably: producers RPUSH
 * commands to the list `<prefix>.api` (and `<prefix>.api.<i>` for i < num_shards); every node takes
 * them and hands each to the caller's handler, in order per list.
 *
 * Nothing a producer pushed is lost when a node stops or dies mid-way:
 * - a node takes commands with one script that moves them (up to TAKE_BATCH) from the queue to its
 *   own processing list `<queue>.processing.<node>`, tagging each with a unique number
 *   (`#<n>\n<command>`, from `<prefix>.api.seq`) on the way;
 * - it removes a command from its processing list only after the handler finished with it;
 * - each node keeps `<prefix>.api.consumer.<node>` alive (a key with a TTL of LIVENESS_TTL_MS,
 *   renewed every HEARTBEAT_MS) and is listed in `<prefix>.api.consumers`; every node sweeps that
 *   list and moves the processing list of a node whose key expired back to the head of its queue,
 *   tag and order kept; a node stopping gracefully moves its own back at once.
 *
 * A command taken again after a crash keeps its tag, and the handler passes it to publish as an
 * idempotency key, so a publication already made is not made twice (within the broker's
 * idempotency window, 5 minutes, far longer than LIVENESS_TTL_MS). Commands without side effects
 * beyond their own (unsubscribe, disconnect) are safe to repeat.
 *
 * The queue uses the first address of the Redis engine (v1 had one Redis for it) and does not
 * work on a Redis Cluster (its scripts touch several keys). When a list is empty a node looks
 * again after IDLE_POLL_MS.
 */
import type { Logger } from '../../util/logger.js';
import { RedisShard } from './shard.js';
import type { RedisShardOptions } from './options.js';
import { script } from './scripts.js';

export const TAKE_BATCH = 64;
export const IDLE_POLL_MS = 25;
export const HEARTBEAT_MS = 2000;
export const LIVENESS_TTL_MS = 10_000;
/** Wait before a command whose handler failed for a temporary reason is tried again, ms. */
const RETRY_MS = 1000;

const TAKE = script(
  'api_queue_take',
  `local out = {}
for i = 1, tonumber(ARGV[1]) do
  local v = redis.call('LPOP', KEYS[1])
  if not v then break end
  if string.sub(v, 1, 1) ~= '#' then v = '#' .. redis.call('INCR', KEYS[3]) .. '\\n' .. v end
  redis.call('RPUSH', KEYS[2], v)
  out[#out + 1] = v
end
return out`,
);

const ACK = script('api_queue_ack', `return redis.call('LREM', KEYS[1], 1, ARGV[1])`);

const ALIVE = script(
  'api_queue_alive',
  `redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
return 1`,
);

/** KEYS[1]: the consumers set. ARGV[1]: the liveness key prefix; ARGV[2]: a node to give back now, or ""; ARGV[3..]: queues. */
const SWEEP = script(
  'api_queue_sweep',
  `local moved = 0
for _, node in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if node == ARGV[2] or redis.call('EXISTS', ARGV[1] .. node) == 0 then
    for i = 3, #ARGV do
      local p = ARGV[i] .. '.processing.' .. node
      while redis.call('RPOPLPUSH', p, ARGV[i]) do moved = moved + 1 end
    end
    redis.call('SREM', KEYS[1], node)
    redis.call('DEL', ARGV[1] .. node)
  end
end
return moved`,
);

/** What the handler says about a command: done (removed from the queue), or to be tried again. */
export type QueueOutcome = 'done' | 'retry';
/** `tag` is unique per pushed command and stays the same if it is taken again after a crash. */
export type QueueHandler = (command: string, tag: string) => Promise<QueueOutcome>;

export interface ApiQueueOptions {
  shard: RedisShardOptions;
  prefix: string;
  /** Extra lists `<prefix>.api.<i>`; 0 for the main list only. */
  numShards: number;
  nodeId: string;
}

export class RedisApiQueue {
  private shard: RedisShard | undefined;
  private running = false;
  private loops: Promise<void>[] = [];
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly queues: string[];
  private readonly consumers: string;
  private readonly alivePrefix: string;

  constructor(
    private readonly opts: ApiQueueOptions,
    private readonly handler: QueueHandler,
    private readonly log: Logger,
  ) {
    const base = `${opts.prefix}.api`;
    this.queues = [base, ...Array.from({ length: opts.numShards }, (_, i) => `${base}.${i}`)];
    this.consumers = `${base}.consumers`;
    this.alivePrefix = `${base}.consumer.`;
  }

  /** Connects and starts taking commands. Rejects naming the Redis when it cannot be reached, or on a Cluster. */
  async start(): Promise<void> {
    const shard = await RedisShard.open(this.opts.shard, false, { message() {}, resubscribed() {}, warn: (m) => this.log.warn({}, `redis api queue: ${m}`) }, false);
    if (shard.cluster) {
      await shard.close();
      throw new Error('redis_api_queue: the Redis API queue does not work on a Redis Cluster (its scripts touch several keys)');
    }
    this.shard = shard;
    this.running = true;
    await this.beat();
    this.heartbeat = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.heartbeat.unref();
    this.loops = this.queues.map((q) => this.consume(q));
  }

  /** Stops taking commands, waits for the ones in hand, and gives back what this node had taken. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    await Promise.allSettled(this.loops);
    const shard = this.shard;
    if (shard === undefined) return;
    try {
      await shard.eval(SWEEP, [this.consumers], [this.alivePrefix, this.opts.nodeId, ...this.queues]);
    } catch (err) {
      this.log.warn({ err }, 'redis api queue: could not give back the commands in hand; another node will after the liveness ttl');
    }
    await shard.close();
  }

  private processing(queue: string): string {
    return `${queue}.processing.${this.opts.nodeId}`;
  }

  /** Renews this node's liveness and gives back the commands of nodes whose liveness expired. */
  private async beat(): Promise<void> {
    const shard = this.shard;
    if (shard === undefined || !this.running) return;
    try {
      await shard.eval(ALIVE, [`${this.alivePrefix}${this.opts.nodeId}`, this.consumers], [LIVENESS_TTL_MS, this.opts.nodeId]);
      const moved = Number(await shard.eval(SWEEP, [this.consumers], [this.alivePrefix, '', ...this.queues]));
      if (moved > 0) this.log.info({ commands: moved }, 'redis api queue: commands of a node that stopped were given back to the queue');
    } catch (err) {
      this.log.warn({ err }, 'redis api queue: heartbeat failed');
    }
  }

  private async consume(queue: string): Promise<void> {
    const shard = this.shard!;
    const processing = this.processing(queue);
    while (this.running) {
      let taken: Buffer[];
      try {
        taken = (await shard.eval(TAKE, [queue, processing, `${this.opts.prefix}.api.seq`], [TAKE_BATCH])) as Buffer[];
      } catch (err) {
        this.log.warn({ err, queue }, 'redis api queue: could not take commands');
        await sleep(RETRY_MS);
        continue;
      }
      if (taken.length === 0) {
        await sleep(IDLE_POLL_MS);
        continue;
      }
      for (const item of taken) {
        const text = item.toString('utf8');
        const nl = text.indexOf('\n');
        const tag = text.slice(1, nl);
        const command = text.slice(nl + 1);
        // A command whose handler failed for a temporary reason is tried until it succeeds or the
        // node stops (then it stays in the processing list and is given back).
        while ((await this.handle(command, tag)) === 'retry') {
          if (!this.running) return;
          await sleep(RETRY_MS);
        }
        try {
          await shard.eval(ACK, [processing], [item]);
        } catch (err) {
          // Left in the processing list: given back later and run again under the same tag.
          this.log.warn({ err, queue }, 'redis api queue: could not remove a done command');
        }
      }
    }
  }

  private async handle(command: string, tag: string): Promise<QueueOutcome> {
    try {
      return await this.handler(command, tag);
    } catch (err) {
      this.log.error({ err }, 'redis api queue: command handler failed');
      return 'retry';
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
