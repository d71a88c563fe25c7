/**
 * `rotor defaultconfig [-c out] [-b/--base file] [-d/--dry-run]` and
 * `rotor defaultenv [-b/--base file] [--base-non-zero-only]`: every option with its default value
 * (or the value from a base config file), as a config file or as env var lines.
 */
import type { Command } from 'commander';
import { configToFileForm, defaultConfig, envLines } from '../../config/defaults.js';
import { getPath } from '../../config/describe.js';
import { formatOf, stringifyConfig } from '../../config/formats.js';
import { readConfigFile, validateConfig } from '../../config/load.js';
import { isRecord } from '../../config/schema/define.js';
import { guarded, withConfigOption, writeNewFile } from '../common.js';

/** Defaults merged with a base file (file form); only defaults without a base. */
function fullConfig(base: string | undefined): Record<string, unknown> {
  if (base === undefined) return defaultConfig();
  return configToFileForm(validateConfig(readConfigFile(base)).config);
}

/** Zero values in Go's sense: empty string/list/map, 0, false, "0s". */
function isZero(value: unknown): boolean {
  if (value === undefined || value === null || value === '' || value === 0 || value === false || value === '0s') return true;
  if (Array.isArray(value)) return value.length === 0;
  if (isRecord(value)) return Object.keys(value).length === 0;
  return false;
}

export function registerDefaultconfig(program: Command): void {
  const cmd = program.command('defaultconfig').description('generate a config file with all options set to defaults');
  withConfigOption(cmd, 'output file; its extension picks the format')
    .option('-b, --base <file>', 'config file whose values replace the defaults')
    .option('-d, --dry-run', 'print to stdout instead of writing the file')
    .action(
      guarded(() => {
        const opts = cmd.opts<{ config: string; base?: string; dryRun?: boolean }>();
        const text = stringifyConfig(fullConfig(opts.base), formatOf(opts.config));
        if (opts.dryRun === true) process.stdout.write(text);
        else writeNewFile(opts.config, text);
      }),
    );

  const env = program.command('defaultenv').description('print all options as CENTRIFUGO_ env vars with default values');
  env
    .option('-b, --base <file>', 'config file whose values replace the defaults')
    .option('--base-non-zero-only', 'only print options the base file sets to a non-zero value')
    .action(
      guarded(() => {
        const opts = env.opts<{ base?: string; baseNonZeroOnly?: boolean }>();
        if (opts.baseNonZeroOnly === true && opts.base === undefined) throw new Error('--base-non-zero-only requires --base');
        const full = fullConfig(opts.base);
        const baseRaw = opts.base === undefined ? {} : readConfigFile(opts.base);
        const include =
          opts.baseNonZeroOnly === true
            ? (path: string) => getPath(baseRaw, path) !== undefined && !isZero(getPath(full, path))
            : () => true;
        process.stdout.write(`${envLines(full, include).join('\n')}\n`);
      }),
    );
}
