/**
 * Centrifugo v1's command-line flags (`centrifugo --help` of v1.8), accepted beside the v6 ones so
 * an old start script runs unchanged: each gives its value to the v6 option it became (the same
 * table as the v1 config keys, config/legacy-keys.ts). Hidden from `--help`; docs/config.md lists
 * them. `-a`/`--address` and `-p`/`--port` need no entry: the v6 flags have those short names.
 */
import { Option, type Command } from 'commander';
import { coerceEnvValue } from '../config/env.js';
import { findOption } from '../config/describe.js';
import { splitV1List, v1HostPort, v1RedisAddresses } from '../config/migrate.js';

interface V1Flag {
  /** `--name`, and a one-letter short name where v1 had one. */
  readonly name: string;
  readonly short?: string;
  readonly bool: boolean;
  /** The v6 option; absent for a flag Rotor ignores (`ignored`). */
  readonly path?: string;
  readonly ignored?: string;
}

const V1_FLAGS: readonly V1Flag[] = [
  { name: 'address', bool: false, path: 'http_server.address' },
  { name: 'port', bool: false, path: 'http_server.port' },
  { name: 'admin', bool: true, path: 'admin.enabled' },
  { name: 'web', short: 'w', bool: true, path: 'admin.enabled' },
  { name: 'web_path', bool: false, path: 'admin.web_path' },
  { name: 'admin_port', bool: false, path: 'http_server.internal_port' },
  { name: 'api_port', bool: false, path: 'http_server.internal_port' },
  { name: 'debug', short: 'd', bool: true, path: 'debug.enabled' },
  { name: 'engine', short: 'e', bool: false, path: 'engine.type' },
  { name: 'insecure', bool: true, path: 'client.insecure' },
  { name: 'insecure_admin', bool: true, path: 'admin.insecure' },
  { name: 'insecure_api', bool: true, path: 'http_api.insecure' },
  { name: 'log_file', bool: false, path: 'log.file' },
  { name: 'log_level', bool: false, path: 'log.level' },
  { name: 'name', short: 'n', bool: false, path: 'node.name' },
  { name: 'redis_url', bool: false, path: 'engine.redis.address' },
  { name: 'redis_host', bool: false },
  { name: 'redis_port', bool: false },
  { name: 'redis_db', bool: false, path: 'engine.redis.db' },
  { name: 'redis_password', bool: false, path: 'engine.redis.password' },
  { name: 'redis_master_name', bool: false, path: 'engine.redis.sentinel_master_name' },
  { name: 'redis_sentinels', bool: false, path: 'engine.redis.sentinel_address' },
  { name: 'redis_pool', bool: false, ignored: 'the pool is sized by the Redis client' },
  { name: 'redis_api', bool: true, path: 'redis_api_queue.enabled' },
  { name: 'redis_api_num_shards', bool: false, path: 'redis_api_queue.num_shards' },
  { name: 'ssl', bool: true, path: 'http_server.tls.enabled' },
  { name: 'ssl_cert', bool: false, path: 'http_server.tls.cert_pem' },
  { name: 'ssl_key', bool: false, path: 'http_server.tls.key_pem' },
];

/** A v1 list flag's entries; v1's Sentinels all watch one master, so they make one entry. */
function v1List(name: string, text: string): string[] {
  const entries = splitV1List(text).map(v1HostPort);
  return name === 'redis_sentinels' ? [entries.join(',')] : entries;
}

/** The commander attribute name of a v1 flag (kept apart from the v6 flags' dotted names). */
const attr = (f: V1Flag): string => `v1_${f.name}`;

export function addV1Flags(cmd: Command): Command {
  for (const f of V1_FLAGS) {
    const short = f.short !== undefined ? `-${f.short}, ` : '';
    const o = new Option(`${short}--${f.name} ${f.bool ? '[bool]' : '<value>'}`, `Centrifugo v1 flag${f.path !== undefined ? `: ${f.path}` : ''}`).hideHelp();
    o.attributeName = () => attr(f);
    cmd.addOption(o);
  }
  return cmd;
}

/**
 * Dotted v6 path ⇒ value for every v1 flag given; a flag Rotor ignores is reported on stderr.
 */
export function givenV1Flags(cmd: Command): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let host: string | undefined;
  let port: string | undefined;
  for (const f of V1_FLAGS) {
    if (cmd.getOptionValueSource(attr(f)) !== 'cli') continue;
    const raw = cmd.getOptionValue(attr(f)) as string | boolean;
    const text = raw === true ? 'true' : String(raw);
    if (f.ignored !== undefined) {
      process.stderr.write(`warning: --${f.name} is a Centrifugo v1 flag Rotor ignores (${f.ignored})\n`);
      continue;
    }
    if (f.name === 'redis_host') host = text;
    else if (f.name === 'redis_port') port = text;
    else if (f.path !== undefined) {
      const meta = findOption(f.path)?.meta;
      out[f.path] = meta === undefined ? text : meta.kind === 'string[]' ? v1List(f.name, text) : coerceEnvValue(meta, text);
    }
  }
  // v1's web interface and tools talk to /socket: v1's --admin and --web serve it too.
  if (out['admin.enabled'] === true) out['admin.v1_socket'] = true;
  // v1 read host and port apart; given one without the other, the other keeps v1's default, as
  // v1's own flag did (a config file's address is replaced as a whole: say both).
  if ((host !== undefined || port !== undefined) && out['engine.redis.address'] === undefined) out['engine.redis.address'] = v1RedisAddresses(host, port);
  return out;
}
