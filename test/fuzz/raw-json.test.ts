import { describe, it } from 'node:test';
import { assertProperty } from './properties/harness.js';
import { rawJsonProperties } from './properties/raw-json.js';

describe('fuzz: raw-JSON scanner (fixed seed)', () => {
  for (const p of rawJsonProperties) it(p.name, () => assertProperty(p));
});
