/** `rotor configdoc --markdown`: prints the option reference (the content of docs/config.md). */
import type { Command } from 'commander';
import { configMarkdown } from '../../config/docs.js';
import { guarded } from '../common.js';

export function registerConfigdoc(program: Command): void {
  program
    .command('configdoc')
    .description('print the configuration reference')
    .option('--markdown', 'print Markdown (the only output format of Rotor)')
    .action(
      guarded(() => {
        process.stdout.write(configMarkdown());
      }),
    );
}
