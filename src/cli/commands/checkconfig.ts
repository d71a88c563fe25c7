/**
 * `rotor checkconfig [-c config.json] [-s/--strict]`: loads and validates the config file (and
 * CENTRIFUGO_/ROTOR_ env vars) and prints `<file> is valid`; exit code 1 when invalid. With
 * `--strict`, unknown keys in the file are errors too (they are otherwise warnings), as in
 * Centrifugo. Centrifugo v1/v5 flat keys are always errors (config/legacy-check.ts). Beyond the
 * schema it builds the chosen engine's options as a start would (Redis addresses, the NATS URL,
 * their TLS files), without connecting.
 */
import type { Command } from 'commander';
import { guarded, loadForCommand, withConfigOption } from '../common.js';
import { checkEngineOptions } from '../../app/engine.js';

export function registerCheckconfig(program: Command): void {
  const cmd = program.command('checkconfig').description('check the config file (and CENTRIFUGO_/ROTOR_ env vars)');
  withConfigOption(cmd)
    .option('-s, --strict', 'strict check: fail on unknown keys in the config file')
    .action(
      guarded(async () => {
        const { config, unknownKeys } = loadForCommand(cmd, { requireFile: true });
        if (cmd.opts<{ strict?: boolean }>().strict === true && unknownKeys.length > 0) {
          throw new Error(`unknown keys in config (--strict): ${unknownKeys.join('; ')}`);
        }
        // What a start would refuse before connecting: engine addresses, TLS files.
        await checkEngineOptions(config);
        process.stdout.write(`${cmd.getOptionValue('config') as string} is valid\n`);
      }),
    );
}
