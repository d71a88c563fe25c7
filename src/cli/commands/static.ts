/**
 * `rotor serve [-d dir] [-p port] [-a address]`: Centrifugo's development static file server
 * (defaults `./`, 3000, all interfaces), for trying client code against a local Rotor. Prints
 * `start serving <dir> on <host:port>` once listening (the real port when `-p 0`); a directory
 * that cannot be served or a port that cannot be bound is an error with exit code 1.
 */
import type { Command } from 'commander';
import { guarded } from '../common.js';
import { createStaticServer } from '../static-server.js';
import { listenOn } from '../../http/server.js';

const DEFAULT_PORT = '3000';

function parsePort(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new Error(`invalid port "${value}": expected 0-65535`);
  return Number(value);
}

export function registerServe(program: Command): void {
  const cmd = program
    .command('serve')
    .description('run a static file server (for development only)')
    .option('-d, --dir <dir>', 'path to directory', './')
    .option('-p, --port <port>', 'port to serve on', DEFAULT_PORT)
    .option('-a, --address <address>', 'interface to serve on (default: all interfaces)', '');
  cmd.action(
    guarded(async () => {
      const opts = cmd.opts<{ dir: string; port: string; address: string }>();
      const port = parsePort(opts.port);
      const server = await createStaticServer(opts.dir);
      const addr = await listenOn(server, port, opts.address);
      const host = opts.address.includes(':') ? `[${opts.address}]` : opts.address;
      process.stdout.write(`start serving ${opts.dir} on ${host}:${addr.port}\n`);
    }),
  );
}
