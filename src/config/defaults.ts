/**
 * `defaultconfig` / `defaultenv` content: the full option set with default (or given) values,
 * in file form (durations as strings like "25s") or as `CENTRIFUGO_X=value` lines.
 */
import { envName, getPath, toFileForm, valueOptions } from './describe.js';
import { formatEnvValue } from './env.js';
import { validateConfig } from './load.js';
import type { Config } from './schema.js';

/** A parsed config back in file form, suitable for writing as JSON/YAML/TOML. */
export function configToFileForm(config: Readonly<Config>): Record<string, unknown> {
  return toFileForm(config) as Record<string, unknown>;
}

/** The full default configuration in file form (every option, durations as strings). */
export function defaultConfig(): Record<string, unknown> {
  return configToFileForm(validateConfig({}).config);
}

/**
 * One `CENTRIFUGO_X=value` line per option (lists of objects and maps as JSON, string lists
 * space-separated), taking values from a file-form config. `include` filters by option path.
 */
export function envLines(fileForm: Record<string, unknown>, include: (path: string) => boolean = () => true): string[] {
  return valueOptions()
    .filter((o) => include(o.path))
    .map((o) => `${envName(o.path)}=${formatEnvValue(o.meta, getPath(fileForm, o.path))}`);
}

/** Every option as an env var line with its default value. */
export function defaultEnv(): string[] {
  return envLines(defaultConfig());
}
