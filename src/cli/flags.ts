/**
 * Root command flags, derived from the schema: every option marked `flag` becomes
 * `--<dotted.path>` (plus its short alias). Flag values are converted like env values, so the
 * config validation reports bad ones with the key path. Only flags given on the command line
 * override the config.
 */
import { Option, type Command } from 'commander';
import { valueOptions } from '../config/describe.js';
import { coerceEnvValue } from '../config/env.js';
import { givenV1Flags } from './v1-flags.js';

function firstSentence(doc: string): string {
  const end = doc.indexOf('. ');
  return end === -1 ? doc.replace(/\.$/, '') : doc.slice(0, end);
}

/** The options exposed as root flags, in schema order. */
export function flagOptions() {
  return valueOptions().filter((o) => o.meta.flag !== undefined);
}

export function addConfigFlags(cmd: Command): Command {
  for (const o of flagOptions()) {
    const short = typeof o.meta.flag === 'string' ? `-${o.meta.flag}, ` : '';
    const arg = o.meta.kind === 'bool' ? '[bool]' : '<value>';
    const option = new Option(`${short}--${o.path} ${arg}`, firstSentence(o.meta.doc)).argParser((value: string) =>
      coerceEnvValue(o.meta, value),
    );
    cmd.addOption(option);
  }
  return cmd;
}

/** Dotted path ⇒ value for every flag given on the command line (Centrifugo v1's flags too: v1-flags.ts). */
export function givenFlags(cmd: Command): Record<string, unknown> {
  const out: Record<string, unknown> = givenV1Flags(cmd);
  for (const o of flagOptions()) {
    if (cmd.getOptionValueSource(o.path) === 'cli') out[o.path] = cmd.getOptionValue(o.path);
  }
  return out;
}
