// One small face over each Redis client compared by bench/redis-clients.mjs (issue #17 item 6):
// ioredis and node-redis (@redis/client). The clients are loaded from a directory given at run
// time, so node-redis never has to be a dependency of the repository.
//
// Both speak RESP3 (each client's default). Everything measured goes through the same few calls:
// EVALSHA, PUBLISH, SUBSCRIBE with Buffer payloads, and a raw command for administration.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Client variants the bench knows: `ioredis` (auto-pipelining on, as Rotor would run it) and
 * `node-redis` (it always pipelines), each over RESP3, their default. Suffixes make variants for
 * experiments: `-plain` (ioredis without auto-pipelining) and `-resp2` (RESP2 instead of RESP3),
 * e.g. `ioredis-plain-resp2`.
 */
export const VARIANTS = ['ioredis', 'node-redis', 'ioredis-plain', 'ioredis-resp2', 'node-redis-resp2'];

/** Finds a package under `clientDir` (a node_modules folder) and imports it; null when absent. */
async function loadPackage(clientDir, name) {
  const req = createRequire(join(clientDir, '__resolver__.js'));
  let entry;
  try {
    entry = req.resolve(name);
  } catch {
    return null;
  }
  let dir = dirname(entry);
  while (!dir.endsWith(join('node_modules', name)) && dir !== dirname(dir)) dir = dirname(dir);
  const version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
  const mod = await import(pathToFileURL(entry).href);
  return { mod: mod.default ?? mod, ns: mod, version, dir };
}

/**
 * Loads the client of a variant. node-redis is taken as `@redis/client` (what a server would depend
 * on: the core client without the module commands) and, failing that, as `redis`.
 */
export async function loadVariant(clientDir, variant) {
  const [base, ...flags] = variant.replace('node-redis', 'node_redis').split('-');
  const resp = flags.includes('resp2') ? 2 : 3;
  if (flags.some((f) => f !== 'resp2' && f !== 'plain') || (base === 'node_redis' && flags.includes('plain'))) {
    throw new Error(`unknown client variant ${variant}; e.g. ${VARIANTS.join(', ')}`);
  }
  if (base === 'ioredis') {
    const pkg = await loadPackage(clientDir, 'ioredis');
    if (pkg === null) throw new Error(`ioredis not found under ${clientDir}`);
    return makeIoredis(variant, pkg, !flags.includes('plain'), resp);
  }
  if (base === 'node_redis') {
    const pkg = (await loadPackage(clientDir, '@redis/client')) ?? (await loadPackage(clientDir, 'redis'));
    if (pkg === null) {
      throw new Error(`node-redis not found under ${clientDir}: install it in a scratch directory, e.g.\n` +
        '  mkdir -p /tmp/redis-cmp && cd /tmp/redis-cmp && npm init -y && npm install redis@^6 ioredis@^6.1\n' +
        'and pass --client-dir /tmp/redis-cmp/node_modules');
    }
    return makeNodeRedis(variant, pkg, resp);
  }
  throw new Error(`unknown client ${variant}; known: ${VARIANTS.join(', ')}`);
}

/**
 * Connection options, the same words for both clients:
 * - `name`: CLIENT SETNAME, so a connection can be found in CLIENT LIST;
 * - `reconnectMs`: fixed delay before reconnecting (default: the client's own backoff);
 * - `timeoutMs`: per-command timeout (ioredis `commandTimeout`; node-redis `commandOptions.timeout`);
 * - `rejectInFlight`: node-redis only; lets the timeout reject a command already written;
 * - `offlineQueue`: false fails commands at once while disconnected instead of queueing them.
 */
function makeIoredis(variant, pkg, autoPipeline, resp) {
  const Redis = pkg.mod;
  const base = (o) => ({
    lazyConnect: true,
    protocol: resp,
    enableAutoPipelining: autoPipeline,
    connectionName: o.name,
    commandTimeout: o.timeoutMs,
    enableOfflineQueue: o.offlineQueue ?? true,
    maxRetriesPerRequest: o.offlineQueue === false ? 0 : 20,
    retryStrategy: o.reconnectMs === undefined ? undefined : () => o.reconnectMs,
  });
  const wrap = (c) => ({
    raw: c,
    evalsha: (sha, keys, args) => c.evalsha(sha, keys.length, ...keys, ...args),
    evalshaBuffer: (sha, keys, args) => c.evalshaBuffer(sha, keys.length, ...keys, ...args),
    scriptLoad: (lua) => c.script('LOAD', lua),
    publish: (ch, buf) => c.publish(ch, buf),
    get: (k) => c.get(k),
    set: (k, v) => c.set(k, v),
    call: (args) => c.call(...args),
    /** Resolves when Redis confirmed every channel; `onMessage(channel: Buffer, payload: Buffer)`. */
    subscribe(channels, onMessage) {
      if (onMessage !== undefined && c.listenerCount('messageBuffer') === 0) c.on('messageBuffer', onMessage);
      return c.subscribe(channels);
    },
    close: () => c.quit().then(() => undefined, () => c.disconnect()),
    destroy: () => c.disconnect(),
  });
  return {
    name: variant,
    label: `ioredis ${pkg.version}${autoPipeline ? '' : ' no auto-pipelining'}${resp === 2 ? ' RESP2' : ''}`,
    version: pkg.version,
    async connect(url, o = {}) {
      const c = new Redis(url, base(o));
      c.on('error', () => {}); // surfaced through the rejected commands; the bench counts those
      await c.connect();
      return wrap(c);
    },
    async connectCluster(nodes, o = {}) {
      const c = new Redis.Cluster(nodes, { shardedSubscribers: true, redisOptions: base(o) });
      c.on('error', () => {});
      await new Promise((resolve, reject) => { c.once('ready', resolve); c.once('end', reject); });
      return {
        set: (k, v) => c.set(k, v),
        get: (k) => c.get(k),
        spublish: (ch, buf) => c.spublish(ch, buf),
        /** Sharded channels go one command each: channels of different slots may not share one. */
        async ssubscribe(channels, onMessage) {
          c.on('smessageBuffer', onMessage);
          for (const ch of channels) await c.ssubscribe(ch);
        },
        close: () => c.quit().then(() => undefined, () => c.disconnect()),
      };
    },
    async connectSentinel(sentinels, masterName, o = {}) {
      const c = new Redis({ ...base(o), sentinels, name: masterName });
      c.on('error', () => {});
      await c.connect();
      return wrap(c);
    },
  };
}

function makeNodeRedis(variant, pkg, resp) {
  const { createClient, createCluster, createSentinel, RESP_TYPES } = pkg.ns.createClient ? pkg.ns : pkg.mod;
  const bufferReplies = { [RESP_TYPES.BLOB_STRING]: Buffer, [RESP_TYPES.SIMPLE_STRING]: Buffer };
  const base = (o) => ({
    RESP: resp,
    name: o.name,
    disableOfflineQueue: o.offlineQueue === false,
    commandOptions: o.timeoutMs === undefined ? undefined : { timeout: o.timeoutMs, rejectInFlight: o.rejectInFlight === true },
    socket: o.reconnectMs === undefined ? undefined : { reconnectStrategy: o.reconnectMs },
  });
  const wrap = (c) => {
    const buffers = c.withTypeMapping(bufferReplies);
    return {
      raw: c,
      evalsha: (sha, keys, args) => c.evalSha(sha, { keys, arguments: args }),
      evalshaBuffer: (sha, keys, args) => buffers.evalSha(sha, { keys, arguments: args }),
      scriptLoad: (lua) => c.scriptLoad(lua),
      publish: (ch, buf) => c.publish(ch, buf),
      get: (k) => c.get(k),
      set: (k, v) => c.set(k, v),
      call: (args) => c.sendCommand(args),
      /** node-redis calls listeners `(message, channel)`; turned round to match ioredis. */
      subscribe(channels, onMessage) {
        return c.subscribe(channels, onMessage === undefined ? () => {} : (msg, ch) => onMessage(ch, msg), true);
      },
      close: () => c.close().catch(() => c.destroy()),
      destroy: () => c.destroy(),
    };
  };
  return {
    name: variant,
    label: `node-redis (@redis/client ${pkg.version})${resp === 2 ? ' RESP2' : ''}`,
    version: pkg.version,
    async connect(url, o = {}) {
      const opts = base(o);
      const c = createClient({ url, ...opts, socket: opts.socket });
      c.on('error', () => {});
      await c.connect();
      return wrap(c);
    },
    async connectCluster(nodes, o = {}) {
      const c = createCluster({ rootNodes: nodes.map((n) => ({ url: `redis://${n.host}:${n.port}` })), defaults: base(o), RESP: resp });
      c.on('error', () => {});
      await c.connect();
      return {
        set: (k, v) => c.set(k, v),
        get: (k) => c.get(k),
        spublish: (ch, buf) => c.sPublish(ch, buf),
        async ssubscribe(channels, onMessage) {
          for (const ch of channels) await c.sSubscribe(ch, (msg, chan) => onMessage(chan, msg), true);
        },
        close: () => c.close().catch(() => c.destroy()),
      };
    },
    async connectSentinel(sentinels, masterName, o = {}) {
      const c = createSentinel({ name: masterName, sentinelRootNodes: sentinels, nodeClientOptions: base(o), RESP: resp });
      c.on('error', () => {});
      await c.connect();
      return wrap(c);
    },
  };
}
