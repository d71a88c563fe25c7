/**
 * Helpers shared by the CLI commands: error reporting (message on stderr, exit code 1), config
 * loading from `-c`, and safe file creation.
 */
import { writeFileSync, writeSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig, type ConfigSources, type LoadedConfig } from '../config/load.js';
import { messageOf } from '../util/message-of.js';

export const DEFAULT_CONFIG_FILE = 'config.json';

/**
 * Prints an error the way every command does: one line on stderr, exit code 1. Written
 * synchronously, so a `process.exit` right after cannot lose it; a stderr that is gone is ignored.
 */
export function reportError(err: unknown): void {
  const message = messageOf(err);
  try {
    writeSync(2, `error: ${message}\n`);
  } catch {
    // nowhere left to say it
  }
  process.exitCode = 1;
}

/** Wraps a command action so any thrown error is reported instead of crashing with a stack. */
export function guarded<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      reportError(err);
    }
  };
}

/** Adds `-c, --config <file>` (default config.json) to a command. */
export function withConfigOption(cmd: Command, description = 'path to config file'): Command {
  return cmd.option('-c, --config <file>', description, DEFAULT_CONFIG_FILE);
}

/**
 * Sources for a command that has `-c`: the file (optional when -c was not given), the process
 * env, and any flags.
 */
export function sourcesFor(cmd: Command, flags: Record<string, unknown> = {}): ConfigSources {
  const file = cmd.getOptionValue('config') as string;
  const explicit = cmd.getOptionValueSource('config') !== 'default';
  return { file, fileOptional: !explicit, env: process.env, flags };
}

/** Loads config for a command and prints load warnings on stderr. */
export function loadForCommand(cmd: Command, opts: { requireFile?: boolean } = {}): LoadedConfig {
  const sources = sourcesFor(cmd);
  if (opts.requireFile === true) sources.fileOptional = false;
  const loaded = loadConfig(sources);
  for (const w of loaded.warnings) process.stderr.write(`warning: ${w}\n`);
  return loaded;
}

/** Creates a new file; refuses to overwrite an existing one. */
export function writeNewFile(file: string, content: string): void {
  try {
    writeFileSync(file, content, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new Error(`file "${file}" already exists, refusing to overwrite it`, { cause: err });
    }
    throw err;
  }
}
