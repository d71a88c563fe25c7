/**
 * The command tree, mirroring Centrifugo v6's CLI: the root command runs the server (flags
 * derived from the config schema), subcommands generate and check configs and tokens.
 */
import { Command } from 'commander';
import { nearest } from '../config/suggest.js';
import { guarded, withConfigOption } from './common.js';
import { addConfigFlags } from './flags.js';
import { addV1Flags } from './v1-flags.js';
import { registerCheckconfig } from './commands/checkconfig.js';
import { registerChecktoken } from './commands/checktoken.js';
import { registerConfigdoc } from './commands/configdoc.js';
import { registerConfigMigrate } from './commands/config-migrate.js';
import { registerDefaultconfig } from './commands/defaultconfig.js';
import { registerGenconfig } from './commands/genconfig.js';
import { registerGentoken } from './commands/gentoken.js';
import { serve } from './commands/serve.js';
import { registerServe } from './commands/static.js';
import { registerVersion } from './commands/version.js';

/**
 * `unknown command 'genconf', did you mean 'genconfig'?`: the root command runs the server and
 * takes no arguments, so any word left after the options is a mistyped subcommand.
 */
export function unknownCommandMessage(word: string, commands: readonly Command[]): string {
  const names = [...commands.flatMap((c) => [c.name(), ...c.aliases()]), 'help'];
  const hint = nearest(word, names, Math.max(2, Math.floor(word.length / 3)));
  return `unknown command '${word}'${hint === undefined ? ' (see rotor --help)' : `, did you mean '${hint}'?`}`;
}

export function buildProgram(): Command {
  const program = new Command('rotor')
    .description('Rotor: real-time messaging server compatible with Centrifugo v6')
    // Root flags must come before a subcommand name, so `genconfig -c x` means genconfig's -c.
    .enablePositionalOptions()
    // `rotor help [command]`, which commander leaves out when the root command has an action.
    .helpCommand(true);
  withConfigOption(program);
  addConfigFlags(program);
  addV1Flags(program);
  program.action(
    guarded(() => {
      const [word] = program.args;
      if (word !== undefined) throw new Error(unknownCommandMessage(word, program.commands));
      return serve(program);
    }),
  );
  registerVersion(program);
  registerGenconfig(program);
  registerCheckconfig(program);
  registerDefaultconfig(program);
  registerConfigdoc(program);
  registerConfigMigrate(program);
  registerGentoken(program);
  registerChecktoken(program);
  registerServe(program);
  // Lets a stray word reach the action above instead of commander's "too many arguments". Set
  // after the subcommands exist, as commander copies the setting into commands created later.
  program.allowExcessArguments();
  return program;
}
