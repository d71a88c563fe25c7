/**
 * Root command: load the config (defaults < file < env < flags) and run the server. SIGHUP
 * reloads go through `reload`, which re-reads the same file, the current env and the same flags.
 *
 * Any error before the server is up (invalid config, unopenable `log.file`, a port in use, an
 * unwritable `pid_file`) is printed on stderr and the process exits 1 at once; the runner has
 * already stopped whatever it had started.
 */
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { reportError, sourcesFor } from '../common.js';
import { givenFlags } from '../flags.js';

export async function serve(cmd: Command): Promise<void> {
  let reported = false;
  const reportFatal = (message: string): void => {
    reported = true;
    reportError(message);
  };
  try {
    const sources = sourcesFor(cmd, givenFlags(cmd));
    const { config, warnings } = loadConfig(sources);
    const reload = (): Readonly<Config> => loadConfig({ ...sources, env: process.env }).config;
    const { runServer } = await import('../../app/run.js');
    await runServer({ config, warnings, reload, reportFatal });
  } catch (err) {
    if (!reported) reportError(err);
    process.exit(1);
  }
}
