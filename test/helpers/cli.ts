/** Running the `rotor` CLI from source in a child process, as a user would run it. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
export const TSX = import.meta.resolve('tsx');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Environment without any CENTRIFUGO_/ROTOR_ variables of the machine running the tests. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('CENTRIFUGO_') && !k.startsWith('ROTOR_')) env[k] = v;
  }
  return { ...env, ...extra };
}

/** Runs any command in `cwd` to its end and collects its output (`timeout` ms, default 30 s). */
export function runCommand(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? cleanEnv(), timeout: opts.timeout ?? 30_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `node --import tsx src/cli/main.ts <args>` in `cwd` and collects its output (30 s limit). */
export function rotor(cwd: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return runCommand(process.execPath, ['--import', TSX, MAIN, ...args], { cwd, env: cleanEnv(env) });
}
