/**
 * `rotor config migrate [-c config.json] [-o out] [--format json|yaml|toml]`: writes the Centrifugo
 * v6 form of a Centrifugo v1 or v5 flat config (config/migrate.ts) to stdout, or to a new file with
 * `-o` (its extension picks the format unless `--format` says). What changed on the way and the keys
 * v6 has no place for go to stderr. The result is validated first: a migration that does not load
 * is an error, not a file.
 */
import type { Command } from 'commander';
import { formatOf, stringifyConfig, type ConfigFormat } from '../../config/formats.js';
import { readConfigFile, validateConfig } from '../../config/load.js';
import { migrateConfig } from '../../config/migrate.js';
import { guarded, withConfigOption, writeNewFile } from '../common.js';

const FORMATS: readonly ConfigFormat[] = ['json', 'yaml', 'toml'];

export function registerConfigMigrate(program: Command): void {
  const config = program.command('config').description('config file tools');
  const cmd = config.command('migrate').description('write the Centrifugo v6 form of a Centrifugo v1 or v5 config');
  withConfigOption(cmd, 'the v1 or v5 config file to read')
    .option('-o, --output <file>', 'write to this new file instead of stdout')
    .option('-f, --format <format>', 'json, yaml or toml (default: the output file\'s extension, else json)')
    .action(
      guarded(() => {
        const opts = cmd.opts<{ config: string; output?: string; format?: string }>();
        if (opts.format !== undefined && !FORMATS.includes(opts.format as ConfigFormat)) throw new Error(`--format must be one of ${FORMATS.join(', ')}`);
        const m = migrateConfig(readConfigFile(opts.config));
        validateConfig(structuredClone(m.config));
        const format = (opts.format as ConfigFormat | undefined) ?? (opts.output !== undefined ? formatOf(opts.output) : 'json');
        const text = stringifyConfig(m.config, format);
        for (const n of m.notes) process.stderr.write(`note: ${n}\n`);
        for (const d of m.dropped) process.stderr.write(`dropped: ${d.path} (${d.why})\n`);
        if (opts.output === undefined) process.stdout.write(text);
        else writeNewFile(opts.output, text);
      }),
    );
}
