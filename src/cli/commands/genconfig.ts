/**
 * `rotor genconfig [-c config.json]`: writes a minimal config with random secrets, in the
 * format given by the file extension; never overwrites; validates what it wrote and prints
 * `<file> written`.
 */
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { formatOf, stringifyConfig } from '../../config/formats.js';
import { loadConfig } from '../../config/load.js';
import { guarded, withConfigOption, writeNewFile } from '../common.js';

const secret = (bytes: number): string => randomBytes(bytes).toString('hex');

/** The generated config: HMAC token key, API key and admin credentials, admin off. */
export function generatedConfig(): Record<string, unknown> {
  return {
    client: { token: { hmac_secret_key: secret(32) }, allowed_origins: [] },
    admin: { enabled: false, password: secret(16), secret: secret(32) },
    http_api: { key: secret(32) },
  };
}

export function registerGenconfig(program: Command): void {
  const cmd = program.command('genconfig').description('generate a minimal config file with random secrets');
  withConfigOption(cmd, 'path of the file to create (.json, .yaml, .yml or .toml)').action(
    guarded(() => {
      const file = cmd.getOptionValue('config') as string;
      writeNewFile(file, stringifyConfig(generatedConfig(), formatOf(file)));
      loadConfig({ file });
      process.stdout.write(`${file} written\n`);
    }),
  );
}
