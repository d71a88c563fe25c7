/**
 * The engine the integration suites' servers run on, chosen by `TEST_ENGINE` (docs/testing.md):
 * `memory` when unset. In-process servers (server.ts) merge {@link TestEngine.serverConfig} into
 * their config; CLI child processes (server-process.ts) get {@link TestEngine.processEnv}.
 *
 * An engine named here that Rotor does not have yet, or a name it does not know, ends the test
 * file's process at once with one line saying so: a run asked for that engine and must not pass
 * on another one.
 */
import { randomBytes } from 'node:crypto';
import type { ConfigInput } from '../../src/config/schema.js';

function redisUrl(): string {
  return process.env.ROTOR_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
}

function uniquePrefix(): string {
  return `rotor-test-${randomBytes(6).toString('hex')}`;
}

export interface TestEngine {
  readonly name: string;
  /** Config merged into each test server's; called per server (a fresh key prefix, say). */
  serverConfig(): ConfigInput;
  /** The same settings as `CENTRIFUGO_*` variables, for servers started as processes. */
  processEnv(): Record<string, string>;
}

/**
 * Engines by `TEST_ENGINE` value. A string says why the engine cannot be used yet. Adding one is
 * one entry: its config and environment (typically from variables naming its server, such as
 * a Redis URL, and a key prefix unique to the server).
 */
const TEST_ENGINES: Readonly<Record<string, TestEngine | string>> = {
  memory: { name: 'memory', serverConfig: () => ({}), processEnv: () => ({}) },
  // The shared Redis (scripts/run-tests.mjs sets ROTOR_TEST_REDIS_URL), a key prefix per server.
  redis: {
    name: 'redis',
    serverConfig: () => ({ engine: { type: 'redis', redis: { address: [redisUrl()], prefix: uniquePrefix() } } }),
    processEnv: () => ({ CENTRIFUGO_ENGINE_TYPE: 'redis', CENTRIFUGO_ENGINE_REDIS_ADDRESS: redisUrl(), CENTRIFUGO_ENGINE_REDIS_PREFIX: uniquePrefix() }),
  },
  nats: 'NATS keeps no history, which most integration suites use; the NATS broker runs the engine contracts and its own multi-node tests instead',
};

/** The engine `TEST_ENGINE` names, or a one-line reason why it cannot be used. */
export function testEngineFor(value: string | undefined): TestEngine | string {
  const name = value === undefined || value === '' ? 'memory' : value;
  const entry = TEST_ENGINES[name];
  if (entry === undefined) return `TEST_ENGINE=${name}: unknown engine; use one of ${Object.keys(TEST_ENGINES).join(', ')}`;
  return typeof entry === 'string' ? `TEST_ENGINE=${name}: ${entry}; the integration suites cannot run on it` : entry;
}

function selected(): TestEngine {
  const engine = testEngineFor(process.env.TEST_ENGINE);
  if (typeof engine === 'string') {
    process.stderr.write(`${engine}\n`);
    process.exit(1);
  }
  return engine;
}

/** The engine of this run. Importing this module with an unusable `TEST_ENGINE` exits 1. */
export const TEST_ENGINE: TestEngine = selected();
