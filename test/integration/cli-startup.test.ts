/**
 * Start-up failures of the server process: a failure after some listeners are open stops what
 * was started and exits 1 naming the option (as Centrifugo's fatal log does), and an unusable
 * `log.file` is a start-up error instead of a server running without logs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { within } from '../helpers/error-paths.js';
import { CliProcess, REPO_ROOT, freePort, tempDir } from '../helpers/server-process.js';

const EXIT_BOUND_MS = 15_000;

const baseConfig = {
  http_server: { address: '127.0.0.1', port: 0 },
  client: { token: { hmac_secret_key: 'secret' } },
  http_api: { key: 'api-key' },
  log: { level: 'info' },
};

/** A TCP port held by this test process until `close()`. */
async function busyPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const addr = server.address();
  assert.ok(typeof addr === 'object' && addr !== null);
  return { port: addr.port, server };
}

/** Runs the server with `args` and expects it to exit 1 with output naming `key`. */
async function expectStartFailure(args: string[], key: string, reason: RegExp): Promise<CliProcess> {
  const proc = CliProcess.start(args);
  try {
    const exit = await within(proc.exited, EXIT_BOUND_MS, 'the server to exit after a failed start');
    assert.deepEqual(exit, { code: 1, signal: null }, proc.output);
    const errLine = proc.lines.find((l) => l.stream === 'stderr' && l.text.startsWith('error: '));
    assert.ok(errLine !== undefined, `an error line on stderr:\n${proc.output}`);
    assert.ok(errLine.text.includes(key), `the error names ${key}: ${errLine.text}`);
    assert.match(errLine.text, reason);
    return proc;
  } finally {
    await proc.kill();
  }
}

test('startup: a busy internal port stops the external listener and exits 1 naming http_server.internal_port', async () => {
  const tmp = tempDir();
  const busy = await busyPort();
  try {
    const cfg = { ...baseConfig, http_server: { ...baseConfig.http_server, internal_address: '127.0.0.1', internal_port: String(busy.port) } };
    const proc = await expectStartFailure(['-c', tmp.file('config.json', cfg)], 'http_server.internal_port', /EADDRINUSE/);
    const fatal = proc.lines.find((l) => l.json?.level === 'fatal');
    assert.ok(fatal !== undefined, `a fatal log line:\n${proc.output}`);
  } finally {
    busy.server.close();
    tmp.cleanup();
  }
});

test('startup: an unwritable pid_file stops the listeners and exits 1 naming pid_file', async () => {
  const tmp = tempDir();
  try {
    const pidFile = join(tmp.dir, 'no-such-dir', 'rotor.pid');
    await expectStartFailure(['-c', tmp.file('config.json', baseConfig), '--pid_file', pidFile], 'pid_file', /ENOENT/);
    assert.equal(existsSync(pidFile), false);
  } finally {
    tmp.cleanup();
  }
});

test('startup: a log.file that cannot be opened exits 1 naming log.file', async () => {
  const tmp = tempDir();
  try {
    const logFile = join(tmp.dir, 'no-such-dir', 'rotor.log');
    await expectStartFailure(['-c', tmp.file('config.json', baseConfig), '--log.file', logFile], 'log.file', /ENOENT/);
  } finally {
    tmp.cleanup();
  }
});

test('startup: with a writable log.file, logs go to the file and SIGTERM exits 0', async () => {
  const tmp = tempDir();
  const logFile = join(tmp.dir, 'rotor.log');
  const pidFile = join(tmp.dir, 'rotor.pid');
  const proc = CliProcess.start(['-c', tmp.file('config.json', { ...baseConfig, log: { level: 'info', file: logFile } }), '--pid_file', pidFile]);
  try {
    // The PID file is written once every listener is up; the process is ready then.
    await within(
      (async () => {
        while (!existsSync(pidFile) && proc.child.exitCode === null && proc.child.signalCode === null) await new Promise((r) => setTimeout(r, 20));
      })(),
      EXIT_BOUND_MS,
      'the PID file',
    );
    assert.equal(readFileSync(pidFile, 'utf8'), `${proc.child.pid}\n`, proc.output);
    proc.signal('SIGTERM');
    const exit = await within(proc.exited, EXIT_BOUND_MS, 'the server to exit after SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null }, proc.output);
    const messages = readFileSync(logFile, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => (JSON.parse(l) as { message: string }).message);
    assert.ok(messages.some((m) => /started/.test(m)), messages.join('\n'));
    assert.equal(messages.at(-1), 'bye');
    assert.equal(existsSync(pidFile), false, 'the PID file is removed on exit');
  } finally {
    await proc.kill();
    tmp.cleanup();
  }
});

test('startup: with TLS on, the start lines name https and wss URLs (and http for a plain internal port)', async () => {
  const tmp = tempDir();
  const fixture = (name: string): string => join(REPO_ROOT, 'test', 'fixtures', 'tls', name);
  const tls = { enabled: true, cert_pem: fixture('server.crt'), key_pem: fixture('server.key') };
  const run = async (http_server: Record<string, unknown>): Promise<string[]> => {
    const proc = CliProcess.start(['-c', tmp.file('config.json', { ...baseConfig, http_server: { ...baseConfig.http_server, ...http_server } })]);
    try {
      await proc.waitForLine((l) => typeof l.json?.message === 'string' && l.json.message.startsWith('HTTP API:'), 'the API line', EXIT_BOUND_MS);
      return proc.lines.map((l) => String(l.json?.message ?? ''));
    } finally {
      await proc.kill();
    }
  };
  try {
    const external = await run({ tls });
    assert.ok(external.some((m) => /^WebSocket endpoint: wss:\/\/127\.0\.0\.1:\d+\/connection\/websocket$/.test(m)), external.join('\n'));
    assert.ok(external.some((m) => /^HTTP API: https:\/\/127\.0\.0\.1:\d+\/api$/.test(m)), external.join('\n'));
    const internalPort = String(await freePort());
    const split = await run({ tls, tls_external: true, internal_address: '127.0.0.1', internal_port: internalPort });
    assert.ok(split.some((m) => /^WebSocket endpoint: wss:\/\//.test(m)), split.join('\n'));
    assert.ok(split.includes(`HTTP API: http://127.0.0.1:${internalPort}/api`), split.join('\n'));
  } finally {
    tmp.cleanup();
  }
});
