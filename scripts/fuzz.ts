#!/usr/bin/env tsx
/**
 * Long fuzzing: runs every property of test/fuzz/properties (the ones `npm test` runs once with a
 * fixed seed) round after round with fresh random seeds and `--scale` times their test run count,
 * until `--minutes` have passed. On the first failure it prints the property, its seed, the
 * replay command and fast-check's report (shrunk counterexample, error), and exits 1.
 *
 *   npm run fuzz -- [--minutes 3] [--scale 20] [--only <name substring>] [--verbose]
 *   npm run fuzz -- --only "<name>" --seed S --path P --runs N     (replay one failure)
 */
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ALL_PROPERTIES } from '../test/fuzz/properties/index.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '3' },
    scale: { type: 'string', default: '20' },
    only: { type: 'string' },
    seed: { type: 'string' },
    path: { type: 'string' },
    runs: { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});

const minutes = Number(values.minutes);
const scale = Number(values.scale);
if (!(minutes > 0) || !(scale > 0)) {
  console.error('fuzz: --minutes and --scale take positive numbers');
  process.exit(2);
}
const properties = ALL_PROPERTIES.filter((p) => values.only === undefined || p.name.includes(values.only));
if (properties.length === 0) {
  console.error(`fuzz: no property matches ${JSON.stringify(values.only)}`);
  process.exit(2);
}

const started = Date.now();
const deadline = started + minutes * 60_000;
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
let inputs = 0;

for (let round = 1; ; round++) {
  for (const p of properties) {
    // A replay (--seed) runs the given case once; otherwise every check gets a fresh seed.
    const seed = values.seed !== undefined ? Number(values.seed) : randomInt(0x7fff_ffff);
    const numRuns = values.runs !== undefined ? Number(values.runs) : p.runs * scale;
    const t0 = Date.now();
    const r = await p.check({ seed, numRuns, path: values.path });
    inputs += numRuns;
    if (values.verbose) console.log(`  ${p.name}: ${numRuns} inputs, ${Date.now() - t0} ms (seed ${seed})`);
    if (r.failed) {
      console.error(`\nFAILED after ${elapsed()}: ${p.name}`);
      console.error(`seed ${r.seed}${r.path === undefined ? '' : `, path ${r.path}`}`);
      const replay = `npm run fuzz -- --only ${JSON.stringify(p.name)} --seed ${r.seed}${r.path === undefined ? '' : ` --path ${r.path}`} --runs ${numRuns}`;
      console.error(`replay: ${replay}\n`);
      console.error(r.report);
      process.exit(1);
    }
    if (values.seed !== undefined) continue;
    if (Date.now() >= deadline) break;
  }
  console.log(`round ${round} (${elapsed()}): ${properties.length} properties held, ${inputs.toLocaleString('en')} inputs so far`);
  if (values.seed !== undefined || Date.now() >= deadline) break;
}
console.log(`fuzz: no failure in ${elapsed()} (${inputs.toLocaleString('en')} inputs)`);
