/**
 * The process log at exit: every line logged before the process exits reaches stdout or
 * `log.file` (SIGTERM, SIGINT, a failed start, an uncaught exception), however slowly the reader
 * reads; and a reader that is gone or stalled never keeps the process alive.
 *
 * The slow reader is made observable instead of hoping for a busy machine: the reader of the
 * server's stdout (or of a `log.file` FIFO) is a `cat` stopped with SIGSTOP before the server
 * writes its first line, so the pipe is full when the exit begins, and it reads again only after
 * the exit has begun. An exit that does not wait for its queued lines loses them every time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { within } from '../helpers/error-paths.js';
import { REPO_ROOT, tempDir } from '../helpers/server-process.js';
import { createServer } from 'node:net';

const BOUND_MS = 20_000;
// node:test has no default timeout: a hang here must fail the file, not stall the run.
const TEST_OPTS = { timeout: 90_000 };
/** Warnings of this many unknown keys make ~150 KiB of log, over a pipe's 64 KiB. */
const UNKNOWN_KEYS = 1500;

function configWith(extra: Record<string, unknown>): Record<string, unknown> {
  const cfg: Record<string, unknown> = {
    http_server: { address: '127.0.0.1', port: 0 },
    client: { token: { hmac_secret_key: 'secret' } },
    http_api: { key: 'api-key' },
    log: { level: 'info' },
    ...extra,
  };
  for (let i = 0; i < UNKNOWN_KEYS; i++) cfg[`zz_unknown_option_${String(i).padStart(4, '0')}`] = i;
  return cfg;
}

/** A TCP port held until `close()`, for a start that must fail. */
async function listenBusy(): Promise<{ port: number; close(): void }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  assert.ok(typeof addr === 'object' && addr !== null);
  return { port: addr.port, close: () => server.close() };
}

interface Run {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

/** Starts the CLI; stdout is `stdout` (an fd) or a pipe left unread until the caller reads it. */
function startPaused(args: string[], nodeArgs: string[] = [], stdout?: number, env: NodeJS.ProcessEnv = {}): Run {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: REPO_ROOT,
    env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(CENTRIFUGO|ROTOR)_/.test(k))), ...env },
    stdio: ['ignore', stdout ?? 'pipe', 'pipe'],
  });
  child.stdout?.pause();
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, stderr: () => err };
}

/**
 * A FIFO read by a `cat` that copies it to a file, stopped (SIGSTOP) before anything is written:
 * a reader that has stopped reading, outside this process, so the test runner's own stream
 * handling (which drains a dead child's paused pipes) cannot hide or cause a loss.
 */
interface StoppedReader {
  fifo: string;
  /** A blocking write end, for a child's stdout; closed by `release`. */
  writeFd: number;
  /** Closes this process's write end (once the server holds its own). */
  release(): void;
  /** Lets cat read again. */
  resume(): void;
  /** Everything cat copied, once every writer has closed the FIFO. */
  text(): Promise<string>;
  kill(): void;
}

async function stoppedReader(dir: string): Promise<StoppedReader> {
  const fifo = join(dir, 'fifo.log');
  const copy = join(dir, 'copy.log');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  const cat = spawn('sh', ['-c', `exec cat "${fifo}" > "${copy}"`], { stdio: 'ignore' });
  const done = new Promise((r) => cat.once('exit', r));
  // A non-blocking open for writing succeeds once cat has the FIFO open for reading.
  const probe = await within(
    (async () => {
      for (;;) {
        try {
          return openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
        } catch {
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    })(),
    BOUND_MS,
    'cat to open the FIFO',
  );
  const writeFd = openSync(fifo, 'w');
  closeSync(probe);
  cat.kill('SIGSTOP');
  let released = false;
  return {
    fifo,
    writeFd,
    release: () => {
      if (!released) closeSync(writeFd);
      released = true;
    },
    resume: () => cat.kill('SIGCONT'),
    text: async () => {
      await within(done, BOUND_MS, 'cat to see the end of the FIFO');
      return readFileSync(copy, 'utf8');
    },
    kill: () => cat.kill('SIGKILL'),
  };
}

async function waitForFile(file: string, run: Run): Promise<void> {
  await within(
    (async () => {
      while (!existsSync(file) && run.child.exitCode === null && run.child.signalCode === null) await new Promise((r) => setTimeout(r, 20));
    })(),
    BOUND_MS,
    `${file} to appear`,
  );
}

function messages(text: string): string[] {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => (JSON.parse(l) as { message: string }).message);
}

/** Every unknown-key warning, the start, and the shutdown down to `bye`, in order. */
function assertComplete(lines: string[]): void {
  assert.equal(lines.filter((m) => m.includes('zz_unknown_option_')).length, UNKNOWN_KEYS, 'every warning line');
  assert.ok(lines.some((m) => /Rotor .* started/.test(m)), 'the start line');
  assert.ok(lines.includes('shutting down'), 'the shutdown line');
  assert.equal(lines.at(-1), 'bye');
}

/** Lets the process run on with its reader stopped, then lets the reader read again. */
async function resumeLater(reader: StoppedReader): Promise<void> {
  await new Promise((r) => setTimeout(r, 300));
  reader.resume();
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`log: on ${signal}, every line reaches a stdout pipe whose reader had stopped`, TEST_OPTS, async () => {
    const tmp = tempDir();
    const pidFile = join(tmp.dir, 'rotor.pid');
    const reader = await stoppedReader(tmp.dir);
    const run = startPaused(['-c', tmp.file('config.json', configWith({})), '--pid_file', pidFile], [], reader.writeFd);
    try {
      reader.release();
      await waitForFile(pidFile, run);
      run.child.kill(signal);
      await resumeLater(reader);
      const exit = await within(run.exited, BOUND_MS, 'the exit');
      assert.deepEqual(exit, { code: 0, signal: null }, run.stderr());
      assertComplete(messages(await reader.text()));
    } finally {
      run.child.kill('SIGKILL');
      reader.kill();
      tmp.cleanup();
    }
  });
}

test('log: on SIGTERM, every line reaches a log.file FIFO whose reader had stopped', TEST_OPTS, async () => {
  const tmp = tempDir();
  const pidFile = join(tmp.dir, 'rotor.pid');
  const reader = await stoppedReader(tmp.dir);
  const run = startPaused(['-c', tmp.file('config.json', configWith({ log: { level: 'info', file: reader.fifo } })), '--pid_file', pidFile]);
  try {
    await waitForFile(pidFile, run);
    reader.release(); // the server holds the FIFO open now
    run.child.kill('SIGTERM');
    await resumeLater(reader);
    const exit = await within(run.exited, BOUND_MS, 'the exit');
    assert.deepEqual(exit, { code: 0, signal: null }, run.stderr());
    assertComplete(messages(await reader.text()));
  } finally {
    run.child.kill('SIGKILL');
    reader.kill();
    tmp.cleanup();
  }
});

/**
 * A preload that keeps the server's libuv thread pool (one thread) busy with back-to-back slow
 * hashes, as a busy machine does: work queued on the pool (an asynchronous file write) waits.
 */
const BUSY_THREAD_POOL = `data:text/javascript,${encodeURIComponent(
  `import { pbkdf2 } from 'node:crypto'; const spin = () => pbkdf2('p', 's', 200000, 32, 'sha256', spin); spin();`,
)}`;

test('log: on SIGTERM with a busy thread pool, every line reaches a regular log.file', TEST_OPTS, async () => {
  const tmp = tempDir();
  const pidFile = join(tmp.dir, 'rotor.pid');
  const logFile = join(tmp.dir, 'rotor.log');
  const run = startPaused(['-c', tmp.file('config.json', configWith({ log: { level: 'info', file: logFile } })), '--pid_file', pidFile], ['--import', BUSY_THREAD_POOL], undefined, {
    UV_THREADPOOL_SIZE: '1',
  });
  try {
    await waitForFile(pidFile, run);
    run.child.kill('SIGTERM');
    const exit = await within(run.exited, BOUND_MS, 'the exit');
    assert.deepEqual(exit, { code: 0, signal: null }, run.stderr());
    assertComplete(messages(readFileSync(logFile, 'utf8')));
  } finally {
    run.child.kill('SIGKILL');
    tmp.cleanup();
  }
});

test('log: a failed start writes its fatal line to a stopped reader before exiting 1', TEST_OPTS, async () => {
  const tmp = tempDir();
  const busy = await listenBusy();
  const reader = await stoppedReader(tmp.dir);
  const run = startPaused(['-c', tmp.file('config.json', configWith({ http_server: { address: '127.0.0.1', port: busy.port } }))], [], reader.writeFd);
  try {
    reader.release();
    // The server writes its warnings into the full pipe, fails to listen, says so on stderr at
    // once, and must then wait for the reader before it exits.
    await within(
      (async () => {
        while (!run.stderr().includes('EADDRINUSE') && run.child.exitCode === null && run.child.signalCode === null) await new Promise((r) => setTimeout(r, 20));
      })(),
      BOUND_MS,
      'the start to fail',
    );
    assert.equal(run.child.exitCode, null, 'still writing out its log');
    await resumeLater(reader);
    const exit = await within(run.exited, BOUND_MS, 'the exit');
    assert.deepEqual(exit, { code: 1, signal: null }, run.stderr());
    const lines = messages(await reader.text());
    assert.equal(lines.filter((m) => m.includes('zz_unknown_option_')).length, UNKNOWN_KEYS);
    assert.equal(lines.at(-1), 'startup failed');
  } finally {
    run.child.kill('SIGKILL');
    busy.close();
    reader.kill();
    tmp.cleanup();
  }
});

test('log: an uncaught exception is logged as fatal to a stopped reader, and exits 1', TEST_OPTS, async () => {
  const tmp = tempDir();
  const pidFile = join(tmp.dir, 'rotor.pid');
  // A preloaded module throws from a timer once the server runs: a bug anywhere in the process.
  const crash = `data:text/javascript,${encodeURIComponent(
    `import { existsSync } from 'node:fs'; const t = setInterval(() => { if (existsSync(${JSON.stringify(pidFile)})) { clearInterval(t); throw new Error('boom from a test'); } }, 20);`,
  )}`;
  const reader = await stoppedReader(tmp.dir);
  const run = startPaused(['-c', tmp.file('config.json', configWith({})), '--pid_file', pidFile], ['--import', crash], reader.writeFd);
  try {
    reader.release();
    await waitForFile(pidFile, run);
    await resumeLater(reader);
    const exit = await within(run.exited, BOUND_MS, 'the exit');
    assert.deepEqual(exit, { code: 1, signal: null }, run.stderr());
    const text = await reader.text();
    const last = JSON.parse(text.trimEnd().split('\n').at(-1)!) as { level: string; message: string; err: string };
    assert.equal(last.level, 'fatal');
    assert.equal(last.message, 'uncaught exception');
    assert.match(last.err, /boom from a test/);
    assert.equal(messages(text).filter((m) => m.includes('zz_unknown_option_')).length, UNKNOWN_KEYS);
  } finally {
    run.child.kill('SIGKILL');
    reader.kill();
    tmp.cleanup();
  }
});

test('log: with stdout a closed pipe, SIGTERM still stops the server and exits 0', TEST_OPTS, async () => {
  const tmp = tempDir();
  const pidFile = join(tmp.dir, 'rotor.pid');
  const run = startPaused(['-c', tmp.file('config.json', configWith({})), '--pid_file', pidFile]);
  try {
    run.child.stdout!.destroy(); // the reader is gone (`rotor | head -3` after head exits)
    await waitForFile(pidFile, run);
    run.child.kill('SIGTERM');
    const exit = await within(run.exited, BOUND_MS, 'the exit with a dead stdout');
    assert.deepEqual(exit, { code: 0, signal: null }, run.stderr());
    assert.equal(existsSync(pidFile), false, 'the stop ran to its end');
    assert.match(run.stderr(), /log write failed \(stdout\): EPIPE/);
    assert.match(run.stderr(), /log: \d+ line\(s\) could not be written to stdout and were dropped/);
  } finally {
    run.child.kill('SIGKILL');
    tmp.cleanup();
  }
});

test('log: with stdout a pipe nobody reads, SIGTERM exits within shutdown.timeout', TEST_OPTS, async () => {
  const tmp = tempDir();
  const pidFile = join(tmp.dir, 'rotor.pid');
  const run = startPaused(['-c', tmp.file('config.json', configWith({ shutdown: { timeout: '1s' } })), '--pid_file', pidFile]);
  try {
    await waitForFile(pidFile, run);
    const killedAt = Date.now();
    run.child.kill('SIGTERM');
    // Never read: the last lines cannot be written, and the exit must not wait for them longer
    // than the 1 s timeout allows. The bound asserted (20 s) is below the default timeout (30 s),
    // so a stop that ignored the configured one fails, and load alone cannot reach it.
    const exit = await within(run.exited, 30_000, 'the exit with a stalled stdout');
    assert.deepEqual(exit, { code: 0, signal: null }, run.stderr());
    assert.ok(Date.now() - killedAt < 20_000, `exited ${Date.now() - killedAt} ms after SIGTERM`);
    assert.match(run.stderr(), /log: \d+ line\(s\) could not be written to stdout and were dropped/);
  } finally {
    run.child.kill('SIGKILL');
    tmp.cleanup();
  }
});

const PRINTING_COMMANDS: string[][] = [
  ['configdoc'],
  ['defaultconfig', '--dry-run'],
  ['defaultenv'],
  ['version'],
  ['gentoken', '-u', '42'],
];

for (const args of PRINTING_COMMANDS) {
  test(`cli: \`rotor ${args.join(' ')}\` ends quietly when its reader has gone away`, async () => {
    const tmp = tempDir();
    const cfg = { client: { token: { hmac_secret_key: 'secret' } } };
    const run = startPaused([...args, ...(args[0] === 'gentoken' ? ['-c', tmp.file('config.json', cfg)] : [])]);
    try {
      run.child.stdout!.destroy(); // closed before the command prints: its write gets EPIPE
      const exit = await within(run.exited, BOUND_MS, 'the command to end');
      assert.equal(exit.signal, null);
      assert.equal(exit.code, 0, run.stderr());
      assert.equal(run.stderr(), '', 'nothing on stderr, no stack trace');
    } finally {
      run.child.kill('SIGKILL');
      tmp.cleanup();
    }
  });
}

test('log: a log.file FIFO with no reader yet does not stop the start; a reader that comes later gets every line', TEST_OPTS, async () => {
  const tmp = tempDir();
  const pidFile = join(tmp.dir, 'rotor.pid');
  const fifo = join(tmp.dir, 'late.fifo');
  const copy = join(tmp.dir, 'late.log');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  const cfg = configWith({ log: { level: 'info', file: fifo } });
  const run = startPaused(['-c', tmp.file('config.json', cfg), '--pid_file', pidFile]);
  let cat: ChildProcess | undefined;
  try {
    await waitForFile(pidFile, run); // started with nobody reading the FIFO
    cat = spawn('sh', ['-c', `exec cat "${fifo}" > "${copy}"`], { stdio: 'ignore' });
    const catDone = new Promise((r) => cat!.once('exit', r));
    run.child.kill('SIGTERM');
    const exit = await within(run.exited, BOUND_MS, 'the exit');
    assert.deepEqual(exit, { code: 0, signal: null }, run.stderr());
    await within(catDone, BOUND_MS, 'cat to see the end of the FIFO');
    assertComplete(messages(readFileSync(copy, 'utf8')));
  } finally {
    run.child.kill('SIGKILL');
    cat?.kill('SIGKILL');
    tmp.cleanup();
  }
});
