/** `rotor version`: prints `Rotor v<version> (Node <node version>)`. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { guarded } from '../common.js';

/** Version from package.json, found relative to this file (same depth under src/ and dist/). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error('package.json has no version');
  return pkg.version;
}

export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('print Rotor version')
    .action(
      guarded(() => {
        process.stdout.write(`Rotor v${packageVersion()} (Node ${process.version})\n`);
      }),
    );
}
