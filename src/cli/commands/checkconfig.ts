/** `rotor checkconfig [-c config.json]`: loads and validates; exit code 1 when invalid. */
import type { Command } from 'commander';
import { guarded, loadForCommand, withConfigOption } from '../common.js';

export function registerCheckconfig(program: Command): void {
  const cmd = program.command('checkconfig').description('check the config file (and CENTRIFUGO_/ROTOR_ env vars)');
  withConfigOption(cmd).action(
    guarded(() => {
      loadForCommand(cmd, { requireFile: true });
    }),
  );
}
