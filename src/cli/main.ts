#!/usr/bin/env node
/** Rotor executable: parses argv and runs the chosen command (see program.ts). */
import { reportError } from './common.js';
import { buildProgram } from './program.js';

buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => reportError(err));
