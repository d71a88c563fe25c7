/**
 * The shared Redis and NATS of a test run. `node scripts/run-tests.mjs` decides them before the
 * tests start (docs/testing.md, "Redis and NATS"): the real servers on 127.0.0.1:6379 and
 * 127.0.0.1:4222 when they answer, else private ones it starts for the run (under CI=true a
 * missing one stops the run instead). It exports their URLs as ROTOR_TEST_REDIS_URL and
 * ROTOR_TEST_NATS_URL for the test files that need them: paths containing `redis` or `nats`,
 * test/contract/, TEST_ENGINE=redis|nats, or a `test-services: redis, nats` comment in the file.
 *
 * Tests sharing a server isolate themselves: a uniquePrefix() per test for Redis keys
 * (redis-servers.ts), unique subjects for NATS. Tests that stop, pause or fail over a server
 * start their own with redis-servers.ts or nats-server.ts instead.
 */

function fromEnv(name: string, service: string): string {
  const v = process.env[name];
  if (v === undefined || v === '') {
    throw new Error(
      `${name} is not set: run this file with node scripts/run-tests.mjs, which finds or starts ${service} for files whose path contains ${service.toLowerCase()} ` +
        `(or that carry a "test-services: ${service.toLowerCase()}" comment), or set ${name} yourself`,
    );
  }
  return v;
}

/** `redis://host:port` of the run's shared Redis (ROTOR_TEST_REDIS_URL). Throws one line when unset. */
export function sharedRedisUrl(): string {
  return fromEnv('ROTOR_TEST_REDIS_URL', 'Redis');
}

/** `nats://host:port` of the run's shared NATS (ROTOR_TEST_NATS_URL). Throws one line when unset. */
export function sharedNatsUrl(): string {
  return fromEnv('ROTOR_TEST_NATS_URL', 'NATS');
}

/** Host and port of a `redis://` or `nats://` URL (port defaults 6379 and 4222). */
export function addressOf(url: string): { host: string; port: number } {
  const u = new URL(url);
  const port = u.port !== '' ? Number(u.port) : u.protocol === 'nats:' ? 4222 : 6379;
  return { host: u.hostname === '' ? '127.0.0.1' : u.hostname, port };
}
