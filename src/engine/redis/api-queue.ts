/**
 * Centrifugo v1's Redis API queue (seed `server/engines.md`), consumed reliably: producers RPUSH
 * commands to the list `<prefix>.api` (and `<prefix>.api.<i>` for i < num_shards); every node takes
 * them and hands each to the caller's handler, in order per list.
 *
 * Nothing a producer pushed is lost when a node stops or dies mid-way:
 * - a node takes commands with one script that moves them (up to TAKE_BATCH) from the queue to its
 *   own processing list `<queue>.processing.<node>`, tagging each with a unique number
 *   (`#<n>\n<command>`, from `<prefix>.api.seq`) on the way;
 * - it removes a command from its processing list only after the handler finished with it; the
 *   same script hands back, before anything new, what is still in that list (a reply lost on the
 *   way, a removal that failed), to run again under its tag;
 * - each node keeps `<prefix>.api.consumer.<node>` alive (a key with a TTL of LIVENESS_TTL_MS,
 *   renewed every HEARTBEAT_MS) and is in the hash `<prefix>.api.consumers` with its number of
 *   shard lists; every node sweeps that hash and moves each list a node whose key expired had in
 *   hand back to the head of its queue, tag and order kept; a node stopping gracefully moves its own
 *   back at once. A node whose key has expired (a long pause) takes nothing until it has renewed it;
 * - a command whose handler keeps failing for a temporary reason is tried MAX_ATTEMPTS times, then
 *   moved to `<prefix>.api.failed` with a warning, so one bad command does not hold up its list.
 *
 * A command taken again after a crash keeps its tag, and the handler passes it to publish as an
 * idempotency key, so a publication already made is not made twice (within the broker's
 * idempotency window, 5 minutes, far longer than LIVENESS_TTL_MS). Commands without side effects
 * beyond their own (unsubscribe, disconnect) are safe to repeat.
 *
 * The queue uses the first address of the Redis engine (v1 had one Redis for it) and does not
 * work on a Redis Cluster (its scripts touch several keys). When a list is empty a node looks
 * again after IDLE_POLL_MS, doubling up to IDLE_POLL_MAX_MS while it stays empty. Several nodes
 * take from one list in parallel, as v1's did: one list's order holds on one node.
 */
import type { Logger } from '../../util/logger.js';
import { RedisShard } from './shard.js';
import type { RedisShardOptions } from './options.js';
import { script } from './scripts.js';

export const TAKE_BATCH = 64;
export const IDLE_POLL_MS = 25;
const IDLE_POLL_MAX_MS = 200;
/** Tries of a command whose handler fails for a temporary reason before it is dead-lettered. */
export const MAX_ATTEMPTS = 30;
export const HEARTBEAT_MS = 2000;
export const LIVENESS_TTL_MS = 10_000;
/** Wait before a command whose handler failed for a temporary reason is tried again, ms. */
const RETRY_MS = 1000;

/** KEYS: queue, processing, seq, liveness. -1 when this node's liveness key is gone. */
const TAKE = script(
  'api_queue_take',
  `if redis.call('EXISTS', KEYS[4]) == 0 then return -1 end
local held = redis.call('LRANGE', KEYS[2], 0, tonumber(ARGV[1]) - 1)
if #held > 0 then return held end
local out = {}
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

const DEAD_LETTER = script('api_queue_dead_letter', `redis.call('LREM', KEYS[1], 1, ARGV[1])
return redis.call('RPUSH', KEYS[2], ARGV[1])`);

/** KEYS: liveness key, consumers hash. ARGV: ttl ms, node, its number of shard lists. */
const ALIVE = script(
  'api_queue_alive',
  `redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1`,
);

/**
 * KEYS[1]: the consumers hash (node → its number of shard lists). ARGV[1]: the liveness key
 * prefix; ARGV[2]: the main queue; ARGV[3]: a node to give back now, or "".
 */
const SWEEP = script(
  'api_queue_sweep',
  `local moved = 0
local all = redis.call('HGETALL', KEYS[1])
for j = 1, #all, 2 do
  local node = all[j]
  if node == ARGV[3] or redis.call('EXISTS', ARGV[1] .. node) == 0 then
    local queues = { ARGV[2] }
    for i = 0, tonumber(all[j + 1]) - 1 do queues[#queues + 1] = ARGV[2] .. '.' .. i end
    for _, q in ipairs(queues) do
      local p = q .. '.processing.' .. node
      while redis.call('RPOPLPUSH', p, q) do moved = moved + 1 end
    end
    redis.call('HDEL', KEYS[1], node)
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
  /** A Redis failure was logged and Redis has not answered since. */
  private failing = false;
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
    const shard = await RedisShard.open(this.opts.shard, false, { message() {}, resubscribed() {}, warn: (m) => this.log.warn({}, `redis api queue: ${m}`), info: (m) => this.log.info({}, `redis api queue: ${m}`), pubSubFailed() {} }, false);
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
      await shard.eval(SWEEP, [this.consumers], [this.alivePrefix, this.queues[0]!, this.opts.nodeId]);
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
      await shard.eval(ALIVE, [`${this.alivePrefix}${this.opts.nodeId}`, this.consumers], [LIVENESS_TTL_MS, this.opts.nodeId, this.opts.numShards]);
      const moved = Number(await shard.eval(SWEEP, [this.consumers], [this.alivePrefix, this.queues[0]!, '']));
      if (moved > 0) this.log.info({ commands: moved }, 'redis api queue: commands of a node that stopped were given back to the queue');
      if (this.failing) this.log.info({}, 'redis api queue: Redis answers again');
      this.failing = false;
    } catch (err) {
      this.warnOnce(err, 'heartbeat failed');
    }
  }

  private async consume(queue: string): Promise<void> {
    const shard = this.shard!;
    const processing = this.processing(queue);
    const keys = [queue, processing, `${this.opts.prefix}.api.seq`, `${this.alivePrefix}${this.opts.nodeId}`];
    let idle = IDLE_POLL_MS;
    while (this.running) {
      let taken: Buffer[] | number;
      try {
        taken = (await shard.eval(TAKE, keys, [TAKE_BATCH])) as Buffer[] | number;
      } catch (err) {
        this.warnOnce(err, 'could not take commands');
        await sleep(RETRY_MS);
        continue;
      }
      if (typeof taken === 'number') {
        // This node's liveness lapsed (a long pause): it may have been swept; register again first.
        await this.beat();
        await sleep(IDLE_POLL_MS);
        continue;
      }
      if (taken.length === 0) {
        await sleep(idle);
        idle = Math.min(idle * 2, IDLE_POLL_MAX_MS);
        continue;
      }
      idle = IDLE_POLL_MS;
      for (const item of taken) {
        // Stopping: what is left stays in the processing list, and stop() gives it back.
        if (!this.running) return;
        await this.run(item, processing);
      }
    }
  }

  /** Runs one taken command until it is done (or dead-lettered), then removes it from the processing list. */
  private async run(item: Buffer, processing: string): Promise<void> {
    const shard = this.shard!;
    const text = item.toString('utf8');
    const nl = text.indexOf('\n');
    const tag = text.slice(1, nl);
    const command = text.slice(nl + 1);
    for (let attempt = 1; (await this.handle(command, tag)) === 'retry'; attempt++) {
      if (!this.running) return;
      if (attempt >= MAX_ATTEMPTS) {
        this.log.warn({ command: command.slice(0, 200), attempts: attempt }, `redis api queue: command failed ${attempt} times; moved to ${this.opts.prefix}.api.failed`);
        await shard.eval(DEAD_LETTER, [processing, `${this.opts.prefix}.api.failed`], [item]).catch((err: unknown) => this.warnOnce(err, 'could not dead-letter a command'));
        return;
      }
      await sleep(RETRY_MS);
    }
    // A removal that fails leaves the command in the processing list: the next take hands it back
    // and it runs again under its tag (its publications are not made twice).
    await shard.eval(ACK, [processing], [item]).catch((err: unknown) => this.warnOnce(err, 'could not remove a done command'));
  }

  /** Logs a Redis failure once per outage (the heartbeat says when Redis answers again). */
  private warnOnce(err: unknown, what: string): void {
    if (this.failing) return;
    this.failing = true;
    this.log.warn({ err }, `redis api queue: ${what}`);
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
