/**
 * The command tree, mirroring Centrifugo v6's CLI: the root command runs the server (flags
 * derived from the config schema), subcommands generate and check configs and tokens.
 */
import { Command } from 'commander';
import { guarded, withConfigOption } from './common.js';
import { addConfigFlags } from './flags.js';
import { registerCheckconfig } from './commands/checkconfig.js';
import { registerChecktoken } from './commands/checktoken.js';
import { registerConfigdoc } from './commands/configdoc.js';
import { registerDefaultconfig } from './commands/defaultconfig.js';
import { registerGenconfig } from './commands/genconfig.js';
import { registerGentoken } from './commands/gentoken.js';
import { serve } from './commands/serve.js';
import { registerServe } from './commands/static.js';
import { registerVersion } from './commands/version.js';

export function buildProgram(): Command {
  const program = new Command('rotor')
    .description('Rotor: real-time messaging server compatible with Centrifugo v6')
    // Root flags must come before a subcommand name, so `genconfig -c x` means genconfig's -c.
    .enablePositionalOptions();
  withConfigOption(program);
  addConfigFlags(program);
  program.action(guarded(() => serve(program)));
  registerVersion(program);
  registerGenconfig(program);
  registerCheckconfig(program);
  registerDefaultconfig(program);
  registerConfigdoc(program);
  registerGentoken(program);
  registerChecktoken(program);
  registerServe(program);
  return program;
}
