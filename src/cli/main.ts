#!/usr/bin/env node
/** Rotor executable: parses argv and runs the chosen command (see program.ts). */
import { reportError } from './common.js';
import { buildProgram } from './program.js';

// A reader that goes away (`rotor configdoc | head`) ends the output quietly, as with any Unix
// tool: the rest is simply not read. Without a listener the EPIPE would crash with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    stream.destroy();
  });
}

buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => reportError(err));
